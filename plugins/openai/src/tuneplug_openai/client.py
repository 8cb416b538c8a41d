"""The OpenAI operations over :mod:`tuneplug.http`: bodies in, tuneplug types out.

One :class:`OpenAIClient` per provider instance (``ctx.resource``). Headers follow
the official SDK: ``Authorization: Bearer <key>`` (left out for a keyless loopback
server), ``OpenAI-Organization`` / ``OpenAI-Project`` when set, the configured extra
headers. Every response is parsed with :mod:`tuneplug_openai.wire`; one that does
not fit is a ``ServerError`` ("malformed response"), never a raw exception.

Streams ask for ``stream_options.include_usage`` and end at ``data: [DONE]``; the
chunk that carries ``finish_reason`` is yielded last, with the usage of the final
(choice-less) chunk merged into it, so the last :class:`StreamChunk` carries both.
A stream that closes before ``[DONE]`` is a ``ConnectionError`` (never re-sent:
part of it was already delivered). Chunk parsing is :mod:`tuneplug_openai.chunks`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, TypeVar
from urllib.parse import urlencode

import httpx
from pydantic import BaseModel, ValidationError
from tuneplug.errors import ConnectionError
from tuneplug.http import (
    DEFAULT_RETRY_STATUSES,
    Call,
    ErrorMapper,
)
from tuneplug.settings_secrets import secret_values
from tuneplug.types import (
    Completion,
    ModelInfo,
    ModelKind,
    StreamChunk,
    TokenLogprob,
)

from tuneplug_openai import __version__, wire
from tuneplug_openai.chunks import ErrorEvent, Malformed, StreamState, text_piece
from tuneplug_openai.chunks import usage as _usage
from tuneplug_openai.settings import OpenAISettings

__all__ = ["USER_AGENT", "OpenAIClient", "model_info", "text_piece"]

USER_AGENT = f"tuneplug-openai/{__version__}"
# The SDK also retries 409 (a lock timeout on OpenAI's side).
_RETRY_STATUSES = DEFAULT_RETRY_STATUSES | {409}
W = TypeVar("W", bound=BaseModel)


def _choices(answer: wire.ChatCompletion | wire.TextCompletion) -> str:
    """Why an answer is not one choice (n is 1: more would be dropped, none is nothing)."""
    if not answer.choices:
        return "no choices"
    return f"{len(answer.choices)} choices for a request of one (none is dropped silently)"


def model_info(provider: str, model_id: str, owned_by: str | None = None) -> ModelInfo:
    """The :class:`ModelInfo` of ``model_id``; ``ft:<base>:...`` ids are adapters of
    ``<base>``. Capabilities are left to the provider's hooks (complete, chat, jobs):
    an OpenAI-compatible server does not say which of them a model supports."""
    if model_id.startswith("ft:") and model_id.count(":") >= 2:
        base = model_id.split(":")[1]
        return ModelInfo(
            id=model_id,
            provider=provider,
            name=model_id,
            kind=ModelKind.ADAPTER,
            base_model_id=base or None,
        )
    return ModelInfo(id=model_id, provider=provider, name=model_id)


def _completion_logprobs(lp: wire.CompletionLogprobs | None) -> tuple[TokenLogprob, ...] | None:
    if lp is None or lp.tokens is None:
        return None
    values = lp.token_logprobs or []
    tops = lp.top_logprobs or []
    return tuple(
        TokenLogprob(
            token=token,
            logprob=values[i] if i < len(values) else None,
            top_logprobs=(tops[i] or {}) if i < len(tops) else {},
        )
        for i, token in enumerate(lp.tokens)
    )


def _chat_logprobs(lp: dict[str, Any] | None) -> tuple[TokenLogprob, ...] | None:
    content = (lp or {}).get("content")
    if not isinstance(content, list):
        return None
    return tuple(
        TokenLogprob(
            token=item["token"],
            logprob=item.get("logprob"),
            top_logprobs={t["token"]: t["logprob"] for t in item.get("top_logprobs") or []},
        )
        for item in content
    )


# Endpoints every OpenAI-compatible server answers: a bare 404 there is a wrong URL.
ROUTES = frozenset(
    {"POST /completions", "POST /chat/completions", "GET /models", "POST /files",
     "POST /fine_tuning/jobs", "GET /fine_tuning/jobs"}
)  # fmt: skip

# Error types only Gradient's servers send (camelCase; OpenAI's are snake_case): such a
# server is Gradient-compatible, so base_url is another protocol's root (its /api), not
# a bad key, whatever the status (a Gradient gateway answers 403 missingWorkspace).
GRADIENT_TYPES = frozenset(
    {"missingAccessToken", "invalidAccessToken", "missingWorkspace", "unknownWorkspace",
     "unknownModelAdapter", "unknownBaseModel", "bodyParsingError",
     "queryOrPathParsingError"}
)  # fmt: skip


class OpenAIClient:
    """The OpenAI API for one provider instance.

    Raises ``ConfigError`` at construction when a remote server has no key, so no
    request is ever sent without one.
    """

    def __init__(
        self, settings: OpenAISettings, provider: str, origins: Mapping[str, str] | None = None
    ) -> None:
        """``origins``: where each setting came from (the provider's ``ctx.origins``),
        for the hints of a 401, a 403, a refused connection or a wrong URL."""
        self.settings = settings
        self.provider = provider
        key = settings.api_key_value(provider)
        headers = {"Accept": "application/json", "User-Agent": USER_AGENT}
        # Every value the settings mark secret (headers, query, the key), masked in
        # errors and in the HTTP libraries' logs; the key may also come from a variable.
        secrets = [*secret_values(settings)]
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
            secrets.append(key)
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        if settings.project:
            headers["OpenAI-Project"] = settings.project
        headers.update({k: v.get_secret_value() for k, v in settings.headers.items()})
        key_source = settings.key_source(provider, origins)
        url_source = settings.url_source(provider, origins)
        self.http = settings.http_client(
            base_url=settings.base_url,
            headers=headers,
            errors=ErrorMapper(
                provider=provider,
                secrets=tuple(s for s in secrets if s),
                auth_hint=f"check {key_source}",
                permission_hint=f"check {key_source}, organization and project",
                model_not_found_types=frozenset({"model_not_found"}),
                routes=ROUTES,
                foreign_types=GRADIENT_TYPES,
                route_hint=f"check {url_source or 'base_url'} (OpenAI-compatible servers "
                "serve the API under /v1)",
                connect_hint=f"check {url_source}" if url_source else "",
            ),
            policy=settings.retry_policy(retry_statuses=_RETRY_STATUSES),
        )
        self._query = urlencode({k: v.get_secret_value() for k, v in settings.query.items()})
        self._endpoints: dict[bool, Call] = {}

    def __repr__(self) -> str:
        return f"<OpenAIClient {self.provider} {self.settings.base_url}>"

    def close(self) -> None:
        """Close the pooled connections."""
        self.http.close()

    # -- plumbing --------------------------------------------------------------------

    def call(
        self, method: str, path: str, *, idempotent: bool, query: dict[str, Any] | None = None
    ) -> Call:
        """The :class:`Call` for ``path`` with the configured query (Azure's
        ``api-version``) and ``query`` (``None`` values left out)."""
        params = urlencode({k: v for k, v in (query or {}).items() if v is not None})
        both = "&".join(p for p in (self._query, params) if p)
        target = f"{path}?{both}" if both else path
        return self.http.call(method, target, idempotent=idempotent, operation=f"{method} {path}")

    def parse(self, model: type[W], response: httpx.Response, call: Call) -> W:
        """``response``'s body as ``model``, or the ``ServerError`` saying why not."""
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise self.http.errors.malformed(call, response.status_code, exc) from None

    # -- models ----------------------------------------------------------------------

    def list_models(self) -> list[ModelInfo]:
        """``GET /models``."""
        call = self.call("GET", "/models", idempotent=True)
        page = self.parse(wire.Page, self.http.send(call), call)
        try:
            entries = [wire.ModelObject.model_validate(item) for item in page.data]
        except ValidationError as exc:
            raise self.http.errors.malformed(call, 200, exc) from None
        return [model_info(self.provider, m.id, m.owned_by) for m in entries]

    # -- completions -----------------------------------------------------------------

    def _endpoint(self, chat: bool) -> Call:
        # Asked once per request: the configured query is fixed, so the Call is too.
        call = self._endpoints.get(chat)
        if call is None:
            path = "/chat/completions" if chat else "/completions"
            call = self._endpoints[chat] = self.call("POST", path, idempotent=True)
        return call

    def _finish(
        self, model_id: str, response: httpx.Response, call: Call, chat: bool
    ) -> Completion:
        if chat:
            answer = self.parse(wire.ChatCompletion, response, call)
            if len(answer.choices) != 1:
                raise self.http.errors.malformed(call, response.status_code, _choices(answer))
            choice = answer.choices[0]
            content = choice.message.content
            text = content if isinstance(content, str) else ""
            reason, usage = choice.finish_reason, answer.usage
            logprobs = _chat_logprobs(choice.logprobs)
        else:
            done = self.parse(wire.TextCompletion, response, call)
            if len(done.choices) != 1:
                raise self.http.errors.malformed(call, response.status_code, _choices(done))
            text, reason, usage = done.choices[0].text, done.choices[0].finish_reason, done.usage
            logprobs = _completion_logprobs(done.choices[0].logprobs)
        return Completion(
            text=text,
            finish_reason=reason or "unknown",
            model=model_id,
            provider=self.provider,
            usage=_usage(usage),
            logprobs=logprobs,
        )

    def complete(self, model_id: str, body: bytes, *, chat: bool) -> Completion:
        """``POST /completions`` or ``/chat/completions`` with a prepared body."""
        call = self._endpoint(chat)
        return self._finish(model_id, self.http.send(call, body), call, chat)

    async def acomplete(self, model_id: str, body: bytes, *, chat: bool) -> Completion:
        """Async :meth:`complete`."""
        call = self._endpoint(chat)
        return self._finish(model_id, await self.http.asend(call, body), call, chat)

    def _unfinished(self, call: Call) -> ConnectionError:
        return ConnectionError(
            f"{call.operation}: the stream ended before data: [DONE]",
            provider=self.provider,
            retryable=True,
        )

    def stream(self, body: bytes, *, chat: bool) -> Iterator[StreamChunk]:
        """Stream a prepared body (``"stream": true``); see the module docstring."""
        call = self._endpoint(chat)
        state = StreamState(chat)
        feed = state.feed
        events = self.http.events(call, body)
        try:
            for event in events:
                if state.done:
                    continue  # after [DONE]: read the body to its end, keep the connection
                chunk = feed(event)
                if chunk is not None:
                    yield chunk
                elif state.done:
                    yield state.last()
        except ErrorEvent as exc:
            raise self.http.errors.in_stream(call, exc.data.encode()) from None
        except Malformed as exc:
            raise self.http.errors.malformed(call, 200, str(exc)) from None
        finally:
            events.close()
        if not state.done:
            raise self._unfinished(call)

    async def astream(self, body: bytes, *, chat: bool) -> AsyncIterator[StreamChunk]:
        """Async :meth:`stream`."""
        call = self._endpoint(chat)
        state = StreamState(chat)
        feed = state.feed
        events = self.http.aevents(call, body)
        try:
            async for event in events:
                if state.done:
                    continue
                chunk = feed(event)
                if chunk is not None:
                    yield chunk
                elif state.done:
                    yield state.last()
        except ErrorEvent as exc:
            raise self.http.errors.in_stream(call, exc.data.encode()) from None
        except Malformed as exc:
            raise self.http.errors.malformed(call, 200, str(exc)) from None
        finally:
            await events.aclose()
        if not state.done:
            raise self._unfinished(call)

"""The Gradient v1 operations over HTTP: bodies in, tuneplug types out.

Every request body is built and validated with :mod:`tuneplug_gradient.wire` (the
models the server side parses with) before anything is sent, and every response is
parsed with them; a response that does not fit is a ``ServerError`` ("malformed
response"), never a raw ``KeyError`` or ``ValidationError``.

Bodies follow what the official SDK (gradientai 1.13.1) puts on the wire: all
eight ``complete`` keys with explicit nulls, both ``POST /models`` sub-objects
with explicit nulls, and fine-tuning samples with ``fineTuningParameters`` first
and structured inputs with ``parseSpecialTokens: true``. JSON is encoded with
``json.dumps`` defaults (the SDK's separators); key order is the wire models'
field order, not the SDK's set-keys-first order, which only a byte comparison sees.
"""

from __future__ import annotations

import json
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import BaseModel, ValidationError
from tuneplug.errors import InvalidRequestError
from tuneplug.http import Call
from tuneplug.stops import cut
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    FineTuneResult,
    ModelInfo,
    ModelKind,
    Sample,
)
from tuneplug.validation_words import problem

from tuneplug_gradient import __version__, wire
from tuneplug_gradient.errors_map import error_mapper
from tuneplug_gradient.settings import PROVIDER, GradientSettings

__all__ = [
    "MAX_TOKENS",
    "USER_AGENT",
    "GradientClient",
    "PreparedCompletion",
    "fine_tune_body",
    "model_from_id",
    "prepare_completion",
]

USER_AGENT = f"tuneplug-gradient/{__version__}"
MAX_TOKENS = 511
"""``maxGeneratedTokenCount`` is 1..511 (the SDK's ``gt=0, lt=512``)."""

_BOTH = frozenset({Capability.COMPLETE, Capability.FINE_TUNE})
_CAPABILITIES = {"complete": Capability.COMPLETE, "fineTune": Capability.FINE_TUNE}
_OPTION_NAMES = {"max_generated_token_count": "max_tokens", "query": "prompt"}
W = TypeVar("W", bound=BaseModel)


def model_from_id(model_id: str, provider: str = PROVIDER) -> ModelInfo | None:
    """The model a 50-character Gradient id names, without any I/O (else ``None``), as a
    model of ``provider`` (the plugin itself, or an instance: ``[providers.NAME]``).

    The suffix tells the kind; name, slug and base are unknown until listed.
    """
    if len(model_id) != wire.ID_LENGTH:
        return None
    if model_id.endswith(wire.BASE_SUFFIX):
        kind = ModelKind.BASE
    elif model_id.endswith(wire.ADAPTER_SUFFIX):
        kind = ModelKind.ADAPTER
    else:
        return None
    return ModelInfo(id=model_id, provider=provider, name=model_id, kind=kind, capabilities=_BOTH)


def _from_entry(entry: wire.BaseModelEntry | wire.ModelAdapterEntry, provider: str) -> ModelInfo:
    if isinstance(entry, wire.BaseModelEntry):
        return ModelInfo(
            id=entry.id,
            provider=provider,
            name=entry.name,
            kind=ModelKind.BASE,
            slug=entry.slug,
            capabilities=frozenset(_CAPABILITIES[c] for c in entry.capabilities),
        )
    return ModelInfo(
        id=entry.id,
        provider=provider,
        name=entry.name,
        kind=ModelKind.ADAPTER,
        base_model_id=entry.base_model_id,
        updated_at=entry.latest_update_time,
        capabilities=_BOTH,
    )


def _invalid(exc: ValidationError, provider: str, prefix: str = "") -> InvalidRequestError:
    err = exc.errors(include_url=False)[0]
    loc = [str(p) for p in err["loc"]]
    if loc:
        loc[0] = _OPTION_NAMES.get(loc[0], loc[0])
    field = ".".join(loc) or "value"
    return InvalidRequestError(f"invalid {prefix}{field}: {problem(err)}", provider=provider)


# -- completion ------------------------------------------------------------------------


@dataclass(frozen=True)
class PreparedCompletion:
    """A validated ``complete`` request: the JSON body and the client-side stop sequences."""

    body: bytes
    stop: tuple[str, ...]


def _guidance(value: Any, provider: str) -> wire.Guidance:
    # Accept the choices alone (["yes", "no"]) or the wire object ({"type": "choice", ...}).
    if isinstance(value, wire.Guidance):
        return value
    if isinstance(value, list | tuple):
        value = {"type": "choice", "value": list(value)}
    if not isinstance(value, dict):
        raise InvalidRequestError(
            'invalid guidance: expected a list of choices or {"type": "choice", "value": [...]}',
            provider=provider,
        )
    try:
        return wire.Guidance.model_validate(value)
    except ValidationError as exc:
        raise _invalid(exc, provider, "guidance.") from None


def prepare_completion(
    prompt: str, options: CompletionOptions, provider: str = PROVIDER
) -> PreparedCompletion:
    """Validate ``prompt`` and ``options`` for Gradient and build the body, before any I/O;
    an error names ``provider`` (the plugin, or the instance the call is for).

    ``options.extra`` may hold ``guidance`` (choices the output must be one of) and
    ``auto_template`` (bool), as :class:`~tuneplug_gradient.options.GradientOptions`
    declares them (the core refuses other keys first). ``seed`` is ignored:
    Gradient has no seed parameter.
    """
    extra = options.extra
    if options.max_tokens is not None and options.max_tokens > MAX_TOKENS:
        raise InvalidRequestError(
            f"max_tokens must be in 1..{MAX_TOKENS} for Gradient, got {options.max_tokens}",
            provider=provider,
        )
    guidance = extra.get("guidance") if extra else None
    try:
        request = wire.CompleteRequest(
            query=prompt,
            max_generated_token_count=options.max_tokens,
            temperature=options.temperature,
            top_k=options.top_k,
            top_p=options.top_p,
            guidance=None if guidance is None else _guidance(guidance, provider),
            auto_template=extra.get("auto_template") if extra else None,
        )
    except ValidationError as exc:
        raise _invalid(exc, provider) from None
    return PreparedCompletion(json.dumps(request.to_wire()).encode(), options.stop)


def _finish(
    answer: wire.CompleteResponse, stop: tuple[str, ...], model_id: str, provider: str
) -> Completion:
    # Gradient has no stop parameter: cut at the earliest stop sequence ourselves.
    text, stopped = cut(answer.generated_output, stop)
    reason = "stop" if stopped else answer.finish_reason
    return Completion(text=text, finish_reason=reason, model=model_id, provider=provider)


# -- fine-tuning -----------------------------------------------------------------------


def _sdk_sample(sample: dict[str, Any]) -> dict[str, Any]:
    inputs = sample["inputs"]
    if isinstance(inputs, list):
        inputs = [
            {
                "parseSpecialTokens": p["parseSpecialTokens"],
                "trainable": p["trainable"],
                "value": p["value"],
            }
            for p in inputs
        ]
    return {"fineTuningParameters": sample["fineTuningParameters"], "inputs": inputs}


def fine_tune_body(samples: list[Sample], provider: str = PROVIDER) -> bytes:
    """The SDK-shaped ``fine-tune`` body for ``samples``, validated by the wire models (an
    error names ``provider``)."""
    try:
        request = wire.FineTuneRequest(
            samples=[
                wire.WireSample(
                    inputs=s.inputs
                    if isinstance(s.inputs, str)
                    else [
                        wire.StructuredInput(value=p.value, trainable=p.trainable) for p in s.inputs
                    ],
                    fine_tuning_parameters=wire.FineTuningParameters(multiplier=s.multiplier),
                )
                for s in samples
            ]
        )
    except ValidationError as exc:
        raise _invalid(exc, provider) from None
    body = request.to_wire()
    return json.dumps({"samples": [_sdk_sample(s) for s in body["samples"]]}).encode()


# -- the client ------------------------------------------------------------------------


class GradientClient:
    """Gradient operations for one provider context; pooled clients live in ``http``.

    ``provider`` is the provider's name (``gradient``, or an instance's: ``[providers.NAME]
    plugin = "gradient"``): its models' refs, its errors and its hints name it.
    Raises ``ConfigError`` at construction when credentials are missing, so no
    request is ever attempted without them.
    """

    def __init__(
        self,
        settings: GradientSettings,
        *,
        provider: str = PROVIDER,
        sleep: Callable[[float], None] | None = None,
        asleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
        origins: Mapping[str, str] | None = None,
    ) -> None:
        """``origins``: where each setting came from (the provider's ``ctx.origins``), for
        the hints of a 401, a 403 or a failure to connect."""
        token, workspace = settings.credentials(provider)
        self.settings = settings
        self.provider = provider
        policy = settings.retry_policy(rng=rng)
        if sleep is not None:
            policy.sleep = sleep
        if asleep is not None:
            policy.asleep = asleep
        self.http = settings.http_client(
            base_url=settings.api_url,
            headers={
                "x-gradient-workspace-id": workspace,
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
                "Authorization": f"Bearer {token}",
            },
            errors=error_mapper(token, origins, provider),
            policy=policy,
        )
        self._calls: dict[tuple[str, str, str], Call] = {}

    def __repr__(self) -> str:
        return f"<GradientClient {self.settings.api_url}>"

    def close(self) -> None:
        """Close the pooled clients."""
        self.http.close()

    def _call(self, method: str, path: str, *, safe: bool, query: str = "") -> Call:
        key = (method, path, query)
        call = self._calls.get(key)
        if call is None:
            if len(self._calls) > 4096:  # one entry per model and operation; bound it anyway
                self._calls.clear()
            url = httpx.URL(self.settings.api_url + path + query)
            call = self._calls[key] = Call(method, url, f"{method} {path}", idempotent=safe)
        return call

    def _parse(self, model: type[W], response: httpx.Response, call: Call) -> W:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as exc:
            raise self.http.errors.malformed(call, response.status_code, exc) from None

    def _model_call(self, model_id: str, action: str, method: str = "POST") -> Call:
        call = self._calls.get((method, model_id, action))
        if call is None:  # once per model and operation: quoting and URL parsing cost
            call = self._call(
                method, f"/models/{quote(model_id, safe='')}{action}", safe=action != "/fine-tune"
            )
            self._calls[(method, model_id, action)] = call
        return call

    # -- models ------------------------------------------------------------------------

    def list_models(self, base_only: bool) -> list[ModelInfo]:
        """``GET /models?capability=any&onlyBase=True|False`` (the SDK's exact query)."""
        query = f"?capability=any&onlyBase={'True' if base_only else 'False'}"
        call = self._call("GET", "/models", safe=True, query=query)
        listing = self._parse(wire.ListModelsResponse, self.http.send(call), call)
        return [_from_entry(entry, self.provider) for entry in listing.models]

    def find_base(self, slug: str) -> ModelInfo | None:
        """The base model whose slug is ``slug`` (first match, as the SDK), else ``None``."""
        return next((m for m in self.list_models(True) if m.slug == slug), None)

    def create_adapter(
        self, base: ModelInfo, name: str, rank: int | None, learning_rate: float | None
    ) -> ModelInfo:
        """``POST /models``; the adapter is described from the returned id (no extra GET)."""
        try:
            request = wire.CreateAdapterRequest(
                initial_hyperparameters=wire.Hyperparameters(
                    lora_hyperparameters=wire.LoraHyperparameters(rank=rank),
                    training_arguments=wire.TrainingArguments(learning_rate=learning_rate),
                ),
                model=wire.NewModel(base_model_id=base.id, name=name),
            )
        except ValidationError as exc:
            raise _invalid(exc, self.provider) from None
        call = self._call("POST", "/models", safe=False)
        body = json.dumps(request.to_wire()).encode()
        created = self._parse(wire.CreateAdapterResponse, self.http.send(call, body), call)
        return ModelInfo(
            id=created.id,
            provider=self.provider,
            name=name,
            kind=ModelKind.ADAPTER,
            base_model_id=base.id,
            capabilities=_BOTH,
        )

    def delete(self, model_id: str) -> None:
        """``DELETE /models/{id}`` (no body); ``NotFoundError`` if there is no such adapter."""
        self.http.send(self._model_call(model_id, "", "DELETE"))

    # -- completion --------------------------------------------------------------------

    def complete(self, model_id: str, prepared: PreparedCompletion) -> Completion:
        """``POST /models/{id}/complete`` with a body from :func:`prepare_completion`."""
        call = self._model_call(model_id, "/complete")
        answer = self._parse(wire.CompleteResponse, self.http.send(call, prepared.body), call)
        return _finish(answer, prepared.stop, model_id, self.provider)

    async def acomplete(self, model_id: str, prepared: PreparedCompletion) -> Completion:
        """Async :meth:`complete`."""
        call = self._model_call(model_id, "/complete")
        response = await self.http.asend(call, prepared.body)
        answer = self._parse(wire.CompleteResponse, response, call)
        return _finish(answer, prepared.stop, model_id, self.provider)

    # -- fine-tuning -------------------------------------------------------------------

    def fine_tune(self, model_id: str, samples: list[Sample]) -> FineTuneResult:
        """``POST /models/{id}/fine-tune``: one training step (never repeated once sent)."""
        body = fine_tune_body(samples, self.provider)
        call = self._model_call(model_id, "/fine-tune")
        return self._result(self.http.send(call, body), call)

    async def afine_tune(self, model_id: str, samples: list[Sample]) -> FineTuneResult:
        """Async :meth:`fine_tune`."""
        body = fine_tune_body(samples, self.provider)
        call = self._model_call(model_id, "/fine-tune")
        return self._result(await self.http.asend(call, body), call)

    def _result(self, response: httpx.Response, call: Call) -> FineTuneResult:
        step = self._parse(wire.FineTuneResponse, response, call)
        try:
            return FineTuneResult(
                trainable_tokens=step.number_of_trainable_tokens, sum_loss=step.sum_loss
            )
        except ValidationError as exc:  # e.g. a non-finite sumLoss
            raise self.http.errors.malformed(call, response.status_code, exc) from None

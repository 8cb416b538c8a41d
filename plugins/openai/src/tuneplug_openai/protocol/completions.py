"""``POST /v1/completions`` and ``POST /v1/chat/completions``, plain and streamed (SSE).

A completion runs through the facade: ``Model.acomplete`` / ``Model.astream`` for
the legacy route, ``Model.achat`` / ``Model.astream_chat`` for chat (native chat
where the provider has it, else its chat template). Streams are server-sent
events, one ``data: <chunk JSON>`` per event, ending with ``data: [DONE]``; with
``stream_options.include_usage`` a last chunk with empty ``choices`` carries
``usage`` and every other chunk ``"usage": null``. The first chunk is produced
before the response starts, so an unknown model or a backend refusal is a proper
error status; a failure after that ends the stream with an ``error`` event.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from tuneplug.errors import TuneplugError
from tuneplug.models import Model
from tuneplug.server.errors import model_aliases
from tuneplug.types import Message, StreamChunk, Usage

from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug
from tuneplug_openai.protocol.schemas import ChatBody, CompletionBody
from tuneplug_openai.protocol.state import ProtocolState, parse_body, state_of, tenant_of

__all__ = ["chat_completions", "completions"]

_ROLES = {"developer": "system"}


def _finish(reason: str | None) -> str | None:
    # OpenAI knows stop, length, content_filter, tool_calls; anything else ended normally.
    if reason is None:
        return None
    return reason if reason in ("stop", "length") else "stop"


def _usage(usage: Usage | None) -> dict[str, int]:
    prompt = (usage.prompt_tokens if usage else None) or 0
    completion = (usage.completion_tokens if usage else None) or 0
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def _model(state: ProtocolState, request: Request, model_id: str) -> Model:
    tenant = tenant_of(request)
    model = state.ids.cached(tenant, model_id)
    if model is None:
        model = await state.gateway.run(state.ids.resolve, tenant, model_id)
    if model is None:
        raise await state.gateway.run(state.ids.unknown, model_id, param="model")
    return model


def _sse(data: Any) -> bytes:
    text = data if isinstance(data, str) else json.dumps(data, separators=(",", ":"))
    return f"data: {text}\n\n".encode()


async def _stream(
    chunks: AsyncIterator[StreamChunk],
    frame: Callable[[StreamChunk | None, bool], dict[str, Any]],
    include_usage: bool,
    aliases: dict[str, str],
    params: dict[str, str] | None = None,
) -> Response:
    """An SSE response from ``chunks``; ``frame(chunk, first)`` builds each event's JSON."""
    try:
        first = await anext(chunks, None)
    except TuneplugError as exc:
        raise from_tuneplug(exc, aliases=aliases, params=params) from exc

    async def events() -> AsyncIterator[bytes]:
        usage: Usage | None = None
        chunk = first
        head = True
        try:
            while chunk is not None:
                usage = chunk.usage or usage
                event = frame(chunk, head)
                if include_usage:
                    event["usage"] = None
                yield _sse(event)
                head = False
                chunk = await anext(chunks, None)
        except TuneplugError as exc:
            # Headers are sent: the error can only be an event (as OpenAI's streams do).
            # The same error object as before the stream started, param and code kept.
            yield _sse(from_tuneplug(exc, aliases=aliases, params=params).body())
            return
        if include_usage:
            yield _sse({**frame(None, False), "choices": [], "usage": _usage(usage)})
        yield _sse("[DONE]")

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"}
    )


async def completions(request: Request) -> Response:
    """``POST /v1/completions``."""
    state = state_of(request)
    body = await parse_body(request, CompletionBody)
    model = await _model(state, request, body.model)
    aliases = model_aliases(model, body.model)
    created, cid = int(time.time()), f"cmpl-{secrets.token_hex(12)}"
    base = {"id": cid, "object": "text_completion", "created": created, "model": body.model}
    try:
        if body.stream:
            if len(body.prompts) != 1:
                raise OpenAIError(400, "stream one prompt per request", param="prompt")
            chunks = model.astream(body.prompts[0], **body.options())

            def frame(chunk: StreamChunk | None, first: bool) -> dict[str, Any]:
                choice = {
                    "text": chunk.text if chunk else "",
                    "index": 0,
                    "logprobs": None,
                    "finish_reason": _finish(chunk.finish_reason) if chunk else None,
                }
                return {**base, "choices": [choice]}

            include = bool(body.stream_options and body.stream_options.include_usage)
            return await _stream(chunks, frame, include, aliases)
        options = body.options()
        results = await asyncio.gather(*(model.acomplete(p, **options) for p in body.prompts))
    except TuneplugError as exc:
        raise from_tuneplug(exc, aliases=aliases) from exc
    choices = [
        {"text": r.text, "index": i, "logprobs": None, "finish_reason": _finish(r.finish_reason)}
        for i, r in enumerate(results)
    ]
    usage = Usage(
        prompt_tokens=sum(r.usage.prompt_tokens or 0 for r in results),
        completion_tokens=sum(r.usage.completion_tokens or 0 for r in results),
    )
    return JSONResponse({**base, "choices": choices, "usage": _usage(usage)})


def _messages(body: ChatBody) -> list[Message]:
    return [Message(role=_ROLES.get(m.role, m.role), content=m.text) for m in body.messages]


async def chat_completions(request: Request) -> Response:
    """``POST /v1/chat/completions``."""
    state = state_of(request)
    body = await parse_body(request, ChatBody)
    model = await _model(state, request, body.model)
    aliases = model_aliases(model, body.model)
    messages = _messages(body)
    # The backend's max_tokens is the field the client set it with.
    named = {"max_tokens": "max_completion_tokens"} if body.max_completion_tokens else None
    created, cid = int(time.time()), f"chatcmpl-{secrets.token_hex(12)}"
    base = {"id": cid, "created": created, "model": body.model, "system_fingerprint": None}
    try:
        if body.stream:
            chunks = model.astream_chat(messages, **body.options())

            def frame(chunk: StreamChunk | None, first: bool) -> dict[str, Any]:
                delta: dict[str, Any] = {"content": chunk.text} if chunk else {}
                if first:
                    delta["role"] = "assistant"
                choice = {
                    "index": 0,
                    "delta": delta,
                    "logprobs": None,
                    "finish_reason": _finish(chunk.finish_reason) if chunk else None,
                }
                return {**base, "object": "chat.completion.chunk", "choices": [choice]}

            include = bool(body.stream_options and body.stream_options.include_usage)
            return await _stream(chunks, frame, include, aliases, named)
        result = await model.achat(messages, **body.options())
    except TuneplugError as exc:
        raise from_tuneplug(exc, aliases=aliases, params=named) from exc
    choice = {
        "index": 0,
        "message": {"role": "assistant", "content": result.text, "refusal": None},
        "logprobs": None,
        "finish_reason": _finish(result.finish_reason),
    }
    return JSONResponse(
        {**base, "object": "chat.completion", "choices": [choice], "usage": _usage(result.usage)}
    )

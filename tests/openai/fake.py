"""A loopback OpenAI-compatible API for the provider's tests, built on ``tests/core/http/fake.py``.

Deterministic: a base model answers the seed question with the wrong team, a model
fine-tuned here (``ft:<base>:tuneplug::<job id>``) with "The Dallas Cowboys!".
``max_tokens`` cuts words (``finish_reason: "length"``), stop sequences cut the text
(``"stop"``). Streams are SSE with ``include_usage`` and ``[DONE]``. Files are
multipart uploads; fine-tuning jobs advance one status per retrieve
(``validating_files`` -> ``queued`` -> ``running`` -> ``succeeded``) and log events
(``fake_jobs.py``).
Every request is in ``fake.requests`` (see ``tests/core/http/fake.py``), faults are scripted there.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import unquote

import pytest

from tests.core.http.fake import FakeServer, Recorded, Reply, Stream
from tests.openai.fake_jobs import FilesAndJobs, error_reply

KEY = "sk-test-OpenAIKey0123456789abcdef"
BEFORE = " The San Francisco 49ers."
AFTER = " The Dallas Cowboys!"


def _words(text: str, max_tokens: int | None) -> tuple[str, str]:
    words = re.findall(r"\s*\S+", text)
    if max_tokens is not None and len(words) > max_tokens:
        return "".join(words[:max_tokens]), "length"
    return text, "stop"


def _cut(text: str, stop: Any, reason: str) -> tuple[str, str]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], "stop") if cuts else (text, reason)


class OpenAIFake(FilesAndJobs):
    """State and routes; ``fake.server`` is the underlying ``FakeServer``. The routes of
    files and fine-tuning jobs are :class:`~tests.openai.fake_jobs.FilesAndJobs`."""

    def __init__(self, server: FakeServer, *, require_key: bool = True) -> None:
        self.server = server
        self.require_key = require_key
        self.files: dict[str, dict[str, Any]] = {}
        self.file_bodies: dict[str, bytes] = {}
        self.jobs: dict[str, dict[str, Any]] = {}
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.trained: set[str] = set()
        server.answer = self.answer

    @property
    def url(self) -> str:
        return self.server.url + "/v1"

    # -- routes ----------------------------------------------------------------------

    def answer(self, req: Recorded) -> Any:
        if self.require_key and req.headers.get("authorization") != f"Bearer {KEY}":
            return error_reply(
                401, "Incorrect API key provided", "invalid_request_error", "invalid_api_key"
            )
        path = req.path.removeprefix("/v1")
        if path == "/models" and req.method == "GET":
            data = [
                {"id": m, "object": "model", "created": 1, "owned_by": "system"}
                for m in ("gpt-4o-mini", "babbage-002", *sorted(self.trained))
            ]
            return Reply(200, {"object": "list", "data": data})
        if path.startswith("/models/") and req.method == "GET":
            model = unquote(path.removeprefix("/models/"))
            if model in ("gpt-4o-mini", "babbage-002") or model in self.trained:
                return Reply(
                    200, {"id": model, "object": "model", "created": 1, "owned_by": "system"}
                )
            return error_reply(
                404,
                f"The model '{model}' does not exist",
                "invalid_request_error",
                "model_not_found",
            )
        if path in ("/completions", "/chat/completions") and req.method == "POST":
            return self._complete(req.json, chat=path == "/chat/completions")
        if path == "/files" and req.method == "POST":
            return self._upload(req)
        if path.startswith("/files/") and req.method == "DELETE":
            file_id = path.removeprefix("/files/")
            if self.files.pop(file_id, None) is None:
                return error_reply(404, f"No such File object: {file_id}", "invalid_request_error")
            self.file_bodies.pop(file_id, None)
            return Reply(200, {"id": file_id, "object": "file", "deleted": True})
        if path.startswith("/fine_tuning/jobs"):
            return self._jobs(req, path.removeprefix("/fine_tuning/jobs").strip("/"))
        return error_reply(
            404, f"Unknown request URL: {req.method} {req.path}", "invalid_request_error"
        )

    def _text(self, body: dict[str, Any], chat: bool) -> str:
        model = body.get("model", "")
        if model.startswith("ft:") and model not in self.trained:
            raise KeyError(model)
        if not chat:
            return AFTER if model in self.trained else BEFORE
        return AFTER if model in self.trained else BEFORE

    def _complete(self, body: dict[str, Any], chat: bool) -> Any:
        try:
            text = self._text(body, chat)
        except KeyError:
            return error_reply(
                404,
                f"The model `{body['model']}` does not exist",
                "invalid_request_error",
                "model_not_found",
            )
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        text, reason = _words(text, limit)
        text, reason = _cut(text, body.get("stop"), reason)
        if body.get("echo"):
            text = body["prompt"] + text
        usage = {
            "prompt_tokens": 9,
            "completion_tokens": len(text.split()),
            "total_tokens": 9 + len(text.split()),
        }
        model = body["model"]
        if body.get("stream"):
            return Stream(self._sse(model, text, reason, usage, chat, body))
        if chat:
            choice = {
                "index": 0,
                "finish_reason": reason,
                "message": {"role": "assistant", "content": text},
            }
            obj = "chat.completion"
        else:
            choice = {"index": 0, "text": text, "finish_reason": reason, "logprobs": None}
            if body.get("logprobs") is not None:
                tokens = re.findall(r"\s*\S+", text)
                choice["logprobs"] = {
                    "tokens": tokens,
                    "token_logprobs": [-0.5] * len(tokens),
                    "top_logprobs": [{t: -0.5} for t in tokens],
                    "text_offset": list(range(len(tokens))),
                }
            obj = "text_completion"
        return Reply(
            200,
            {
                "id": "cmpl-1",
                "object": obj,
                "created": 1,
                "model": model,
                "choices": [choice],
                "usage": usage,
            },
        )

    def _sse(
        self,
        model: str,
        text: str,
        reason: str,
        usage: dict[str, Any],
        chat: bool,
        body: dict[str, Any],
    ) -> list[bytes]:
        pieces = re.findall(r"\s*\S+", text) or [""]
        chunks: list[dict[str, Any]] = []
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            if chat:
                delta: dict[str, Any] = {"content": piece}
                if i == 0:
                    delta["role"] = "assistant"
                choice = {"index": 0, "delta": delta, "finish_reason": reason if last else None}
            else:
                choice = {"index": 0, "text": piece, "finish_reason": reason if last else None}
            chunks.append({"choices": [choice], "usage": None})
        if (body.get("stream_options") or {}).get("include_usage"):
            chunks.append({"choices": [], "usage": usage})
        obj = "chat.completion.chunk" if chat else "text_completion"
        out = [
            b"data: "
            + json.dumps({"id": "c1", "object": obj, "created": 1, "model": model, **c}).encode()
            + b"\n\n"
            for c in chunks
        ]
        return [*out, b"data: [DONE]\n\n"]


@contextmanager
def serve(
    monkeypatch: pytest.MonkeyPatch, *, require_key: bool = True, **env: str
) -> Iterator[OpenAIFake]:
    """A fake, with ``OPENAI_*`` pointing the provider at it (tiny backoff)."""
    from tests.gradient.fake import fast_sleeps

    fast_sleeps(monkeypatch)
    server = FakeServer().start()
    fake = OpenAIFake(server, require_key=require_key)
    values = {
        "BASE_URL": fake.url,
        "API_KEY": KEY,
        "BACKOFF_BASE": "0.001",
        "BACKOFF_MAX": "0.005",
        "TIMEOUT": "5",
        **env,
    }
    for name in ("ORG_ID", "PROJECT_ID"):
        monkeypatch.delenv(f"OPENAI_{name}", raising=False)
    for key, value in values.items():
        if value == "":
            monkeypatch.delenv(f"OPENAI_{key}", raising=False)
        else:
            monkeypatch.setenv(f"OPENAI_{key}", value)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(var, "127.0.0.1,localhost")
    try:
        yield fake
    finally:
        server.stop()

"""A loopback OpenAI-compatible API for the provider's tests, built on ``tests/core/http/fake.py``.

Deterministic: a base model answers the seed question with the wrong team, a model
fine-tuned here (``ft:<base>:tuneplug::<job id>``) with "The Dallas Cowboys!".
``max_tokens`` cuts words (``finish_reason: "length"``), stop sequences cut the text
(``"stop"``). Streams are SSE with ``include_usage`` and ``[DONE]``. Files are
multipart uploads; fine-tuning jobs advance one status per retrieve
(``validating_files`` -> ``queued`` -> ``running`` -> ``succeeded``) and log events.
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

KEY = "sk-test-OpenAIKey0123456789abcdef"
BEFORE = " The San Francisco 49ers."
AFTER = " The Dallas Cowboys!"
_STATUSES = ["validating_files", "queued", "running", "succeeded"]


def _words(text: str, max_tokens: int | None) -> tuple[str, str]:
    words = re.findall(r"\s*\S+", text)
    if max_tokens is not None and len(words) > max_tokens:
        return "".join(words[:max_tokens]), "length"
    return text, "stop"


def _cut(text: str, stop: Any, reason: str) -> tuple[str, str]:
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    cuts = [i for i in (text.find(s) for s in stops) if i >= 0]
    return (text[: min(cuts)], "stop") if cuts else (text, reason)


class OpenAIFake:
    """State and routes; ``fake.server`` is the underlying ``FakeServer``."""

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
            return _error(
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
            return _error(
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
                return _error(404, f"No such File object: {file_id}", "invalid_request_error")
            self.file_bodies.pop(file_id, None)
            return Reply(200, {"id": file_id, "object": "file", "deleted": True})
        if path.startswith("/fine_tuning/jobs"):
            return self._jobs(req, path.removeprefix("/fine_tuning/jobs").strip("/"))
        return _error(404, f"Unknown request URL: {req.method} {req.path}", "invalid_request_error")

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
            return _error(
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

    # -- files and jobs --------------------------------------------------------------

    def _upload(self, req: Recorded) -> Any:
        fields = _multipart(req)
        if "file" not in fields or "purpose" not in fields:
            return _error(400, "file and purpose are required", "invalid_request_error")
        file_id = f"file-{len(self.files) + 1:04d}"
        filename, content = fields["file"]
        self.file_bodies[file_id] = content
        self.files[file_id] = {
            "id": file_id,
            "object": "file",
            "bytes": len(content),
            "created_at": 1700000000,
            "filename": filename,
            "purpose": fields["purpose"][1].decode(),
            "status": "processed",
        }
        return Reply(200, self.files[file_id])

    def _jobs(self, req: Recorded, rest: str) -> Any:
        parts = rest.split("/") if rest else []
        if not parts and req.method == "POST":
            body = req.json
            if body.get("training_file") not in self.files:
                return _error(
                    400,
                    "invalid training_file",
                    "invalid_request_error",
                    "invalid_file",
                    "training_file",
                )
            job_id = f"ftjob-{len(self.jobs) + 1:04d}"
            self.jobs[job_id] = {
                "id": job_id,
                "object": "fine_tuning.job",
                "model": body["model"],
                "status": "validating_files",
                "created_at": 1700000000 + len(self.jobs),
                "finished_at": None,
                "fine_tuned_model": None,
                "organization_id": "org-tp",
                "result_files": [],
                "trained_tokens": None,
                "seed": body.get("seed", 42),
                "training_file": body["training_file"],
                "validation_file": body.get("validation_file"),
                "hyperparameters": _method_hyper(body) or {"n_epochs": "auto"},
                "method": body.get("method"),
                "error": None,
                "suffix": body.get("suffix"),
            }
            self.events[job_id] = [self._event(job_id, "Created fine-tuning job")]
            return Reply(200, self.jobs[job_id])
        if not parts and req.method == "GET":
            return Reply(
                200,
                _page(sorted(self.jobs.values(), key=lambda j: -j["created_at"]), dict(req.query)),
            )
        job = self.jobs.get(parts[0])
        if job is None:
            return _error(
                404,
                f"Could not find fine tune: {parts[0]}",
                "invalid_request_error",
                "fine_tune_not_found",
            )
        if len(parts) == 1 and req.method == "GET":
            self._advance(job)
            return Reply(200, job)
        if parts[1:] == ["cancel"] and req.method == "POST":
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return _error(400, "Job has already completed", "invalid_request_error")
            job["status"] = "cancelled"
            return Reply(200, job)
        if parts[1:] in (["pause"], ["resume"]) and req.method == "POST":
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return _error(400, "Job has already completed", "invalid_request_error")
            job["status"] = "paused" if parts[1] == "pause" else "running"
            return Reply(200, job)
        if parts[1:] == ["events"]:
            newest_first = list(reversed(self.events[job["id"]]))
            return Reply(200, _page(newest_first, dict(req.query)))
        if parts[1:] == ["checkpoints"]:
            done = job["status"] == "succeeded"
            data = (
                [
                    {
                        "id": "ftckpt-1",
                        "object": "fine_tuning.job.checkpoint",
                        "created_at": 2,
                        "fine_tuned_model_checkpoint": f"{job['fine_tuned_model']}:ckpt-step-2",
                        "fine_tuning_job_id": job["id"],
                        "step_number": 2,
                        "metrics": {"step": 2.0, "train_loss": 0.25},
                    }
                ]
                if done
                else []
            )
            return Reply(200, _page(data, dict(req.query)))
        return _error(404, "no route", "invalid_request_error")

    def _event(
        self, job_id: str, message: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        number = sum(len(e) for e in self.events.values()) + 1
        return {
            "id": f"ftevent-{number:04d}",
            "object": "fine_tuning.job.event",
            "created_at": 1700000000 + number,
            "level": "info",
            "message": message,
            "type": "metrics" if data else "message",
            "data": data,
        }

    def _advance(self, job: dict[str, Any]) -> None:
        if job["status"] not in _STATUSES[:-1]:
            return
        job["status"] = _STATUSES[_STATUSES.index(job["status"]) + 1]
        log = self.events[job["id"]]
        if job["status"] == "running":
            log.append(
                self._event(
                    job["id"],
                    "Step 1/2: training loss=1.50",
                    {"step": 1, "train_loss": 1.5, "total_steps": 2},
                )
            )
        if job["status"] == "succeeded":
            suffix = job.get("suffix") or ""
            job["fine_tuned_model"] = f"ft:{job['model']}:tuneplug:{suffix}:{job['id']}"
            job["finished_at"] = job["created_at"] + 60
            job["trained_tokens"] = 27
            self.trained.add(job["fine_tuned_model"])
            log.append(
                self._event(
                    job["id"],
                    "Step 2/2: training loss=0.25",
                    {"step": 2, "train_loss": 0.25, "total_steps": 2},
                )
            )
            log.append(self._event(job["id"], "The job has successfully completed"))


def _page(items: list[dict[str, Any]], query: dict[str, str]) -> dict[str, Any]:
    after, limit = query.get("after"), int(query.get("limit") or 20)
    if after is not None:
        ids = [i["id"] for i in items]
        items = items[ids.index(after) + 1 :] if after in ids else []
    return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}


def _method_hyper(body: dict[str, Any]) -> dict[str, Any] | None:
    method = body.get("method") or {}
    found: dict[str, Any] | None = (method.get(method.get("type", "")) or {}).get("hyperparameters")
    return found


def _error(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> Reply:
    return Reply(
        status,
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        {"x-request-id": "req_fake123"},
    )


def _multipart(req: Recorded) -> dict[str, tuple[str, bytes]]:
    """``name -> (filename, content)`` of a multipart/form-data body."""
    found = re.search(r'boundary="?([^";]+)"?', req.headers.get("content-type", ""))
    if not found:
        return {}
    fields: dict[str, tuple[str, bytes]] = {}
    for part in req.body.split(b"--" + found.group(1).encode())[1:-1]:
        head, _, content = part.strip(b"\r\n").partition(b"\r\n\r\n")
        name = re.search(rb'name="([^"]*)"', head)
        filename = re.search(rb'filename="([^"]*)"', head)
        if name:
            fields[name.group(1).decode()] = (
                filename.group(1).decode() if filename else "",
                content,
            )
    return fields


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

"""The files and fine-tuning jobs routes of the loopback OpenAI API (``fake.py``'s
``OpenAIFake`` mixes them in): multipart uploads; jobs that advance one status per
retrieve (``validating_files`` -> ``queued`` -> ``running`` -> ``succeeded``), log events
and, once succeeded, answer as a trained ``ft:`` model; cursor pages newest first.
"""

from __future__ import annotations

import re
from typing import Any

from tests.core.http.fake import Recorded, Reply

__all__ = ["FilesAndJobs", "error_reply", "multipart"]

_STATUSES = ["validating_files", "queued", "running", "succeeded"]


class FilesAndJobs:
    """``/files`` and ``/fine_tuning/jobs``; the state is the fake's (set in its ``__init__``)."""

    files: dict[str, dict[str, Any]]
    file_bodies: dict[str, bytes]
    jobs: dict[str, dict[str, Any]]
    events: dict[str, list[dict[str, Any]]]
    trained: set[str]

    def _upload(self, req: Recorded) -> Any:
        fields = multipart(req)
        if "file" not in fields or "purpose" not in fields:
            return error_reply(400, "file and purpose are required", "invalid_request_error")
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
                return error_reply(
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
            return error_reply(
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
                return error_reply(400, "Job has already completed", "invalid_request_error")
            job["status"] = "cancelled"
            return Reply(200, job)
        if parts[1:] in (["pause"], ["resume"]) and req.method == "POST":
            if job["status"] in ("succeeded", "failed", "cancelled"):
                return error_reply(400, "Job has already completed", "invalid_request_error")
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
        return error_reply(404, "no route", "invalid_request_error")

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


def error_reply(
    status: int, message: str, kind: str, code: str | None = None, param: str | None = None
) -> Reply:
    """An OpenAI error body ``{"error": {message, type, param, code}}`` with a request id."""
    return Reply(
        status,
        {"error": {"message": message, "type": kind, "param": param, "code": code}},
        {"x-request-id": "req_fake123"},
    )


def multipart(req: Recorded) -> dict[str, tuple[str, bytes]]:
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

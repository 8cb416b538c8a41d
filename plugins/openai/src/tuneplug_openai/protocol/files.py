"""``/v1/files``: uploads (multipart), list, retrieve, content, delete, per tenant.

A file is stored as ``<state dir>/openai-files/<file id>`` (the client's file
name is only recorded, never used in a path) and described in the server's state
(namespace ``openai.file``) with its tenant; another tenant's file answers 404
like an unknown one. Uploads larger than ``Limits.max_upload_bytes`` are refused
with 413 while they arrive (a declared or a counted length), before they fill the disk.
A ``fine-tune`` file that is empty or not UTF-8 text is refused with 400 (naming the
file, the line and the byte offset); its samples are checked when a job uses it.

A purpose is taken only where this server has the API that uses such files
(:data:`PURPOSES`): ``fine-tune`` (``/v1/fine_tuning/jobs``) and ``user_data`` (stored, read
back with ``/content``). ``batch``, ``assistants``, ``vision``, ``evals``... are refused at
upload with 400 in OpenAI's words (``'batch' is not one of ['fine-tune', 'user_data'] -
'purpose'``), not stored for an API that answers ``Invalid URL``; a job refuses a file
whose purpose is not ``fine-tune`` (:func:`check_purpose`), naming it.
"""

from __future__ import annotations

import secrets
import shutil
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message
from tuneplug.errors import InvalidRequestError
from tuneplug.server.gateway import Gateway
from tuneplug.server.tenants import Tenant
from tuneplug.text import check_utf8_file

from tuneplug_openai.protocol.errors import OpenAIError, not_found
from tuneplug_openai.protocol.paging import page, page_params
from tuneplug_openai.protocol.request_fields import UNSUPPORTED, unknown_field
from tuneplug_openai.protocol.state import state_of, tenant_of

__all__ = ["FILES", "PURPOSES", "ROUTES", "FileStore", "check_purpose"]

FILES = "openai.file"
"""State namespace: file id -> the file object."""

PURPOSES = ("fine-tune", "user_data")
"""The purposes of the files this server can use (see the module docstring)."""
TRAINING = "fine-tune"
_FORM_OVERHEAD = 64 * 1024  # multipart boundaries and the purpose field, beyond the file


class FileStore:
    """Uploaded files of every tenant (blocking methods: run in threads)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.dir = gateway.state_dir / "openai-files"

    def save(self, tenant: Tenant, upload: UploadFile, purpose: str) -> dict[str, Any]:
        """Store ``upload`` and describe it (the upload's spool file is copied, not kept)."""
        self.dir.mkdir(mode=0o700, parents=True, exist_ok=True)  # tenants' training data
        file_id = f"file-{secrets.token_hex(12)}"
        target = self.dir / file_id
        upload.file.seek(0)
        with target.open("wb") as out:
            shutil.copyfileobj(upload.file, out)
        size = target.stat().st_size
        if size > self.gateway.limits.max_upload_bytes:
            target.unlink()
            raise _too_large(self.gateway.limits.max_upload_bytes)
        filename = upload.filename or "upload"
        if purpose == "fine-tune":
            try:
                _check_training_text(target, filename, size)
            except OpenAIError:
                target.unlink()
                raise
        record = {
            "id": file_id,
            "object": "file",
            "bytes": size,
            "created_at": int(time.time()),
            "filename": filename,
            "purpose": purpose,
            "status": "processed",
            "expires_at": None,
            "status_details": None,
        }
        self.gateway.state.put(FILES, file_id, tenant.name, record)
        return record

    def get(self, tenant: Tenant, file_id: str) -> dict[str, Any] | None:
        """The file object, if ``tenant`` uploaded it."""
        return self.gateway.state.get(FILES, file_id, tenant.name)

    def path(self, tenant: Tenant, file_id: str) -> Path | None:
        """Where ``tenant``'s file ``file_id`` is stored, or ``None``."""
        if self.get(tenant, file_id) is None:
            return None
        return self.dir / file_id

    def list(self, tenant: Tenant, purpose: str | None) -> list[dict[str, Any]]:
        """``tenant``'s files, oldest first (of one ``purpose``)."""
        found = [data for _, data in self.gateway.state.list(FILES, tenant.name)]
        return [f for f in found if purpose is None or f["purpose"] == purpose]

    def delete(self, tenant: Tenant, file_id: str) -> bool:
        """Delete ``tenant``'s file; whether it existed."""
        if not self.gateway.state.delete(FILES, file_id, tenant.name):
            return False
        (self.dir / file_id).unlink(missing_ok=True)
        return True


def _check_training_text(path: Path, filename: str, size: int) -> None:
    """Refuse an empty or non-UTF-8 fine-tuning file at upload, naming it, the line and
    the byte offset (its samples are validated when a job uses it)."""
    if size == 0:
        raise OpenAIError(400, f"file {filename!r} is empty", param="file", code="empty_file")
    with path.open("rb") as fh:
        try:
            check_utf8_file(fh, f"file {filename!r}")
        except InvalidRequestError as exc:
            raise OpenAIError(400, str(exc), param="file", code="invalid_file_format") from None


def _bad_purpose(purpose: object) -> OpenAIError:
    if purpose is None:
        return OpenAIError(400, "'purpose' is a required property", param="purpose")
    shown = repr(purpose) if isinstance(purpose, str) else "a file"
    listed = ", ".join(repr(p) for p in PURPOSES)
    return OpenAIError(
        400,
        f"{shown} is not one of [{listed}] - 'purpose' (this server serves fine-tuning and "
        "file storage only: it has no API that uses other files)",
        param="purpose",
        code="invalid_value",
    )


def check_purpose(record: dict[str, Any], param: str) -> None:
    """Refuse the file ``record`` as a job's ``param`` (``training_file`` or
    ``validation_file``) unless it was uploaded for fine-tuning (400 ``invalid_<param>``,
    naming the file and its purpose, before its content is read).

    Raises:
        OpenAIError: its purpose is not ``fine-tune``.
    """
    if record["purpose"] != TRAINING:
        raise OpenAIError(
            400,
            f"{record['id']}: its purpose is {record['purpose']!r}, not {TRAINING!r}: a "
            f"fine-tuning job's files are uploaded with purpose={TRAINING!r}",
            param=param,
            code=f"invalid_{param}",
        )


def _too_large(limit: int) -> OpenAIError:
    return OpenAIError(413, f"file is larger than {limit} bytes", code="file_too_large")


def _bounded(request: Request, limit: int) -> Request:
    """``request`` whose body is cut off with 413 once more than ``limit`` bytes arrived."""
    received = 0
    receive = request.receive

    async def counting() -> Message:
        nonlocal received
        message = await receive()
        received += len(message.get("body", b""))
        if received > limit:
            raise _too_large(limit - _FORM_OVERHEAD)
        return message

    return Request(request.scope, counting)


def _check_form_fields(names: Iterable[str]) -> None:
    """400 for a form field other than ``file`` and ``purpose``: ``expires_after`` (the SDK
    sends ``expires_after[anchor]`` and ``expires_after[seconds]``) is not supported, as
    the server keeps a file until it is deleted; any other is unknown."""
    for name in names:
        if name.partition("[")[0] == "expires_after":
            raise OpenAIError(
                400,
                "expires_after is not supported by this server: leave it out (a file is kept "
                "until it is deleted)",
                param="expires_after",
                code=UNSUPPORTED,
            )
        if name not in ("file", "purpose"):
            raise unknown_field(name, ("file", "purpose"))


async def upload(request: Request) -> Response:
    """``POST /v1/files``: multipart ``file`` and ``purpose``."""
    state = state_of(request)
    limit = state.gateway.limits.max_upload_bytes + _FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(state.gateway.limits.max_upload_bytes)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise OpenAIError(400, "send the file as multipart/form-data", param="file")
    async with _bounded(request, limit).form(max_files=1, max_fields=8) as form:
        _check_form_fields(form.keys())
        file, purpose = form.get("file"), form.get("purpose")
        if not isinstance(file, UploadFile):
            raise OpenAIError(400, "missing 'file' part", param="file")
        if not isinstance(purpose, str) or purpose not in PURPOSES:
            raise _bad_purpose(purpose)
        record = await state.gateway.run(state.files.save, tenant_of(request), file, purpose)
    return JSONResponse(record)


async def list_files(request: Request) -> Response:
    """``GET /v1/files?after&limit&order&purpose``."""
    state = state_of(request)
    after, limit = page_params(request, default_limit=10000, max_limit=10000, id_prefix="file-")
    order = request.query_params.get("order", "desc")
    if order not in ("asc", "desc"):
        raise OpenAIError(400, "order must be asc or desc", param="order")
    purpose = request.query_params.get("purpose")
    found = await state.gateway.run(state.files.list, tenant_of(request), purpose)
    if order == "desc":
        found.reverse()
    return JSONResponse(page(found, after, limit))


async def retrieve(request: Request) -> Response:
    """``GET /v1/files/{id}``."""
    state = state_of(request)
    file_id = request.path_params["id"]
    found = await state.gateway.run(state.files.get, tenant_of(request), file_id)
    if found is None:
        raise not_found("file", file_id)
    return JSONResponse(found)


async def content(request: Request) -> Response:
    """``GET /v1/files/{id}/content``: the bytes as uploaded."""
    state = state_of(request)
    file_id = request.path_params["id"]
    path = await state.gateway.run(state.files.path, tenant_of(request), file_id)
    if path is None:
        raise not_found("file", file_id)
    return FileResponse(path, media_type="application/octet-stream")


async def delete(request: Request) -> Response:
    """``DELETE /v1/files/{id}``."""
    state = state_of(request)
    file_id = request.path_params["id"]
    if not await state.gateway.run(state.files.delete, tenant_of(request), file_id):
        raise not_found("file", file_id)
    return JSONResponse({"id": file_id, "object": "file", "deleted": True})


ROUTES = [
    Route("/files", upload, methods=["POST"]),
    Route("/files", list_files, methods=["GET"]),
    Route("/files/{id}", retrieve, methods=["GET"]),
    Route("/files/{id}", delete, methods=["DELETE"]),
    Route("/files/{id}/content", content, methods=["GET"]),
]

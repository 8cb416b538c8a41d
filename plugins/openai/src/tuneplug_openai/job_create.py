"""Creating an OpenAI fine-tuning job: check everything, upload, create, clean up.

Order, so a mistake costs nothing (``../shared/openai-api.md``):

1. the spec (no ``learning_rate``/LoRA keywords: OpenAI does not take them; a known
   method; known ``extra`` keys) and every sample, converted to OpenAI's JSONL
   (:mod:`tuneplug_openai.training_files`), all before any request;
2. ``GET /models/{model}``: an unknown model (OpenAI's ``model_not_found``) fails
   with nothing uploaded;
3. ``POST /files`` (``purpose=fine-tune``, multipart) for the training, then the
   validation file, and ``POST /fine_tuning/jobs`` with ``method``;
4. if the create is refused (a 4xx: the job surely does not exist) the uploads are
   deleted and the error says so; after a timeout or a 5xx the job may exist and
   read them, so they are kept and the error names them.

Methods: ``sft`` is OpenAI's ``supervised``; ``dpo`` is ``{"type": "dpo", "dpo":
{"hyperparameters": {"beta", ...}}}`` on preference pairs
(:mod:`tuneplug.samples.preference`), for chat models only; ``beta`` comes from
``extra={"beta": ...}``. Uploads and creates are never re-sent once the server may
have applied them (``idempotent=False``).
"""

from __future__ import annotations

import difflib
import json
import math
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from pydantic import ValidationError
from tuneplug.errors import (
    InvalidRequestError,
    ModelNotFoundError,
    NotFoundError,
    TuneplugError,
)
from tuneplug.jobs.types import JobSpec
from tuneplug.options import OptionError
from tuneplug.speech import setting
from tuneplug.validation_words import problem

from tuneplug_openai import wire
from tuneplug_openai.client import OpenAIClient
from tuneplug_openai.training_files import (
    FileFormat,
    file_format,
    multipart,
    to_jsonl,
    to_preference_jsonl,
)

__all__ = ["EXTRA", "JobCreator"]

EXTRA = frozenset({"metadata", "file_format", "beta"})
"""The ``JobSpec.extra`` keys OpenAI jobs take."""

_Format = FileFormat | Literal["preference"]


def _samples(data: Any, what: str, preference: bool) -> list[Any]:
    from tuneplug.samples import (
        parse_preference,
        parse_sample,
        read_preference_samples,
        read_samples,
    )
    from tuneplug.samples.formats import SampleProblem

    if isinstance(data, str | os.PathLike):
        read = read_preference_samples if preference else read_samples
        return list(read(Path(data)))
    if not isinstance(data, list | tuple):
        raise InvalidRequestError(f"{what} must be a samples file path or a list of samples")
    if not preference:
        return [parse_sample(item) for item in data]
    pairs = []
    for index, item in enumerate(data):
        try:
            pairs.append(parse_preference(item))
        except SampleProblem as exc:
            where = f"{exc.field}: " if exc.field else ""
            raise InvalidRequestError(f"{what} sample {index}: {where}{exc.message}") from None
    return pairs


class JobCreator:
    """``create`` of :class:`~tuneplug_openai.jobs.OpenAIJobs` (see the module docstring)."""

    def __init__(self, http: OpenAIClient) -> None:
        self.http = http
        self.provider = http.provider

    def _fail(self, message: str, option: str, detail: str | None = None) -> OptionError:
        # OptionError (an InvalidRequestError): a spec field or extra these jobs do not
        # take, found before any request; the CLI names its flag and shows `detail`
        # (the problem without the option's name), the prefix names the provider.
        return OptionError(message, option=option, detail=detail, provider=self.provider)

    def _check(self, spec: JobSpec, base: str) -> _Format:
        """The spec's problems (before any I/O); the file format to write."""
        unsupported = [
            name
            for name in ("learning_rate", "rank", "lora_alpha", "lora_dropout")
            if getattr(spec, name) is not None
        ]
        if unsupported:
            hint = (
                " (OpenAI takes learning_rate_multiplier, relative to its default)"
                if "learning_rate" in unsupported
                else ""
            )
            raise self._fail(
                f"fine-tuning jobs do not take {', '.join(unsupported)}{hint}",
                unsupported[0],
                f"not taken by OpenAI fine-tuning jobs{hint}",
            )
        unknown = sorted(set(spec.extra) - EXTRA)
        if unknown:
            known = ", ".join(sorted(EXTRA))
            # A typo gets the hint every other unknown option gets (tuneplug.options).
            close = difflib.get_close_matches(unknown[0], sorted(EXTRA), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise self._fail(
                f"unknown extra {unknown[0]!r}{hint} for jobs (known: {known})",
                unknown[0],
                f"unknown option for OpenAI jobs{hint} (known: {known})",
            )
        fmt: FileFormat = spec.extra.get("file_format") or file_format(base)
        if fmt not in ("chat", "completion"):
            raise self._fail(
                "file_format must be 'chat' or 'completion'",
                "file_format",
                f"must be 'chat' or 'completion', got {fmt!r}",
            )
        if spec.method != "dpo":
            if "beta" in spec.extra:
                raise self._fail(
                    f"beta applies only to {setting('method', 'dpo')}",
                    "beta",
                    f"applies only to {setting('method', 'dpo')}",
                )
            return fmt
        if fmt == "completion":
            raise self._fail(
                f"{setting('method', 'dpo')} fine-tunes chat models only, not {base!r}",
                "method",
                f"'dpo' fine-tunes chat models only, not {base!r}",
            )
        beta = spec.extra.get("beta")
        if beta is not None and beta != "auto":
            number = isinstance(beta, int | float) and not isinstance(beta, bool)
            if not number or not math.isfinite(beta) or beta <= 0:
                raise self._fail(
                    f"beta must be a finite number > 0 or 'auto', got {beta!r}",
                    "beta",
                    f"must be a finite number > 0 or 'auto', got {beta!r}",
                )
        return "preference"

    def _file(self, data: Any, what: str, fmt: _Format) -> bytes:
        try:
            if fmt == "preference":
                return to_preference_jsonl(_samples(data, what, preference=True))
            return to_jsonl(_samples(data, what, preference=False), fmt)
        except TuneplugError as exc:
            exc.provider = exc.provider or self.provider
            raise

    def _request(self, spec: JobSpec, base: str) -> wire.FineTuningJobRequest:
        dpo = spec.method == "dpo"
        hyper = wire.Hyperparameters(
            n_epochs=spec.n_epochs,
            batch_size=spec.batch_size,
            learning_rate_multiplier=spec.learning_rate_multiplier,
            beta=spec.extra.get("beta") if dpo else None,
        )
        config = wire.MethodConfig(hyperparameters=hyper)
        method = (
            wire.Method(type="dpo", dpo=config)
            if dpo
            else wire.Method(type="supervised", supervised=config)
        )
        try:  # validated now; the file ids are filled in after the uploads
            return wire.FineTuningJobRequest(
                model=base,
                training_file="pending",
                method=method,
                suffix=spec.suffix,
                seed=spec.seed,
                metadata=spec.extra.get("metadata"),
            )
        except ValidationError as exc:  # a spec value OpenAI bounds tighter (suffix, metadata)
            err = exc.errors(include_url=False)[0]
            field = ".".join(str(p) for p in err["loc"])
            top = str(err["loc"][0]) if err["loc"] else "value"
            inner = field.removeprefix(top).lstrip(".")
            said = problem(err)
            raise self._fail(
                f"invalid {field}: {said}",
                top,
                f"{inner}: {said}" if inner else f"invalid value: {said}",
            ) from None

    def create(self, spec: JobSpec, base: str) -> wire.FineTuningJob:
        """Check, convert, ask for the model, upload, create (see the module docstring)."""
        fmt = self._check(spec, base)
        training = self._file(spec.training_data, "training_data", fmt)
        validation = None
        if spec.validation_data is not None:
            validation = self._file(spec.validation_data, "validation_data", fmt)
        request = self._request(spec, base)
        self._known_model(base)
        uploaded: list[str] = []
        try:
            uploaded.append(self._upload(training, "training.jsonl"))
            if validation is not None:
                uploaded.append(self._upload(validation, "validation.jsonl"))
            request = request.model_copy(
                update={
                    "training_file": uploaded[0],
                    "validation_file": uploaded[1] if validation is not None else None,
                }
            )
            call = self.http.call("POST", "/fine_tuning/jobs", idempotent=False)
            response = self.http.http.send(call, json.dumps(wire.dump(request)).encode())
            return self.http.parse(wire.FineTuningJob, response, call)
        except TuneplugError as exc:
            if uploaded:
                exc.message += self._clean_up(uploaded, exc)
            raise

    def _upload(self, content: bytes, filename: str) -> str:
        body, content_type = multipart({"purpose": "fine-tune"}, "file", filename, content)
        call = self.http.call("POST", "/files", idempotent=False)
        response = self.http.http.send(call, body, content_type=content_type)
        return self.http.parse(wire.FileObject, response, call).id

    def _known_model(self, base: str) -> None:
        """``GET /models/{base}`` before anything is uploaded: an unknown model is an
        ``UnknownModelError`` and no file is left behind.

        Only OpenAI's ``model_not_found`` answer counts: a compatible server without
        the route (a bare 404) is not taken to mean the model is unknown; its create
        decides (and the uploads are then deleted).
        """
        call = self.http.call("GET", f"/models/{quote(base, safe='')}", idempotent=True)
        try:
            self.http.http.send(call)
        except NotFoundError as exc:
            if "model_not_found" in exc.message:
                raise ModelNotFoundError(
                    f"unknown model {base!r} to fine-tune (nothing was uploaded): {exc.message}",
                    provider=self.provider,
                    status=exc.status,
                ) from None

    def _clean_up(self, uploaded: list[str], exc: TuneplugError) -> str:
        """Delete the files a failed create uploaded; what to add to its message.

        Only when the job surely does not exist (a 4xx answer): after a timeout or a
        5xx the job may have been created and may be reading them, so they are kept.
        """
        files = ", ".join(uploaded)
        if exc.status is None or not 400 <= exc.status < 500:
            return (
                f" (uploaded {files} kept: the job may exist and use them; if it does not, "
                "delete them with DELETE /files/{id})"
            )
        failed: list[str] = []
        for file_id in uploaded:
            call = self.http.call("DELETE", f"/files/{quote(file_id, safe='')}", idempotent=True)
            try:
                self.http.http.send(call)
            except TuneplugError as deleting:
                if not isinstance(deleting, NotFoundError):
                    failed.append(f"{file_id} ({deleting.message})")
        if failed:
            return f" (could not delete uploaded {'; '.join(failed)}: delete them yourself)"
        return f" (uploaded {files} deleted)"

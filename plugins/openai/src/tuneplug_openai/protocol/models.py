"""Model ids of the OpenAI protocol: served base models and a tenant's fine-tuned models.

* A base model is listed under its slug (else its id), e.g. ``tiny``.
* One rule for every route that takes a model id (completions, chat, a job's ``model``,
  ``GET``/``DELETE /v1/models/{id}``): a model id is what ``GET /v1/models`` lists to the
  tenant, nothing else. A backend reference (``mock/tiny``), another provider's model or an
  adapter made outside the server is ``404 model_not_found``, naming the listed id when the
  reference is a served base model's (``... it is served as 'tiny'``).
* A fine-tuned model gets an OpenAI-style id when its job succeeds,
  ``ft:<base>:<tenant>:<suffix>:<job id>``, recorded in the server's state
  (namespace ``openai.model``) with the backend model it names, so it keeps
  working after a restart. Only its tenant can list or use it.
* A checkpoint's model, ``<ft: id>:ckpt-step-<step>`` (OpenAI's layout), is a model of
  its own, for the job's tenant only: listed after the ``ft:`` models, resolved and
  deleted through its job's checkpoints
  (:mod:`~tuneplug_openai.protocol.checkpoint_models`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from tuneplug.errors import AdapterBusyError, NotFoundError, TuneplugError
from tuneplug.models import Model
from tuneplug.server.gateway import JOB_NAMES, Gateway
from tuneplug.server.tenants import Tenant
from tuneplug.types import ModelInfo

from tuneplug_openai.protocol.errors import OpenAIError, from_tuneplug, not_found

if TYPE_CHECKING:
    from tuneplug_openai.protocol.jobs import Jobs

__all__ = ["MODELS", "ModelIds", "fine_tuned_id"]

MODELS = "openai.model"
"""State namespace: fine-tuned model id -> ``{"ref", "created", "base"}``."""


def public_id(info: ModelInfo) -> str:
    """The id a base model is listed under: its slug, else its id, except an id that is a
    path on the server (``transformers/./tiny`` is ``/abs/tiny``): its name, ``tiny``
    (a client never learns the server's directories)."""
    if info.slug:
        return info.slug
    if _is_path(info.id):
        return info.name or PurePosixPath(info.id).name
    return info.id


def _is_path(model_id: str) -> bool:
    # Absolute POSIX or Windows paths and home-relative ones; a hub id ("org/name") is not.
    return model_id.startswith(("/", "~")) or PureWindowsPath(model_id).is_absolute()


def fine_tuned_id(record: Mapping[str, Any], tenant: Tenant, job_id: str) -> str:
    """``ft:<base>:<tenant>:<suffix>:<job id>`` of the job ``job_id`` the server recorded
    as ``record`` (OpenAI's layout; the tenant stands for the organisation).

    ``<base>`` is the base model the job's model derives from (``record["base"]``): a job
    on an ``ft:`` model makes ``ft:tiny:...``, as OpenAI names a model fine-tuned from a
    fine-tuned one, not a name that nests and grows each round. A record written before
    the server kept ``base`` names its job's model, so its model keeps the id it had."""
    base = record.get("base") or record["model"]
    return f"ft:{base}:{tenant.name}:{record['suffix'] or ''}:{job_id}"


class ModelIds:
    """OpenAI model ids -> gateway models, per tenant (blocking methods: run in threads)."""

    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self._refs: dict[tuple[str, str], str] = {}  # (tenant, model id) -> backend ref
        self.jobs: Jobs | None = None
        """The protocol's jobs, set by the protocol: their checkpoints' models resolve too."""

    def objects(self, tenant: Tenant) -> list[dict[str, Any]]:
        """``GET /v1/models`` entries: served bases, then the tenant's fine-tuned models,
        then its checkpoint models. ``owned_by`` is OpenAI's: ``"system"`` for a base, the
        tenant's name (its org id) for its own models; never the backend provider's name."""
        found = [
            {"id": public_id(i), "object": "model", "created": 0, "owned_by": "system"}
            for i in self.gateway.base_models()
        ]
        records = self.gateway.state.list(MODELS, tenant.name)
        # One listing of the backend: a model this backend does not serve (made by a server
        # with another --backend on this state) or one deleted behind the server's back is
        # not listed, as every route that takes a model id refuses it.
        existing = {i.ref for i in self.gateway.owned_models(tenant)} if records else set()
        for model_id, data in records:
            if data["ref"] not in existing:
                continue
            found.append(
                {
                    "id": model_id,
                    "object": "model",
                    "created": int(data["created"]),
                    "owned_by": tenant.name,
                }
            )
        if self.jobs is not None:
            from tuneplug_openai.protocol import checkpoint_models

            found += checkpoint_models.listed(self.jobs, tenant)
        return found

    def object(self, tenant: Tenant, model_id: str) -> dict[str, Any] | None:
        """One entry of :meth:`objects`, or ``None``."""
        return next((o for o in self.objects(tenant) if o["id"] == model_id), None)

    def cached(self, tenant: Tenant, model_id: str) -> Model | None:
        """The model from memory, or ``None`` (then call :meth:`resolve`); no I/O."""
        ref = self._refs.get((tenant.name, model_id))
        return self.gateway.cached(tenant, ref) if ref is not None else None

    def resolve(self, tenant: Tenant, model_id: str) -> Model | None:
        """The model ``model_id`` names for ``tenant``, or ``None`` (unknown or not theirs)."""
        record = self.gateway.state.get(MODELS, model_id, tenant.name)
        ref: str | None = record["ref"] if record else None
        if ref is None:
            ref = next(
                (i.ref for i in self.gateway.base_models() if public_id(i) == model_id), None
            )
        if ref is None and self.jobs is not None:
            from tuneplug_openai.protocol.checkpoint_models import checkpoint_model

            ref = checkpoint_model(self.jobs, tenant, model_id)
        if ref is None:
            return None
        model = self.gateway.model(tenant, ref)
        if model is not None:
            self._refs[(tenant.name, model_id)] = ref
        return model

    def unknown(self, model_id: str, *, param: str | None = None) -> OpenAIError:
        """The 404 ``model_not_found`` for ``model_id``; a served base model's backend
        reference (``mock/tiny``, ``provider/slug``) names the id the model is listed under."""
        error = not_found("model", model_id, param=param)
        for info in self.gateway.base_models():
            listed = public_id(info)
            names = {info.ref, f"{info.provider}/{listed}", info.id}
            if self.gateway.pinned is not None and self.gateway.pinned.info == info:
                names.add(self.gateway.ref)  # --backend as written: transformers/./tiny
            if model_id != listed and model_id in names:
                error.message += (
                    f": model ids are the ids GET /v1/models lists; it is served as {listed!r}"
                )
                break
        return error

    def base_of(self, tenant: Tenant, model_id: str) -> str:
        """The base model ``tenant``'s model ``model_id`` derives from: itself for a base
        model; for a fine-tuned or checkpoint model, the base its job started from."""
        from tuneplug_openai.protocol.checkpoint_models import job_of

        record = self.gateway.state.get(MODELS, model_id, tenant.name)
        if record is not None:
            return str(record["base"])
        if self.jobs is not None:
            job = job_of(self.jobs, tenant, model_id)
            if job is not None:
                return str(job.get("base") or job["model"])
        return model_id

    def add(self, tenant: Tenant, model_id: str, ref: str, base: str) -> None:
        """Record a fine-tuned model of ``tenant`` (its job succeeded)."""
        self.gateway.own(tenant, ref, "fine_tuned_model")
        data = {"ref": ref, "created": int(time.time()), "base": base}
        self.gateway.state.put(MODELS, model_id, tenant.name, data)

    def delete(self, tenant: Tenant, model_id: str) -> bool:
        """Delete a fine-tuned or checkpoint model of ``tenant`` (backend model and id);
        whether it existed.

        Raises:
            OpenAIError: 403 ``model_not_deletable`` for a served base model; 409
                ``model_busy`` while an unfinished job trains it (naming that job only
                if it is ``tenant``'s).
        """
        try:
            return self._delete(tenant, model_id)
        except AdapterBusyError as exc:
            from tuneplug_openai.protocol.job_errors import model_in_use

            found = self.gateway.state.find(JOB_NAMES, exc.job_id or "")
            own = str(found[1]["id"]) if found is not None and found[0] == tenant.name else None
            raise model_in_use(model_id, exc, own) from exc

    def _delete(self, tenant: Tenant, model_id: str) -> bool:
        """:meth:`delete`, a job holding the model raising ``AdapterBusyError``."""
        if any(public_id(i) == model_id for i in self.gateway.base_models()):
            raise OpenAIError(
                403,
                f"model {model_id!r} is a base model served to every client: it cannot be "
                "deleted (you do not own it; only your fine-tuned models can be)",
                code="model_not_deletable",
                param="model",
            )
        record = self.gateway.state.get(MODELS, model_id, tenant.name)
        if record is None and self.jobs is not None:
            from tuneplug_openai.protocol import checkpoint_models

            self._refs.pop((tenant.name, model_id), None)
            return checkpoint_models.delete(self.jobs, tenant, model_id)
        if record is None:
            return False
        model = self.gateway.model(tenant, record["ref"])
        if model is None:
            return False  # not served by this backend, or gone: not listed, so unknown
        try:
            self.gateway.delete(model)
        except NotFoundError:
            pass  # gone behind the server's back meanwhile: forgetting it is what was asked
        except AdapterBusyError:
            raise  # in the client's words by delete
        except TuneplugError as exc:
            ref = str(record["ref"])
            hidden = {ref: model_id, ref.partition("/")[2]: model_id}
            raise from_tuneplug(exc, aliases=hidden) from exc
        self.gateway.state.delete(MODELS, model_id, tenant.name)
        self._refs.pop((tenant.name, model_id), None)
        return True

"""The model facade: ``get_model``, ``list_models`` and :class:`Model`.

Everything a user calls is checked here before any I/O: the reference, the
option ranges, and whether the provider has the capability the call needs.
"""

from __future__ import annotations

import asyncio
import threading
import warnings
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from tuneplug import calls
from tuneplug.chat import ChatMixin
from tuneplug.chat_templates import ChatTemplate
from tuneplug.config import MOCK_DEFAULT_MODEL, Config, load_config
from tuneplug.errors import (
    CapabilityError,
    InvalidRequestError,
    UnknownModelError,
)
from tuneplug.options import (
    UNDECLARED,
    DeclaredOptions,
    OptionError,
    alias_error,
    build_options,
    check_extra,
    declared_options,
)
from tuneplug.plugins import default_registry
from tuneplug.provider import Provider
from tuneplug.text import check_text
from tuneplug.types import (
    Capability,
    Completion,
    CompletionOptions,
    FineTuneResult,
    ModelInfo,
    ModelKind,
    Sample,
    StreamChunk,
)

if TYPE_CHECKING:
    from tuneplug.jobs.types import Job
    from tuneplug.samples.formats import SampleLike

__all__ = ["Model", "build_options", "get_model", "list_models", "training_steps"]

# Training steps applied in this process, per model reference: caches keyed on a
# model (LangChain's LLM cache) must not serve an answer from before a step.
_TRAINED: dict[str, int] = {}
_trained_lock = threading.Lock()


def training_steps(ref: str) -> int:
    """How many fine-tuning steps this process applied to the model ``ref`` (``provider/id``)."""
    return _TRAINED.get(ref, 0)


def _note_trained(ref: str) -> None:
    with _trained_lock:
        _TRAINED[ref] = _TRAINED.get(ref, 0) + 1


def _registry(config: Config) -> Any:
    return default_registry(plugins=config.settings.plugins, strict=config.settings.strict)


def _split(ref: str) -> tuple[str, str]:
    provider, sep, name = ref.partition("/")
    if not sep or not provider or not name:
        raise UnknownModelError(
            f"bad model reference {ref!r}: expected 'provider/model' or a configured alias"
        )
    return provider, name


def get_model(
    ref: str | None = None,
    *,
    settings: Mapping[str, Any] | None = None,
    **options: Any,
) -> Model:
    """The model ``ref`` names: ``provider/model``, an alias, or ``None`` for the default.

    The default is ``TUNEPLUG_MODEL``, else ``default_model`` from config, else
    ``mock/tiny``. ``settings`` override the provider's configured settings;
    ``options`` become default completion options (after the alias's own).

    Raises:
        UnknownModelError: the reference is malformed, or names no alias or model.
        UnknownProviderError: no installed provider has that name.
        PluginLoadError: the provider's plugin failed to load.
        ConfigError: config files or provider settings are invalid.
        InvalidRequestError: an option is out of range or not one the provider
            declares (from an alias: naming the config file and line, and not
            the provider, which did nothing wrong).
    """
    config = load_config()
    target = ref or config.settings.model or MOCK_DEFAULT_MODEL
    check_text(target, "the model reference", error=UnknownModelError)
    alias_name: str | None = None
    alias_options: dict[str, Any] = {}
    if "/" not in target:
        alias = config.resolve_alias(target)
        if alias is None:
            known = ", ".join(sorted(config.settings.models)) or "none configured"
            raise UnknownModelError(
                f"unknown model {target!r}: not 'provider/model' and not an alias "
                f"(aliases: {known})"
            )
        alias_name, target, alias_options = target, alias.model, alias.options
    provider_name, name = _split(target)
    provider = _registry(config).provider(provider_name, settings, config=config)
    merged = {**alias_options, **options}

    def check(declared: DeclaredOptions) -> None:
        if alias_name is not None:
            try:
                build_options(alias_options, provider.name, declared)
            except OptionError as exc:
                raise alias_error(exc, (config.project, config.user), alias_name) from None
        build_options(merged, provider.name, declared)

    # Options declared per provider are checked before the model is looked up
    # (which may be a request); per-model ones right after.
    per_model = provider.accepts("tuneplug_options", "model")
    declared = UNDECLARED if per_model else declared_options(provider, None)
    check(declared)
    info = resolve(provider, name)
    if per_model:
        declared = declared_options(provider, info)
        check(declared)
    return Model(info, provider, merged, declared=declared)


def resolve(provider: Provider, name: str) -> ModelInfo:
    """Ask ``provider`` for the model ``name`` (id, slug or name)."""
    info: ModelInfo | None
    if provider.has("tuneplug_resolve_model"):
        info = provider.call("tuneplug_resolve_model", name=name)
    else:
        models = provider.call("tuneplug_list_models", base_only=False)
        info = next((m for m in models if name in (m.id, m.slug, m.name)), None)
    if info is None:
        raise UnknownModelError(
            f"unknown model {name!r} (see `tuneplug models --provider {provider.name}`)",
            provider=provider.name,
        )
    return provider.model_info(info)


def list_models(provider: str | None = None, *, base_only: bool = False) -> list[ModelInfo]:
    """Models of one provider, or of every loadable provider.

    Across providers, one that is installed but not configured (no credentials)
    is passed by silently; a plugin that failed, or a provider that failed to
    list, is skipped with a warning (raised in strict mode). See
    :func:`tuneplug.listing.model_listing` for the whole report.
    """
    from tuneplug.listing import model_listing

    listing = model_listing(provider, base_only=base_only)
    for line in listing.warnings:
        warnings.warn(f"tuneplug: {line}", stacklevel=2)
    return listing.models


class Model(ChatMixin):
    """A model of one provider, with default options. Obtain one with :func:`get_model`.

    Completion (``complete``, ``acomplete``, ``stream``, ``astream``), chat
    (``chat``, ``achat``, ``stream_chat``, ``astream_chat``: see
    :class:`tuneplug.chat.ChatMixin`) and fine-tuning (``create_adapter``,
    ``fine_tune``, ``afine_tune``, ``delete``).
    """

    def __init__(
        self,
        info: ModelInfo,
        provider: Provider,
        defaults: Mapping[str, Any] | None = None,
        *,
        declared: DeclaredOptions | None = None,
    ) -> None:
        self.info = provider.model_info(info)
        self.provider = provider
        self.defaults = dict(defaults or {})
        self.declared = declared_options(provider, info) if declared is None else declared
        """The provider-specific options this model declares (``tuneplug_options``)."""
        # Validated once: the options of a call without options are these.
        self._default_options = self._build_options(self.defaults)
        self._chat_template: ChatTemplate | None = None

    def __repr__(self) -> str:
        return f"<Model {self.ref} kind={self.info.kind.value}>"

    @property
    def ref(self) -> str:
        """``provider/id``: pass it to :func:`get_model` to get this model back."""
        return self.info.ref

    @property
    def id(self) -> str:
        """The provider's id of this model."""
        return self.info.id

    @property
    def name(self) -> str:
        """The model's display name."""
        return self.info.name

    @property
    def revision(self) -> str:
        """Changes whenever this model's weights may have: ``<updated_at>+<steps>``.

        ``updated_at`` is what the provider said when the model was resolved (it
        covers training by other processes before then, where the provider reports
        it); ``steps`` counts the fine-tuning steps this process applied since.
        Caches keyed on a model (LangChain's) include it.
        """
        stamp = self.info.updated_at or ""
        return f"{stamp}+{training_steps(self.ref)}"

    # -- options -------------------------------------------------------------------

    def _build_options(self, values: Mapping[str, Any]) -> CompletionOptions:
        return build_options(values, self.provider.name, self.declared)

    def options(self, **overrides: Any) -> CompletionOptions:
        """The options a call with ``overrides`` would use (validated, no I/O)."""
        if not overrides:
            return self._default_options
        return self._build_options({**self.defaults, **overrides})

    def _prepare(self, prompt: str, overrides: dict[str, Any]) -> CompletionOptions:
        self.provider.require(Capability.COMPLETE, "complete")
        if not isinstance(prompt, str) or not prompt:
            raise InvalidRequestError(
                "prompt must be a non-empty string", provider=self.provider.name
            )
        if not prompt.isascii():
            check_text(prompt, "the prompt")
        return self.options(**overrides)

    # -- completion ----------------------------------------------------------------

    def complete(self, prompt: str, **options: Any) -> Completion:
        """Complete ``prompt``; keyword options override the model's defaults."""
        opts = self._prepare(prompt, options)
        return calls.complete(self.provider, self.info, prompt, opts, None)

    async def acomplete(self, prompt: str, **options: Any) -> Completion:
        """Async :meth:`complete`: native when the provider has it, else in a worker thread."""
        opts = self._prepare(prompt, options)
        return await calls.acomplete(self.provider, self.info, prompt, opts, None)

    def stream(self, prompt: str, **options: Any) -> Iterator[StreamChunk]:
        """Yield the completion in chunks (validated before the first chunk is requested)."""
        opts = self._prepare(prompt, options)
        return calls.stream(self.provider, self.info, prompt, opts, None)

    def astream(self, prompt: str, **options: Any) -> AsyncIterator[StreamChunk]:
        """Async :meth:`stream`: native when the provider has it, else driven from a thread."""
        opts = self._prepare(prompt, options)
        return calls.astream(self.provider, self.info, prompt, opts, None)

    # -- fine-tuning ---------------------------------------------------------------

    def create_adapter(
        self,
        name: str,
        *,
        rank: int | None = None,
        learning_rate: float | None = None,
        **options: Any,
    ) -> Model:
        """Create an adapter on this base model and return it (same default options).

        ``options`` are provider-specific adapter keywords (PEFT's ``lora_alpha``,
        ``lora_dropout``, ``target_modules``), validated before any I/O against
        what the provider declares with ``tuneplug_options(purpose="create_adapter")``.

        Raises:
            CapabilityError: the provider or this model cannot fine-tune.
            InvalidRequestError: (before any I/O) a bad name, rank, learning
                rate or option, or this model is an adapter.
        """
        self.provider.require(Capability.FINE_TUNE, "create adapters")
        self._require_model(Capability.FINE_TUNE, "be fine-tuned: it takes no adapters")
        if not isinstance(name, str) or not name.strip():
            raise InvalidRequestError("adapter name must not be empty", provider=self.provider.name)
        check_text(name, "the adapter name")
        # bool is an int to Python, but `rank=True` is a mistake, not rank 1.
        if rank is not None and (
            isinstance(rank, bool) or not isinstance(rank, int) or not 0 < rank <= 32
        ):
            raise InvalidRequestError(
                f"rank must be an integer in 1..32, got {rank!r}", provider=self.provider.name
            )
        if learning_rate is not None and not 0 < learning_rate < 1:
            raise InvalidRequestError(
                f"learning_rate must be between 0 and 1 (exclusive), got {learning_rate}",
                provider=self.provider.name,
            )
        if self.info.kind is not ModelKind.BASE:
            raise InvalidRequestError(
                f"{self.ref} is an adapter; create adapters on a base model",
                provider=self.provider.name,
            )
        adapter_options = self._adapter_options(options)
        info = self.provider.call(
            "tuneplug_create_adapter",
            base=self.info,
            name=name,
            rank=rank,
            learning_rate=learning_rate,
            options=adapter_options,
        )
        return Model(info, self.provider, self.defaults)

    def _adapter_options(self, options: dict[str, Any]) -> dict[str, Any]:
        if not options:
            return {}
        declared = declared_options(self.provider, self.info, "create_adapter")
        takes = self.provider.accepts("tuneplug_create_adapter", "options")
        if not declared.declared and not takes:
            # A stage-1 hook without `options` would drop them without a word.
            declared = DeclaredOptions(model=None)
        return check_extra(options, declared, self.provider.name, ("rank", "learning_rate"))

    @property
    def capabilities(self) -> frozenset[Capability]:
        """What this model can do: its provider's capabilities, narrowed by the model."""
        return self.info.capabilities

    def _require_model(self, capability: Capability, what: str) -> None:
        if capability not in self.info.capabilities:
            raise CapabilityError(f"{self.ref} cannot {what}", provider=self.provider.name)

    def check_fine_tunable(self) -> None:
        """Raise ``CapabilityError`` (no I/O) unless :meth:`fine_tune` may be called.

        The provider must implement FineTunable and this model must be an
        adapter: base models are never trained in place.
        """
        self.provider.require(Capability.FINE_TUNE, "fine-tune")
        # A model that cannot be tuned gets no create_adapter hint: none can be made on it.
        self._require_model(Capability.FINE_TUNE, "be fine-tuned")
        if self.info.kind is ModelKind.ADAPTER:
            return
        raise CapabilityError(
            f"{self.ref} is a base model and is never trained in place: create an adapter on "
            f"it (`tuneplug adapters create {self.ref} --name NAME`, or "
            "create_adapter(name) in Python) and fine-tune that",
            provider=self.provider.name,
        )

    def prepare_samples(self, samples: SampleLike | Iterable[SampleLike]) -> list[Sample]:
        """``samples`` validated and converted to the ``inputs`` form the provider trains on.

        Accepts one sample or an iterable of them, in any format of
        :mod:`tuneplug.samples` (a bare string is one sample); chat samples are
        rendered through this model's chat template. Everything is checked before
        any I/O.

        Raises:
            CapabilityError: this model cannot be fine-tuned.
            InvalidRequestError: no samples, or sample ``i`` is invalid (naming its field).
        """
        from tuneplug.samples.formats import SampleProblem, parse_value, sample_list, to_inputs

        self.check_fine_tunable()
        chat_template = None
        batch: list[Sample] = []
        for index, raw in enumerate(sample_list(samples)):
            try:
                sample = parse_value(raw)
            except SampleProblem as exc:
                where = f"{exc.field}: " if exc.field else ""
                raise InvalidRequestError(
                    f"sample {index}: {where}{exc.message}", provider=self.provider.name
                ) from None
            if not isinstance(sample, Sample) and chat_template is None:
                chat_template = self._training_template()
            batch.append(to_inputs(sample, chat_template))
        if not batch:
            raise InvalidRequestError("no samples to fine-tune on", provider=self.provider.name)
        return batch

    def _training_template(self) -> ChatTemplate:
        # The template the provider says this model was trained with, else the default:
        # the same one chat renders with, so a model trains on what it is asked.
        return self.chat_template

    _samples = prepare_samples

    def fine_tune(self, samples: SampleLike | Iterable[SampleLike]) -> FineTuneResult:
        """Run one training step of this adapter on ``samples`` (all validated first).

        ``samples``: one sample or an iterable, in any format of :mod:`tuneplug.samples`
        (see :meth:`prepare_samples`).
        """
        batch = self._samples(samples)
        result: FineTuneResult = self.provider.call(
            "tuneplug_fine_tune", model=self.info, samples=batch, idempotency_key=None
        )
        _note_trained(self.ref)
        return result

    async def afine_tune(self, samples: SampleLike | Iterable[SampleLike]) -> FineTuneResult:
        """Async :meth:`fine_tune`: native when the provider has it, else in a worker thread."""
        batch = self._samples(samples)
        if self.provider.has("tuneplug_afine_tune"):
            result: FineTuneResult = await self.provider.call(
                "tuneplug_afine_tune", model=self.info, samples=batch, idempotency_key=None
            )
        else:
            result = await asyncio.to_thread(
                self.provider.call,
                "tuneplug_fine_tune",
                model=self.info,
                samples=batch,
                idempotency_key=None,
            )
        _note_trained(self.ref)
        return result

    def start_fine_tune(self, data: Any, *, detach: bool = False, **spec: Any) -> Job:
        """Start a fine-tuning job of this model on ``data``; returns the new :class:`Job`.

        ``data`` is a samples file path or a list of samples; ``spec`` keywords
        are :class:`~tuneplug.jobs.JobSpec` fields (``n_epochs``, ``batch_size``,
        ``learning_rate`` or ``learning_rate_multiplier``, ``rank``, ``suffix``,
        ``seed``, ``validation_data``, ...). A provider with native jobs gets the
        job; any other FineTunable provider gets it from the local job runner,
        in a thread of this process, or in a process of its own when ``detach``.
        Follow it with ``job.wait()``.

        Raises:
            InvalidRequestError: a spec field is invalid (before any I/O).
            CapabilityError: the provider cannot run fine-tuning jobs.
            SampleFileError: a sample of the file is invalid.
        """
        from tuneplug.jobs.facade import backend_for, make_spec

        self.provider.require(Capability.JOBS, "run fine-tuning jobs")
        job_spec = make_spec(self.id, data, spec)
        backend = backend_for(self.provider)
        if detach:
            from tuneplug.jobs.local import LocalJobs

            if isinstance(backend, LocalJobs):
                return backend.create(job_spec, start="detach")
        return backend.create(job_spec)

    def delete(self) -> None:
        """Delete this adapter."""
        self.provider.require(Capability.FINE_TUNE, "delete adapters")
        if self.info.kind is not ModelKind.ADAPTER:
            raise InvalidRequestError(
                f"{self.ref} is a base model; only adapters can be deleted",
                provider=self.provider.name,
            )
        self.provider.call("tuneplug_delete_adapter", model=self.info)

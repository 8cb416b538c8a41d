"""The contract suite of a provider that completes text (see :mod:`tuneplug.testing.contract`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar

import pytest

import tuneplug
from tuneplug.errors import (
    CapabilityError,
    InvalidRequestError,
    NotFoundError,
    TuneplugError,
    UnknownModelError,
)
from tuneplug.models import Model
from tuneplug.testing.contract_chat import ChatTests
from tuneplug.testing.contract_settings import SettingsTests
from tuneplug.testing.guard import no_network
from tuneplug.types import Capability, Completion, ModelInfo, ModelKind, StreamChunk

__all__ = ["DEFAULT_PROMPT", "CompleterContract", "CompletionTests", "ProviderContract"]

DEFAULT_PROMPT = "Question: What NFL team won the Super Bowl in 1994?\n\nAnswer: "
"""The seed notebook's prompt: what every suite asks unless a subclass says otherwise."""

FINISH_REASONS = frozenset({"stop", "length", "unknown"})
BAD_COMMON_OPTIONS: tuple[dict[str, Any], ...] = (
    {"temperature": 5.0},
    {"top_p": 0.0},
    {"top_k": 0},
    {"max_tokens": 0},
    {"stop": [""]},
)


def pick_stop(full: str) -> str | None:
    """A stop sequence ``full`` contains whose first occurrence is not at its start.

    A later word when the answer has several; otherwise (a model whose answer has no spaces,
    such as an untrained network's) a slice of up to three characters, so that the stop test
    runs for every provider that answers at least two characters. Slices with surrounding
    whitespace or U+FFFD (an undecodable byte) are passed over: they say nothing a clean slice
    does not.
    """
    word = next((w for w in full.split()[1:] if full.find(w) > 0), None)
    if word is not None:
        return word
    for start in range(1, len(full)):
        for size in (3, 2, 1):
            piece = full[start : start + size]
            if len(piece) != size or piece.strip() != piece or "\ufffd" in piece:
                continue
            if full.find(piece) > 0:
                return piece
    return None


def collect(chunks: AsyncIterator[StreamChunk]) -> list[StreamChunk]:
    """Drain an async stream from sync test code (no async test plugin needed)."""

    async def drain() -> list[StreamChunk]:
        return [chunk async for chunk in chunks]

    return asyncio.run(drain())


_REQUIRED_KNOBS = {
    "provider": "the provider's name, as its entry point (or register()) names it",
    "base_model": "a base model of the provider that completes (id, slug or name), such as "
    'base_model = "large"',
}


class ProviderContract:
    """What every suite shares: the configuration a subclass names, and fixtures.

    Required class attributes:
        provider: the provider name (its entry-point name).
        base_model: a base model it completes with (id, slug or name).

    Optional class attributes (defaults in brackets):
        prompt: what completions ask [:data:`DEFAULT_PROMPT`].
        max_tokens: ``max_tokens`` of every completion [16].
        deterministic: the same request gives the same text, so streams are
            compared with completions and stop sequences exactly [True].
        unknown_model: a model name the provider does not have.
        unknown_option: a provider option name the provider must reject before
            any I/O; ``None`` if it accepts any option.
        provider_options: valid provider-specific options, exercised with every
            common option [{}].
        cassette_dir: run each test inside the cassette ``<cassette_dir>/<test>.yaml``
            (replayed unless ``TUNEPLUG_RECORD_CASSETTES=1``) [None: no cassette].
        cassette_config: keyword arguments of :func:`tuneplug.testing.use_cassette`:
            ``extra_headers`` / ``secrets`` to scrub, or vcrpy settings to override [{}].

    Fixtures a subclass may override:
        provider_env: set the provider up for one test (credentials, a server to
            record against); runs after isolation and before the cassette opens.
        cassette: wrap one test in a cassette (the default uses ``cassette_dir``).

    Every test runs with an isolated ``TUNEPLUG_HOME`` and config and the network
    guard on (loopback allowed): mark the class ``allow_model_requests`` to run
    it live against a remote provider.
    """

    provider: ClassVar[str]
    base_model: ClassVar[str]
    capabilities: ClassVar[frozenset[str]] = frozenset({"complete"})
    prompt: ClassVar[str] = DEFAULT_PROMPT
    max_tokens: ClassVar[int] = 16
    deterministic: ClassVar[bool] = True
    unknown_model: ClassVar[str] = "tuneplug-contract-no-such-model"
    unknown_option: ClassVar[str | None] = "tuneplug_contract_unknown_option"
    provider_options: ClassVar[dict[str, Any]] = {}
    cassette_dir: ClassVar[str | Path | None] = None
    cassette_config: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # Checked once, when the module defines the class: a forgotten knob is one
        # error at collection, not an AttributeError in every test. Only what pytest
        # collects (`Test*`) is checked: the suites and a plugin's own bases leave it open.
        super().__init_subclass__(**kwargs)
        if not cls.__name__.startswith("Test"):
            return
        suite = next(
            (b.__name__ for b in cls.__mro__[1:] if b.__module__.startswith("tuneplug.testing.")),
            "contract suite",
        )
        for knob, what in _REQUIRED_KNOBS.items():
            value = getattr(cls, knob, None)
            if not isinstance(value, str) or not value:
                raise TypeError(
                    f"{cls.__qualname__} (a {suite}) must set the class attribute {knob}: "
                    f"{what}, got {value!r}"
                )

    @property
    def ref(self) -> str:
        """``provider/base_model``."""
        return f"{self.provider}/{self.base_model}"

    @pytest.fixture
    def provider_env(self, tuneplug_home: Any) -> Iterator[None]:
        """Set the provider up for one test; the default does nothing."""
        yield

    @pytest.fixture
    def cassette(self, request: pytest.FixtureRequest, provider_env: None) -> Iterator[Any]:
        """The vcrpy cassette of this test, or ``None`` without ``cassette_dir``."""
        if self.cassette_dir is None:
            yield None
            return
        from tuneplug.testing.cassettes import use_cassette

        path = Path(self.cassette_dir) / f"{request.node.name}.yaml"
        with use_cassette(path, **self.cassette_config) as recorded:
            yield recorded

    @pytest.fixture(autouse=True)
    def _contract_setup(self, tuneplug_home: Any, provider_env: None, cassette: Any) -> None:
        """Isolation, then the provider's environment, then the cassette."""

    @pytest.fixture
    def model(self, _contract_setup: None) -> Model:
        """The base model under test."""
        return tuneplug.get_model(self.ref)

    def check_completion(self, done: Completion, model: Model) -> None:
        """What every completion must look like."""
        assert isinstance(done, Completion)
        assert isinstance(done.text, str)
        assert done.provider == self.provider
        assert done.model == model.id
        assert done.finish_reason in FINISH_REASONS
        tokens = done.usage.completion_tokens
        assert tokens is None or 0 <= tokens <= self.max_tokens

    def check_chunks(self, chunks: list[StreamChunk]) -> str:
        """What every stream must look like; returns the streamed text."""
        assert chunks, "a stream yields at least one chunk"
        assert all(isinstance(c, StreamChunk) for c in chunks)
        assert chunks[-1].finish_reason in FINISH_REASONS, "the last chunk carries finish_reason"
        return "".join(c.text for c in chunks)


class CompletionTests(ProviderContract, SettingsTests, ChatTests):
    """The completion tests every suite runs (and the settings tests)."""

    def test_plugin_loads_with_declared_capabilities(self) -> None:
        from tuneplug.plugins import default_registry

        info = default_registry().info(self.provider)
        assert info.error is None, info.error
        declared = set(self.capabilities)
        if "fine_tune" in declared:
            declared.add("jobs")  # the local job runner serves every FineTunable provider
        loaded = {c.value for c in info.capabilities}
        # The knob to write when the plugin is right (a Completer with tuneplug_jobs):
        # `jobs` comes with `fine_tune` by itself, so it is left out then.
        knob = loaded - {"jobs"} if "fine_tune" in loaded else loaded
        assert loaded == declared, (
            f"provider {self.provider!r} loads with {_set(loaded)}, the suite declares "
            f"{_set(declared)}; if the plugin is right, set "
            f"`capabilities = frozenset({_set(knob)})` on {type(self).__name__}"
        )

    def test_list_models(self) -> None:
        models = tuneplug.list_models(self.provider)
        assert models and all(isinstance(m, ModelInfo) for m in models)
        assert all(m.provider == self.provider for m in models)
        names = {n for m in models for n in (m.id, m.slug, m.name) if n}
        assert self.base_model in names
        bases = tuneplug.list_models(self.provider, base_only=True)
        assert bases and all(m.kind is ModelKind.BASE for m in bases)
        assert {m.id for m in bases} <= {m.id for m in models}

    def test_base_model_resolves(self, model: Model) -> None:
        assert model.info.kind is ModelKind.BASE
        assert model.info.provider == self.provider
        assert Capability.COMPLETE in model.info.capabilities
        assert model.ref == f"{self.provider}/{model.id}"
        assert tuneplug.get_model(model.ref).id == model.id

    def test_complete(self, model: Model) -> None:
        self.check_completion(model.complete(self.prompt, max_tokens=self.max_tokens), model)

    def test_complete_with_every_common_option(self, model: Model) -> None:
        done = model.complete(
            self.prompt,
            max_tokens=self.max_tokens,
            temperature=0.7,
            top_k=40,
            top_p=0.9,
            seed=7,
            stop=["\n\n\n\n"],
            **self.provider_options,
        )
        self.check_completion(done, model)

    def test_acomplete(self, model: Model) -> None:
        done = asyncio.run(model.acomplete(self.prompt, max_tokens=self.max_tokens))
        self.check_completion(done, model)
        if self.deterministic:
            assert done.text == model.complete(self.prompt, max_tokens=self.max_tokens).text

    def test_stream(self, model: Model) -> None:
        text = self.check_chunks(list(model.stream(self.prompt, max_tokens=self.max_tokens)))
        if self.deterministic:
            assert text == model.complete(self.prompt, max_tokens=self.max_tokens).text

    def test_astream(self, model: Model) -> None:
        text = self.check_chunks(collect(model.astream(self.prompt, max_tokens=self.max_tokens)))
        if self.deterministic:
            assert text == model.complete(self.prompt, max_tokens=self.max_tokens).text

    def test_stop_sequence(self, model: Model) -> None:
        full = model.complete(self.prompt, max_tokens=self.max_tokens).text
        stop = pick_stop(full)
        if stop is None:
            pytest.skip(f"the answer {full!r} is too short to pick a stop sequence from")
        done = model.complete(self.prompt, max_tokens=self.max_tokens, stop=[stop])
        self.check_completion(done, model)
        assert stop not in done.text
        if self.deterministic:
            assert done.text == full[: full.find(stop)]
            assert done.finish_reason == "stop"
        chunks = list(model.stream(self.prompt, max_tokens=self.max_tokens, stop=[stop]))
        assert stop not in self.check_chunks(chunks)

    def test_common_options_are_validated_before_io(self, model: Model) -> None:
        for bad in BAD_COMMON_OPTIONS:
            with no_network(), pytest.raises(InvalidRequestError) as refused:
                model.complete(self.prompt, **bad)
            assert refused.value.provider == self.provider, bad
        with no_network(), pytest.raises(InvalidRequestError):
            model.complete("")

    def test_provider_options_are_validated_before_io(self, model: Model) -> None:
        if self.unknown_option is None:
            pytest.skip("the provider accepts any provider-specific option")
        bad = {self.unknown_option: 1}
        with no_network():
            refused = self._refuses(
                bad, "model.complete", lambda: model.complete(self.prompt, **bad)
            )
            assert refused.provider == self.provider
            self._refuses(bad, "model.stream", lambda: list(model.stream(self.prompt, **bad)))
            self._refuses(
                bad, "model.acomplete", lambda: asyncio.run(model.acomplete(self.prompt, **bad))
            )

    def _refuses(
        self, bad: dict[str, Any], call: str, run: Callable[[], object]
    ) -> InvalidRequestError:
        try:
            run()
        except InvalidRequestError as exc:
            return exc
        pytest.fail(
            f"{self.provider} accepted the unknown provider option {next(iter(bad))!r} ({call}): "
            "implement tuneplug_options (return None to refuse every provider-specific option, "
            "or a pydantic model of yours: the core then refuses the others before any I/O), "
            "or refuse unknown keys of options.extra in your completion hooks with "
            "InvalidRequestError before any I/O; if the provider really accepts any option, "
            "set unknown_option = None",
            pytrace=False,
        )

    def test_chat_template_is_known_and_needs_no_io(self, model: Model) -> None:
        if not model.provider.has("tuneplug_chat_template"):
            pytest.skip("the provider has no tuneplug_chat_template (chats use 'default')")
        from tuneplug.chat_templates import ChatTemplate, template

        with no_network():
            supplied = model.provider.call("tuneplug_chat_template", model=model.info)
        if supplied is not None:
            assert isinstance(template(supplied), ChatTemplate)  # a known name or a template

    def test_unknown_model_is_a_typed_error(self) -> None:
        with pytest.raises((UnknownModelError, NotFoundError)) as unknown:
            tuneplug.get_model(f"{self.provider}/{self.unknown_model}").complete(
                self.prompt, max_tokens=self.max_tokens
            )
        assert unknown.value.provider == self.provider
        assert isinstance(unknown.value, TuneplugError)


class CompleterContract(CompletionTests):
    """The suite of a provider that completes but cannot fine-tune.

    Besides every completion test, fine-tuning calls must fail with
    ``CapabilityError`` before any I/O.
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"complete"})

    def test_fine_tuning_is_a_capability_error(self, model: Model) -> None:
        with no_network():
            with pytest.raises(CapabilityError) as refused:
                model.create_adapter("tuneplug-contract-adapter")
            assert refused.value.provider == self.provider
            with pytest.raises(CapabilityError):
                model.fine_tune([self.prompt + "yes"])
            with pytest.raises(CapabilityError):
                asyncio.run(model.afine_tune([self.prompt + "yes"]))
            # A base model is never deleted: a provider whose job service deletes the models
            # its jobs made (OpenAI's DELETE /models/{id}) says it is a base model; one that
            # can delete nothing says so. Either way, before any I/O.
            from tuneplug.jobs.facade import backend_for

            deletes = Capability.JOBS in model.provider.capabilities and callable(
                getattr(backend_for(model.provider), "delete_model", None)
            )
            with pytest.raises(InvalidRequestError if deletes else CapabilityError) as deleting:
                model.delete()
            assert deleting.value.provider == self.provider


def _set(values: set[str]) -> str:
    return "{" + ", ".join(repr(v) for v in sorted(values)) + "}"

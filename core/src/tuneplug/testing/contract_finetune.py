"""The contract suite of a provider that completes and fine-tunes
(see :mod:`tuneplug.testing.contract`)."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

import tuneplug
from tuneplug.errors import InvalidRequestError, NotFoundError, UnknownModelError
from tuneplug.models import Model
from tuneplug.models.limits import adapter_limits
from tuneplug.options import OptionError
from tuneplug.testing.contract_complete import CompletionTests
from tuneplug.testing.guard import no_network
from tuneplug.types import AdapterLimits, Capability, FineTuneResult, ModelKind

__all__ = ["FineTunableContract"]


class FineTunableContract(CompletionTests):
    """The suite of a provider that completes and trains adapters.

    Besides every completion test: create an adapter, fine-tune it (sync and
    async; trainable tokens > 0, finite loss, ``loss == sum_loss /
    trainable_tokens``), complete with it, delete it, and argument and sample
    validation before any I/O, the adapter limits it declares (optional
    ``tuneplug_adapter_limits``) held before any I/O and its highest rank taken.
    A provider that implements the optional ``tuneplug_copy_adapter`` must copy an
    adapter into an independent adapter (the local job runner's checkpoint models);
    one that does not has that test skipped, saying so.

    Optional class attributes (defaults in brackets):
        adapter_name: the name of every adapter the suite creates; fixed, so
            cassettes replay [``"tuneplug-contract-adapter"``].
        rank: the rank of every adapter the suite creates (but the limits test's);
            a rank you set is passed as given, ``None`` is the provider's default [8,
            brought within the limits the provider declares (``tuneplug_adapter_limits``):
            4 for ``AdapterLimits(max_rank=4)``, 16 for ``min_rank=16``].
        learning_rate: passed to ``create_adapter`` [1e-4].
        answer: appended to ``prompt`` to make the training sample [" The Dallas Cowboys!"].
        learned_answer: if set, after one step on the sample the adapter's
            completion must start with it (a provider that really learns) [None].
        structured_samples: the provider honours ``trainable: false`` parts [True].
        copy_name: the name of the copy ``tuneplug_copy_adapter`` makes
            [``"tuneplug-contract-copy"``].
    """

    capabilities: ClassVar[frozenset[str]] = frozenset({"complete", "fine_tune"})
    adapter_name: ClassVar[str] = "tuneplug-contract-adapter"
    rank: ClassVar[int | None] = 8
    learning_rate: ClassVar[float | None] = 1e-4
    answer: ClassVar[str] = " The Dallas Cowboys!"
    learned_answer: ClassVar[str | None] = None
    structured_samples: ClassVar[bool] = True
    copy_name: ClassVar[str] = "tuneplug-contract-copy"

    def adapter_rank(self, model: Model) -> int | None:
        """The rank the suite's adapters on ``model`` get: :attr:`rank` as a subclass set
        it, else the default 8 brought within the provider's declared limits (asked
        without I/O), so a provider whose ranks stop below 8 passes without a knob."""
        chosen = self.rank
        mine = [cls for cls in type(self).__mro__ if cls is not FineTunableContract]
        if chosen is None or any("rank" in vars(cls) for cls in mine):
            return chosen
        limits = adapter_limits(model.provider, model.info)
        return min(max(chosen, limits.min_rank), limits.max_rank)

    @property
    def samples(self) -> list[dict[str, Any]]:
        """The training batch: the prompt followed by the answer."""
        return [{"inputs": self.prompt + self.answer}]

    @pytest.fixture
    def adapter(self, model: Model) -> Iterator[Model]:
        """A fresh adapter on the base model, deleted after the test."""
        created = model.create_adapter(
            self.adapter_name, rank=self.adapter_rank(model), learning_rate=self.learning_rate
        )
        try:
            yield created
        finally:
            with contextlib.suppress(NotFoundError, UnknownModelError):
                created.delete()  # unless the test deleted it

    def check_result(self, result: FineTuneResult) -> None:
        """What every fine-tuning step must report."""
        assert isinstance(result, FineTuneResult)
        assert result.trainable_tokens > 0
        assert math.isfinite(result.sum_loss) and result.sum_loss >= 0
        assert result.loss is not None and math.isfinite(result.loss)
        assert result.loss == pytest.approx(result.sum_loss / result.trainable_tokens)

    def test_create_adapter(self, model: Model, adapter: Model) -> None:
        info = adapter.info
        assert info.kind is ModelKind.ADAPTER
        assert info.provider == self.provider
        assert info.base_model_id == model.id
        assert info.name == self.adapter_name
        assert Capability.FINE_TUNE in info.capabilities
        assert tuneplug.get_model(adapter.ref).id == adapter.id
        assert adapter.id in {m.id for m in tuneplug.list_models(self.provider)}
        assert adapter.id not in {m.id for m in tuneplug.list_models(self.provider, base_only=True)}

    def test_fine_tune(self, adapter: Model) -> None:
        self.check_result(adapter.fine_tune(self.samples))

    def test_afine_tune(self, adapter: Model) -> None:
        self.check_result(asyncio.run(adapter.afine_tune(self.samples)))

    def test_structured_sample_counts_only_trainable_parts(self, adapter: Model) -> None:
        if not self.structured_samples:
            pytest.skip("the provider does not support trainable: false parts")
        whole = adapter.fine_tune(self.samples)
        parts = adapter.fine_tune(
            [
                {
                    "inputs": [
                        {"value": self.prompt, "trainable": False},
                        {"value": self.answer.strip()},
                    ],
                    "multiplier": 2.0,
                }
            ]
        )
        self.check_result(parts)
        assert parts.trainable_tokens < whole.trainable_tokens

    def test_complete_after_fine_tune(self, adapter: Model) -> None:
        self.check_result(adapter.fine_tune(self.samples))
        done = adapter.complete(self.prompt, max_tokens=self.max_tokens)
        self.check_completion(done, adapter)
        if self.learned_answer is not None:
            assert done.text.strip().startswith(self.learned_answer.strip())

    def test_delete_adapter(self, model: Model) -> None:
        adapter = model.create_adapter(
            self.adapter_name, rank=self.adapter_rank(model), learning_rate=self.learning_rate
        )
        adapter.delete()
        assert adapter.id not in {m.id for m in tuneplug.list_models(self.provider)}
        with pytest.raises((NotFoundError, UnknownModelError)) as gone:
            adapter.complete(self.prompt, max_tokens=self.max_tokens)
        assert gone.value.provider == self.provider
        with pytest.raises(NotFoundError):
            adapter.delete()

    def test_copy_adapter_is_an_independent_snapshot(self, request: pytest.FixtureRequest) -> None:
        # Asked before the model fixture resolves anything: a skip sends no request.
        if not tuneplug.get_provider(self.provider).has("tuneplug_copy_adapter"):
            pytest.skip(
                "the provider does not implement tuneplug_copy_adapter (optional): "
                "its jobs' checkpoints before the last have no model"
            )
        model: Model = request.getfixturevalue("model")
        adapter = model.create_adapter(
            self.adapter_name, rank=self.adapter_rank(model), learning_rate=self.learning_rate
        )
        try:
            self._check_copy(model, adapter)
        finally:
            with contextlib.suppress(NotFoundError, UnknownModelError):
                adapter.delete()

    def _check_copy(self, model: Model, adapter: Model) -> None:
        provider = adapter.provider
        self.check_result(adapter.fine_tune(self.samples))
        made = provider.call("tuneplug_copy_adapter", model=adapter.info, name=self.copy_name)
        copy = tuneplug.get_model(f"{self.provider}/{made.id}")
        try:
            info = copy.info
            assert info.kind is ModelKind.ADAPTER and info.id != adapter.id
            assert (info.provider, info.base_model_id) == (self.provider, model.id)
            assert info.name == self.copy_name
            assert copy.id in {m.id for m in tuneplug.list_models(self.provider)}
            asked = {"max_tokens": self.max_tokens, "temperature": 0.0}
            at_copy = copy.complete(self.prompt, **asked)
            self.check_completion(at_copy, copy)
            assert at_copy.text == adapter.complete(self.prompt, **asked).text  # the same weights
            for _ in range(3):
                adapter.fine_tune(self.samples)
            assert copy.complete(self.prompt, **asked).text == at_copy.text  # untouched by them
            self.check_result(copy.fine_tune(self.samples))  # trainable on its own
        finally:
            copy.delete()
        assert copy.id not in {m.id for m in tuneplug.list_models(self.provider)}
        adapter.complete(self.prompt, max_tokens=self.max_tokens)  # the source lives on
        gone = adapter.info.model_copy(update={"id": f"{adapter.id}-missing"})
        with pytest.raises((NotFoundError, UnknownModelError)):
            provider.call("tuneplug_copy_adapter", model=gone, name=self.copy_name)

    def test_adapter_arguments_are_validated_before_io(self, model: Model) -> None:
        with no_network():
            good = self.adapter_rank(model)  # so the learning rate is what is refused
            for name, rank, learning_rate in (("", None, None), ("x", 0, None), ("x", good, 1.5)):
                with pytest.raises(InvalidRequestError) as refused:
                    model.create_adapter(name, rank=rank, learning_rate=learning_rate)
                assert refused.value.provider == self.provider
            with pytest.raises(InvalidRequestError):
                model.delete()  # a base model is not an adapter

    def test_adapter_limits_hold_and_are_checked_before_io(self, model: Model) -> None:
        """The limits ``tuneplug_adapter_limits`` declares (optional: rank 1..32 without
        it) are asked without I/O; a rank outside them is refused before any I/O, naming
        ``rank`` and the provider; and ``tuneplug_create_adapter`` takes the highest."""
        with no_network():
            limits = adapter_limits(model.provider, model.info)
            assert isinstance(limits, AdapterLimits)
            shown = f"{limits.min_rank}..{limits.max_rank}"
            for rank in (limits.min_rank - 1, limits.max_rank + 1):
                with pytest.raises(OptionError) as refused:
                    model.create_adapter(self.adapter_name, rank=rank)
                assert refused.value.option == "rank" and shown in str(refused.value)
                assert refused.value.provider == self.provider
                assert repr(self.provider) in str(refused.value)
        highest = model.create_adapter(
            self.adapter_name, rank=limits.max_rank, learning_rate=self.learning_rate
        )
        try:
            assert highest.info.kind is ModelKind.ADAPTER
        finally:
            highest.delete()

    def test_samples_are_validated_before_io(self, adapter: Model) -> None:
        batches: tuple[list[Any], ...] = (
            [],
            [{"inputs": ""}],
            [{"inputs": "x", "multiplier": 0}],
            [{}],
        )
        with no_network():
            for bad in batches:
                with pytest.raises(InvalidRequestError) as refused:
                    adapter.fine_tune(bad)
                assert refused.value.provider == self.provider

"""No library deprecation notice reaches stderr from a call tuneplug makes (docs/cli.md:
stderr holds ``warning:``/``note:`` lines only).

transformers 5.24 renamed the KV cache's keyword and output field (``past_key_values`` to
``cache``) and deprecated ``is_gradient_checkpointing``, which PEFT reads when it wraps a
model: every ``complete`` and job printed two ``FutureWarning`` s. The project pins 5.23, so
the 5.24 behaviour is reproduced here on the tiny model (its forward taking ``cache``, the
property warning) besides checking the pinned version stays quiet.
"""

from __future__ import annotations

import types
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
import tuneplug
from tuneplug.models import Model

from tests.transformers.kit import PROMPT, SEED_SAMPLE, configure

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from tuneplug_transformers import deprecations  # noqa: E402 - needs torch


@pytest.fixture
def base(tuneplug_home: Any) -> Model:
    configure(tuneplug_home)
    return tuneplug.get_model("transformers/tiny")


def _notices(caught: list[warnings.WarningMessage]) -> list[str]:
    # Every category, not only deprecations: any raw warning lands on the user's stderr.
    return [f"{w.filename}:{w.lineno}: {w.category.__name__}: {w.message}" for w in caught]


def _every_call(base: Model, tuneplug_home: Any) -> None:
    """Completion, stream, chat, an adapter made and trained (PEFT wraps the model), that
    adapter loaded afresh (PEFT loads it), a job, and the adapter PEFT has active deleted
    (PEFT warns when it deletes its active adapter; a job's pruned checkpoints are such
    deletes)."""
    base.complete(PROMPT, max_tokens=3)
    list(base.stream(PROMPT, max_tokens=3))
    base.chat([{"role": "user", "content": "hi"}], max_tokens=3)
    adapter = base.create_adapter("quiet", learning_rate=1e-3)
    adapter.fine_tune([SEED_SAMPLE])
    tuneplug_home.reset_providers()  # the next use loads the stored version through PEFT
    tuneplug.get_model(adapter.ref).complete(PROMPT, max_tokens=3)
    job = base.start_fine_tune([SEED_SAMPLE], n_epochs=1)
    assert job.wait(timeout=120).status.value == "succeeded"
    other = base.create_adapter("quiet-2", learning_rate=1e-3)
    other.fine_tune([SEED_SAMPLE])  # the adapter PEFT has active
    other.delete()
    tuneplug.get_model(adapter.ref).complete(PROMPT, max_tokens=3)  # the other one still runs


def test_the_pinned_libraries_print_no_notice_for_any_call(
    base: Model, tuneplug_home: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _every_call(base, tuneplug_home)
    assert _notices(caught) == []
    assert "deprecated" not in capfd.readouterr().err  # transformers' own log lines too


@pytest.fixture
def transformers_5_24(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tiny Llama as transformers 5.24 has it: ``forward(cache=...)`` returning
    ``.cache``, the old keyword a ``FutureWarning``; ``is_gradient_checkpointing`` too."""
    llama = transformers.LlamaForCausalLM
    original = llama.forward

    def forward(self: Any, *args: Any, cache: Any = None, **kwargs: Any) -> Any:
        if "past_key_values" in kwargs:
            message = "`past_key_values` is deprecated: use `cache`"
            warnings.warn(message, FutureWarning, stacklevel=2)
            cache = kwargs.pop("past_key_values")
        out = original(self, *args, past_key_values=cache, **kwargs)
        return types.SimpleNamespace(logits=out.logits, loss=out.loss, cache=out.past_key_values)

    def checkpointing(self: Any) -> bool:
        message = "`is_gradient_checkpointing` is deprecated and will be removed in v6."
        warnings.warn(message, FutureWarning, stacklevel=2)
        return bool(self.is_activation_checkpointing)

    monkeypatch.setattr(llama, "forward", forward)
    monkeypatch.setattr(transformers.PreTrainedModel, "is_gradient_checkpointing",
                        property(checkpointing))  # fmt: skip
    deprecations._kv_names.clear()  # the class's forward changed
    yield
    deprecations._kv_names.clear()


def test_under_5_24_the_calls_use_the_new_names_and_peft_is_quiet(
    transformers_5_24: None, base: Model, tuneplug_home: Any
) -> None:
    filters = list(warnings.filters)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _every_call(base, tuneplug_home)
    assert _notices(caught) == []
    assert warnings.filters == filters


def test_peft_is_quieted_only_around_tuneplugs_own_calls(
    transformers_5_24: None, base: Model
) -> None:
    base.create_adapter("quiet", learning_rate=1e-3)  # PEFT wraps the model, quietly
    small = transformers.LlamaConfig(
        vocab_size=16, hidden_size=8, intermediate_size=8, num_hidden_layers=1,
        num_attention_heads=1, num_key_value_heads=1,
    )  # fmt: skip
    users_model = transformers.LlamaForCausalLM(small)
    with warnings.catch_warnings(record=True) as caught:
        # Appended: a filter tuneplug's call had left behind would come first and win.
        warnings.filterwarnings("always", category=FutureWarning, append=True)
        assert users_model.is_gradient_checkpointing is False  # the user's own access
        with deprecations.quiet_peft():
            # Not PEFT's notice: it shows.
            warnings.warn("`something_else` is deprecated", FutureWarning, stacklevel=1)
    assert [str(w.message) for w in caught] == [
        "`is_gradient_checkpointing` is deprecated and will be removed in v6.",
        "`something_else` is deprecated",
    ]


@pytest.mark.parametrize(
    ("keyword", "name"), [("cache", "cache"), ("past_key_values", "past_key_values")]
)
def test_the_kv_cache_name_is_the_one_forward_takes(keyword: str, name: str) -> None:
    namespace: dict[str, Any] = {}
    exec(f"def forward(self, input_ids=None, {keyword}=None, use_cache=None): ...", namespace)
    model_class = type("Model", (), {"forward": namespace["forward"]})
    assert deprecations.kv_cache_name(model_class()) == name

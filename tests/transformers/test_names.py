"""``transformers/<name>`` when adapters share a name, or the name is a slip for one:
an error naming the adapters, before any hub lookup (user report p9 #3, user7 #3)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError, UnknownModelError
from tuneplug.models import Model
from tuneplug.types import ModelInfo

from tests.transformers.kit import LEARNING_RATE, SEED_SAMPLE, configure, tiny_model_dir

torch = pytest.importorskip("torch")


@pytest.fixture
def base(tuneplug_home: Any) -> Model:
    configure(tuneplug_home)
    # Not offline: the old code answered these names with a hub model, and a hub
    # lookup must not be what stops them now.
    tuneplug_home.set_env({"HF_HUB_OFFLINE": "0"})
    return tuneplug.get_model("transformers/tiny")


def _check_shared(name: str, adapters: list[Model | ModelInfo]) -> None:
    """``get_model`` of ``name`` refuses, naming every adapter's id (oldest first, ties
    of one second by id: the order is the store's, so compared as a set)."""
    with pytest.raises(InvalidRequestError) as shared:
        tuneplug.get_model(f"transformers/{name}")
    said = re.fullmatch(
        rf"transformers: {len(adapters)} adapters are named {re.escape(repr(name))} "
        r"\(([^)]*)\): use an id",
        str(shared.value),
    )
    assert said is not None, str(shared.value)
    assert sorted(said.group(1).split(", ")) == sorted(a.id for a in adapters)


def test_a_name_two_adapters_share_names_both_ids(base: Model) -> None:
    first = base.create_adapter("tiny-seed", learning_rate=LEARNING_RATE)
    assert tuneplug.get_model("transformers/tiny-seed").id == first.id
    second = base.create_adapter("tiny-seed", learning_rate=LEARNING_RATE)
    _check_shared("tiny-seed", [first, second])
    # Each id still names its own adapter, and a third adapter joins the list.
    assert tuneplug.get_model(first.ref).id == first.id
    assert tuneplug.get_model(second.ref).id == second.id
    third = base.create_adapter("tiny-seed")
    _check_shared("tiny-seed", [first, second, third])
    second.delete()
    third.delete()
    assert tuneplug.get_model("transformers/tiny-seed").id == first.id


def test_a_copy_under_its_sources_name_makes_the_name_shared(base: Model) -> None:
    from tuneplug_transformers.plugin import runtime_of

    source = base.create_adapter("kept", learning_rate=LEARNING_RATE)
    copy = runtime_of(source.provider.ctx).copy_adapter(source.info, "kept")
    _check_shared("kept", [source, copy])


def test_two_jobs_with_one_suffix_make_the_name_shared(base: Model) -> None:
    jobs = [base.start_fine_tune([SEED_SAMPLE], suffix="tj", n_epochs=1) for _ in range(2)]
    ids = [job.wait().fine_tuned_model.split("/", 1)[1] for job in jobs]
    with pytest.raises(InvalidRequestError, match="2 adapters are named 'tj'") as shared:
        tuneplug.get_model("transformers/tj")
    assert all(adapter_id in str(shared.value) for adapter_id in ids)


def test_a_slip_for_an_adapters_name_says_which_before_any_hub_lookup(base: Model) -> None:
    base.create_adapter("tiny-seed")
    with pytest.raises(
        UnknownModelError,
        match=re.escape("no adapter named 'tiny-sed' (did you mean 'tiny-seed'?)"),
    ) as slip:
        tuneplug.get_model("transformers/tiny-sed")
    assert "hf download tiny-sed" in str(slip.value)
    with pytest.raises(UnknownModelError, match="did you mean 'tiny-seed'"):
        tuneplug.get_model("transformers/tiny-seeed")


def test_a_slip_in_case_is_a_slip_and_names_stay_case_sensitive(base: Model) -> None:
    # user8 N4: `TJ` for `tj` scored 0 case-sensitively and cost 49 s of hub retries.
    tj = base.create_adapter("tj")
    with pytest.raises(
        UnknownModelError, match=re.escape("no adapter named 'TJ' (did you mean 'tj'?)")
    ):
        tuneplug.get_model("transformers/TJ")
    # A slip in letters and case at once is compared case-folded too.
    base.create_adapter("tiny-seed")
    with pytest.raises(UnknownModelError, match=re.escape("did you mean 'tiny-seed'?")):
        tuneplug.get_model("transformers/TINY-SED")
    # Equal but for case is the likeliest meant, ahead of a closer spelling.
    base.create_adapter("Tiny-Seeds")
    base.create_adapter("tiny-seeds!")
    with pytest.raises(UnknownModelError, match=re.escape("did you mean 'Tiny-Seeds'?")):
        tuneplug.get_model("transformers/tiny-seeds")
    assert tuneplug.get_model("transformers/tj").id == tj.id


def test_hub_ids_and_directories_are_no_slips(
    base: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base.create_adapter("gpt3")
    base.create_adapter("GPT4")
    base.create_adapter("SmolLM2-135N")
    base.create_adapter("smollm2-135m")
    # Not close enough to an adapter's name in any case, or namespaced (however equal
    # its last part to an adapter's but for case): hub ids as before.
    assert tuneplug.get_model("transformers/gpt2").id == "gpt2"
    namespaced = "HuggingFaceTB/SmolLM2-135M"
    assert tuneplug.get_model(f"transformers/{namespaced}").id == namespaced
    # A directory of the working directory is no slip, however close its name.
    base.create_adapter("tiny-seed")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "tiny-sed").symlink_to(tiny_model_dir())
    assert tuneplug.get_model("transformers/tiny-sed").id == str(tiny_model_dir().resolve())


@pytest.mark.parametrize("hub_id", ["tiny-sed", "Tiny-Seed"])
def test_a_cached_hub_model_close_to_an_adapters_name_is_the_hub_model(
    base: Model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hub_id: str
) -> None:
    from huggingface_hub import constants

    base.create_adapter("tiny-seed")
    # huggingface_hub's cache layout: refs/main names the snapshot holding the files.
    repo = tmp_path / "hub" / f"models--{hub_id}"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text("0" * 40)
    snapshot = repo / "snapshots" / ("0" * 40)
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text("{}")
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    assert tuneplug.get_model(f"transformers/{hub_id}").id == hub_id

"""The seed flow on a real transformer, offline: wrong answer, falling loss, the right answer.

Then what makes it a real fine-tuning provider: the saved adapter loads with plain
PEFT and gives the same logits, training continues in another process from the
stored optimizer state, and a process killed mid-step resumes to exactly the
weights of an uninterrupted run.
"""

from __future__ import annotations

import itertools
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.models import Model
from tuneplug.types import Sample

from tests.transformers.kit import (
    ANSWER,
    LEARNING_RATE,
    PROMPT,
    SEED_SAMPLE,
    configure,
    loaded_base,
)

torch = pytest.importorskip("torch")

EPOCHS = 20


@pytest.fixture
def base(tuneplug_home: Any) -> Model:
    configure(tuneplug_home)
    return tuneplug.get_model("transformers/tiny")


def _adapter_weights(adapter: Model) -> dict[str, Any]:
    from safetensors.torch import load_file

    home = tuneplug.get_model(adapter.ref).provider.ctx.settings.adapters_path()
    return load_file(home / adapter.id / "current" / "adapter_model.safetensors")


def _adapter_dir(adapter: Model) -> Path:
    root: Path = adapter.provider.ctx.settings.adapters_path()
    return root / adapter.id


def test_seed_flow(base: Model) -> None:
    before = base.complete(PROMPT, max_tokens=12).text
    assert not before.strip().startswith(ANSWER)
    adapter = base.create_adapter("my_model_adapter", learning_rate=LEARNING_RATE)
    assert not adapter.complete(PROMPT, max_tokens=12).text.strip().startswith(ANSWER)
    answer = loaded_base(base).tokenizer(" " + ANSWER, add_special_tokens=False)["input_ids"]
    losses = []
    for _ in range(EPOCHS):
        result = adapter.fine_tune([SEED_SAMPLE])
        assert result.trainable_tokens == len(answer) + 1  # the answer and the EOS ending it
        assert result.loss is not None
        losses.append(result.loss)
    assert losses[-1] < losses[0] / 4, losses
    assert sum(b < a for a, b in itertools.pairwise(losses)) >= len(losses) * 2 // 3
    after = adapter.complete(PROMPT, max_tokens=12)
    # The answer and nothing after it: the trained EOS stopped it, not max_tokens.
    assert (after.text, after.finish_reason) == (" " + ANSWER, "stop")
    assert after.usage.completion_tokens == len(answer) + 1  # the EOS it stopped on
    chunks = list(adapter.stream(PROMPT, max_tokens=12))
    assert "".join(c.text for c in chunks) == after.text
    assert chunks[-1].finish_reason == "stop"
    assert not base.complete(PROMPT, max_tokens=12).text.strip().startswith(ANSWER)


def test_saved_adapter_loads_with_plain_peft(base: Model) -> None:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from tuneplug_transformers.plugin import runtime_of

    adapter = base.create_adapter("peft-check", learning_rate=LEARNING_RATE)
    for _ in range(3):
        adapter.fine_tune([SEED_SAMPLE])
    path = _adapter_dir(adapter) / "current"
    assert {"adapter_config.json", "adapter_model.safetensors"} <= {p.name for p in path.iterdir()}

    directory = str(base.provider.ctx.settings.models["tiny"])
    plain = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(directory), str(path))
    plain.eval()
    ids = AutoTokenizer.from_pretrained(directory)(PROMPT, return_tensors="pt")["input_ids"]
    with torch.inference_mode():
        theirs = plain(input_ids=ids).logits

    runtime = runtime_of(adapter.provider.ctx)
    loaded, _ = runtime.base_of(adapter.info)
    with loaded.lock, torch.inference_mode():
        loaded.activate(adapter.id)
        ours = loaded.loaded.model(input_ids=ids).logits
    assert torch.equal(ours, theirs)


_STEPS_SCRIPT = textwrap.dedent(
    """
    import sys
    import tuneplug
    from tuneplug.types import Sample

    adapter = tuneplug.get_model(sys.argv[1])
    sample = Sample.model_validate({sample!r})
    for key in sys.argv[2:]:
        print("step", key, flush=True)
        adapter.provider.call(
            "tuneplug_fine_tune", model=adapter.info, samples=[sample], idempotency_key=key
        )
    print("done", flush=True)
    """
).format(sample=SEED_SAMPLE)


def _run_steps(adapter: Model, keys: list[str]) -> None:
    sample = Sample.model_validate(SEED_SAMPLE)
    fresh = tuneplug.get_model(adapter.ref)  # a new provider instance: nothing in memory
    for key in keys:
        fresh.provider.call(
            "tuneplug_fine_tune", model=fresh.info, samples=[sample], idempotency_key=key
        )


def _steps_taken(adapter: Model) -> int:
    import json

    state = json.loads((_adapter_dir(adapter) / "current" / "training_state.json").read_text())
    return int(state["step"])


# Superseded versions wait in `.trash-*` for the provider's background deleter; they are
# not adapter state, and copying one races with its deletion.
_TRASH = shutil.ignore_patterns(".trash-*")


def _restore(adapter: Model, snapshot: Path, tuneplug_home: Any) -> None:
    tuneplug_home.reset_providers()  # closing the provider waits for its trash deleter
    shutil.rmtree(_adapter_dir(adapter))
    shutil.copytree(snapshot, _adapter_dir(adapter), symlinks=True)
    tuneplug_home.reset_providers()


def test_training_continues_in_a_new_process(
    base: Model, tuneplug_home: Any, tmp_path: Path
) -> None:
    adapter = base.create_adapter("continued", learning_rate=LEARNING_RATE)
    _run_steps(adapter, ["a:1", "a:2", "a:3"])
    snapshot = tmp_path / "after-3"
    shutil.copytree(_adapter_dir(adapter), snapshot, symlinks=True, ignore=_TRASH)

    _run_steps(adapter, ["a:4", "a:5", "a:6"])
    in_process = _adapter_weights(adapter)

    _restore(adapter, snapshot, tuneplug_home)
    subprocess.run(
        [sys.executable, "-c", _STEPS_SCRIPT, adapter.ref, "a:4", "a:5", "a:6"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    elsewhere = _adapter_weights(adapter)
    assert _steps_taken(adapter) == 6
    for name, value in in_process.items():
        torch.testing.assert_close(elsewhere[name], value, rtol=1e-6, atol=1e-7)

    # The stored optimizer state is what made them equal: without it the steps differ.
    _restore(adapter, snapshot, tuneplug_home)
    (_adapter_dir(adapter) / "current" / "optimizer.safetensors").unlink()
    _run_steps(adapter, ["a:4", "a:5", "a:6"])
    amnesiac = _adapter_weights(adapter)
    assert any(not torch.allclose(amnesiac[n], v) for n, v in in_process.items())


def test_kill_9_mid_step_then_resume_equals_an_uninterrupted_run(
    base: Model, tuneplug_home: Any, tmp_path: Path
) -> None:
    adapter = base.create_adapter("killed", learning_rate=LEARNING_RATE)
    snapshot = tmp_path / "fresh"
    shutil.copytree(_adapter_dir(adapter), snapshot, symlinks=True, ignore=_TRASH)
    keys = [f"job:{n}" for n in range(1, 9)]

    child = subprocess.Popen(
        [sys.executable, "-c", _STEPS_SCRIPT, adapter.ref, *keys],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert child.stdout is not None
        deadline = time.monotonic() + 120
        for line in child.stdout:  # wait until step 4 is under way, then kill mid-step
            if line.startswith("step job:4") or time.monotonic() > deadline:
                break
        time.sleep(0.01)
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    killed_at = _steps_taken(adapter)
    assert 3 <= killed_at < len(keys)  # killed during step 4 (or, on a slow machine, soon after)

    _run_steps(adapter, keys)  # the job resumes: every key again, each applied once
    resumed = _adapter_weights(adapter)
    assert _steps_taken(adapter) == len(keys)

    _restore(adapter, snapshot, tuneplug_home)
    _run_steps(adapter, keys)
    uninterrupted = _adapter_weights(adapter)
    assert _steps_taken(adapter) == len(keys)
    for name, value in uninterrupted.items():
        torch.testing.assert_close(resumed[name], value, rtol=1e-6, atol=1e-7)

"""The transformers provider's settings and its import cost: nothing heavy until a model runs."""

from __future__ import annotations

from typing import Any

import pytest
import tuneplug

from tests.fresh_env import modules_after
from tests.transformers.kit import PROMPT, configure

torch = pytest.importorskip("torch")

HEAVY = {"torch", "transformers", "peft", "safetensors", "huggingface_hub"}


def test_listing_and_resolving_import_nothing_heavy(tuneplug_home: Any) -> None:
    directory = configure(tuneplug_home)
    loaded = modules_after(
        "import tuneplug\n"
        "tuneplug.list_models('transformers')\n"
        f"tuneplug.get_model('transformers/{directory}')\n"
        "tuneplug.get_model('transformers/tiny')\n"
    )
    assert not HEAVY & {name.split(".")[0] for name in loaded}


def test_dtype_and_device_settings_are_honoured(tuneplug_home: Any) -> None:
    from tuneplug_transformers.plugin import runtime_of

    configure(tuneplug_home)
    tuneplug_home.set_env(
        {"TUNEPLUG_TRANSFORMERS_DTYPE": "bfloat16", "TUNEPLUG_TRANSFORMERS_DEVICE": "cpu"}
    )
    model = tuneplug.get_model("transformers/tiny")
    done = model.complete(PROMPT, max_tokens=3)
    assert done.usage.completion_tokens == 3
    base, _ = runtime_of(model.provider.ctx).base_of(model.info)
    assert {p.dtype for p in base.loaded.model.parameters()} == {torch.bfloat16}
    assert base.loaded.device == torch.device("cpu")


def test_a_bad_entry_of_the_models_table_names_its_key(tuneplug_home: Any) -> None:
    # A provider's own setting called `models` is no [models] alias table: its bad entry is
    # the key `models.tiny` of [providers.transformers] (config mutation run 5: `_what`).
    from tests.core.cli_runner import invoke

    path = tuneplug_home.write_config("[providers.transformers]\nmodels = { tiny = 5 }\n")
    result = invoke("complete", "-m", "transformers/tiny", "hi")
    assert result.exit_code != 0
    assert result.stderr.strip() == (
        f"error: {path}:2: [providers.transformers] models.tiny: "
        "expected a string, found an integer"
    )

"""A ``device`` the machine lacks, or no device at all, is a ``ConfigError`` naming the
setting where it was set, before any work (user report p9 #5, user7 #5): not torch's
``AssertionError`` (a traceback on the CLI, a 500 from the gateway) nor its
``RuntimeError`` (reported as "a bug in the plugin"). Every case runs on a CPU-only torch;
a machine with some devices but not the one asked for is torch's answers patched."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import tuneplug
from tuneplug.errors import ConfigError

from tests.core.cli_runner import invoke
from tests.transformers.kit import PROMPT, configure, tiny_model_dir

torch = pytest.importorskip("torch")

VARIABLE = "TUNEPLUG_TRANSFORMERS_DEVICE"


def _adapters(tuneplug_home: Any) -> list[Path]:
    root = Path(tuneplug_home.home) / "transformers" / "adapters"
    return sorted(root.iterdir()) if root.is_dir() else []


@pytest.mark.parametrize(
    ("device", "why"),
    [
        ("cuda", "this torch is built without CUDA"),
        ("cuda:7", "this torch is built without CUDA"),
        ("mps", "this torch is built without MPS"),
        ("mps:0", "this torch is built without MPS"),
        ("xpu", "this torch has no XPU device"),
    ],
)
def test_a_device_this_torch_lacks_names_the_variable_before_any_work(
    tuneplug_home: Any, device: str, why: str
) -> None:
    configure(tuneplug_home)
    tuneplug_home.set_env({VARIABLE: device})
    said = re.escape(
        f"device {device!r} is not available on this machine ({why}); check {VARIABLE}"
    )
    model = tuneplug.get_model("transformers/tiny")
    with pytest.raises(ConfigError, match=said):
        model.complete(PROMPT, max_tokens=1)
    with pytest.raises(ConfigError, match=said):
        model.create_adapter("never")
    assert _adapters(tuneplug_home) == []


def test_the_config_file_line_or_the_argument_is_named(tuneplug_home: Any) -> None:
    configure(tuneplug_home)
    config = tuneplug_home.write_config(
        f"[providers.transformers]\nmodels = {{ tiny = {str(tiny_model_dir())!r} }}\n"
        'device = "cuda:1"\n'
    )
    with pytest.raises(
        ConfigError, match=re.escape(f"check device in [providers.transformers] ({config}:3)")
    ):
        tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=1)
    given = tuneplug.get_model("transformers/tiny", settings={"device": "mps"})
    with pytest.raises(ConfigError, match="check device in the settings= argument of get_model"):
        given.complete(PROMPT, max_tokens=1)


@pytest.mark.parametrize(
    ("device", "hint"),
    [("cdua", " (did you mean 'cuda'?)"), ("gpu", " (did you mean 'cuda'?)"), ("meta", ""),
     ("cuda:x", " (did you mean 'cuda'?)"), ("cuda:0\n", " (did you mean 'cuda'?)"), ("  ", "")],
)  # fmt: skip
def test_no_device_at_all_is_a_settings_problem_naming_the_variable(
    tuneplug_home: Any, device: str, hint: str
) -> None:
    configure(tuneplug_home)
    tuneplug_home.set_env({VARIABLE: device})
    with pytest.raises(ConfigError) as refused:
        tuneplug.get_model("transformers/tiny")
    assert str(refused.value).startswith(f"{VARIABLE}: must be 'auto', 'cpu', 'cuda', 'mps' or")
    assert str(refused.value).endswith(f"got {device!r}{hint}")


def test_a_device_index_past_the_machines_devices_says_how_many(
    tuneplug_home: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    configure(tuneplug_home)
    monkeypatch.setattr(torch.backends.cuda, "is_built", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    tuneplug_home.set_env({VARIABLE: "cuda:7"})
    with pytest.raises(
        ConfigError, match=re.escape("this machine has 2 CUDA devices (cuda:0 to cuda:1)")
    ):
        tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=1)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA device is visible"):
        tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=1)
    monkeypatch.setattr(torch.backends.mps, "is_built", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    tuneplug_home.set_env({VARIABLE: "mps"})
    with pytest.raises(ConfigError, match=re.escape("(MPS is not available: it needs macOS")):
        tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=1)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    tuneplug_home.set_env({VARIABLE: "mps:1"})
    with pytest.raises(ConfigError, match=re.escape("this machine has 1 MPS device (mps:0)")):
        tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=1)


@pytest.mark.parametrize("device", ["cuda", "mps", "cdua"])
def test_the_cli_says_one_error_line(tuneplug_home: Any, device: str) -> None:
    configure(tuneplug_home)
    tuneplug_home.set_env({VARIABLE: device})
    result = invoke("complete", "-m", "transformers/tiny", "hi", "--max-tokens", "1")
    assert result.exit_code == 1
    assert result.stdout == ""
    (line,) = result.stderr.splitlines()
    assert line.startswith("error: ") and VARIABLE in line and "bug" not in line

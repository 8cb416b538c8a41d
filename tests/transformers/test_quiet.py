"""No progress bar of transformers' in the user's output, and the user's own settings kept.

``build_tiny_model`` (transformers' "Writing model shards" bar) and loading a model in
the provider ("Loading weights") draw nothing on the terminal: a ``tuneplug complete``
prints the completion and nothing else. Whatever the user had set is as it was after:
transformers' switch, huggingface_hub's (global and per group, the ones a download's bars
obey) and a tqdm hook of their own, with transformers 5.17+'s hook and without it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tuneplug

from tests.transformers.kit import PROMPT, configure

pytest.importorskip("torch")

GROUP = "huggingface_hub.http_get"  # a group a user may switch off on its own


@pytest.fixture
def settings() -> Iterator[Any]:
    """transformers' and huggingface_hub's progress-bar settings, put back after the test."""
    from transformers.utils import logging as hf_logging

    # The module, not the tqdm class huggingface_hub.utils exports under its name.
    hub_tqdm = importlib.import_module("huggingface_hub.utils.tqdm")

    was_on = hf_logging.is_progress_bar_enabled()
    hub_states = dict(hub_tqdm.progress_bar_states)
    set_hook = hf_logging.set_tqdm_hook  # a test may take it away (an older transformers)
    hook = set_hook(None)
    set_hook(hook)
    yield hf_logging
    set_hook(hook)
    (hf_logging.enable_progress_bar if was_on else hf_logging.disable_progress_bar)()
    hub_tqdm.progress_bar_states.clear()
    hub_tqdm.progress_bar_states.update(hub_states)


def _a_bar_draws(hf_logging: Any, capfd: pytest.CaptureFixture[str]) -> bool:
    capfd.readouterr()
    for _ in hf_logging.tqdm(range(2), desc="the user's own bar"):
        pass
    return "the user's own bar" in capfd.readouterr().err


def _user_hook(seen: list[dict[str, Any]]) -> Callable[..., Any]:
    def hook(factory: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        seen.append(kwargs)
        return factory(*args, **kwargs)

    return hook


def test_building_the_tiny_model_draws_no_bar_and_keeps_the_users_settings(
    settings: Any, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars
    from tuneplug_transformers.tiny import build_tiny_model

    seen: list[dict[str, Any]] = []
    hook = _user_hook(seen)
    settings.set_tqdm_hook(hook)
    disable_progress_bars(GROUP)
    capfd.readouterr()
    build_tiny_model(tmp_path / "tiny")
    assert capfd.readouterr() == ("", "")
    # The user's hook saw the bar, told to stay quiet, and is theirs again after.
    assert seen and all(kwargs["disable"] is True for kwargs in seen)
    assert settings.set_tqdm_hook(hook) is hook
    assert are_progress_bars_disabled(GROUP) and not are_progress_bars_disabled()
    assert settings.is_progress_bar_enabled() and _a_bar_draws(settings, capfd)


def test_without_transformers_hook_the_switch_is_put_back(
    settings: Any,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars
    from tuneplug_transformers.tiny import build_tiny_model

    monkeypatch.delattr(settings, "set_tqdm_hook")  # transformers before 5.17
    for hub_off in (False, True):
        settings.enable_progress_bar()
        if hub_off:  # the user turned huggingface_hub's bars off, not transformers'
            disable_progress_bars()
        capfd.readouterr()
        build_tiny_model(tmp_path / f"tiny-{hub_off}")
        assert capfd.readouterr() == ("", ""), hub_off
        assert settings.is_progress_bar_enabled() and _a_bar_draws(settings, capfd)
        assert are_progress_bars_disabled() is hub_off
    settings.disable_progress_bar()
    build_tiny_model(tmp_path / "tiny-off")
    assert not settings.is_progress_bar_enabled()


def test_loading_a_model_draws_no_bar_and_keeps_the_users_settings(
    settings: Any, tuneplug_home: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from huggingface_hub.utils import are_progress_bars_disabled, disable_progress_bars

    configure(tuneplug_home)
    disable_progress_bars(GROUP)
    capfd.readouterr()
    done = tuneplug.get_model("transformers/tiny").complete(PROMPT, max_tokens=2)
    assert done.usage.completion_tokens == 2  # it loaded and ran
    assert capfd.readouterr() == ("", "")
    assert are_progress_bars_disabled(GROUP) and not are_progress_bars_disabled()
    assert settings.is_progress_bar_enabled() and _a_bar_draws(settings, capfd)


def test_tuneplug_complete_on_a_directory_prints_only_the_completion(
    settings: Any, tuneplug_home: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    from tuneplug.cli.app import cli
    from tuneplug_transformers.tiny import build_tiny_model

    configure(tuneplug_home)
    build_tiny_model("tiny")  # the README's way: ./tiny, named transformers/./tiny
    capfd.readouterr()
    cli(["complete", "-m", "transformers/./tiny", "hello", "--max-tokens", "4"],
        prog_name="tuneplug", standalone_mode=False)  # fmt: skip
    out, err = capfd.readouterr()
    expected = tuneplug.get_model("transformers/./tiny").complete("hello", max_tokens=4).text
    assert (out, err) == (expected + "\n", "")

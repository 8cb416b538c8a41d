"""tuneplug-echoes' own tests: tuneplug's contract suite, then what is specific to echoes."""

from __future__ import annotations

import pytest
import tuneplug
from tuneplug.errors import InvalidRequestError
from tuneplug.testing.contract import CompleterContract


class TestParrotContract(CompleterContract):
    """The contract every Completer provider passes, on the parrot model."""

    provider = "echoes"
    base_model = "parrot"
    provider_options = {"repeat": 2}  # noqa: RUF012 - read-only class configuration


class TestReverseContract(CompleterContract):
    """The same contract on the second model (found by its display name)."""

    provider = "echoes"
    base_model = "Reverse"


def test_reverse(tuneplug_home: object) -> None:
    assert tuneplug.get_model("echoes/reverse").complete("one two three").text == "three two one"


def test_repeat_and_max_tokens(tuneplug_home: object) -> None:
    done = tuneplug.get_model("echoes/parrot").complete("a b", repeat=3, max_tokens=5)
    assert (done.text, done.finish_reason) == ("a b a b a", "length")
    with pytest.raises(InvalidRequestError, match="repeat must be"):
        tuneplug.get_model("echoes/parrot").complete("a b", repeat=9)


def test_prefix_setting(tuneplug_home, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("ECHOES_PREFIX", "Echo:")
    assert tuneplug.get_model("echoes/parrot").complete("hi").text == "Echo: hi"
    monkeypatch.delenv("ECHOES_PREFIX")
    tuneplug_home.write_config('[providers.echoes]\nprefix = "From config:"\n')
    assert tuneplug.get_model("echoes/parrot").complete("hi").text == "From config: hi"


def test_scripted_model_stands_in_for_echoes_in_app_tests(scripted_model) -> None:  # type: ignore[no-untyped-def]
    # How an application that uses echoes would test itself without it.
    scripted_model.respond("scripted")
    assert tuneplug.get_model().complete("hi").text == "scripted"

"""One style for every option description `tuneplug models MODEL --options` shows, the
core's and every installed plugin's (mock, gradient, openai, transformers) alike: a
sentence, capital first, full stop last ("Most tokens to generate."), never a fragment
("penalise tokens already present")."""

from __future__ import annotations

import re
from importlib.metadata import entry_points
from typing import Any

import pytest
from tuneplug.options import _ADAPTER_COMMON, COMMON_OPTIONS, declared_options
from tuneplug.types import CompletionOptions, ModelInfo

PURPOSES = ("complete", "create_adapter")
_SENTENCE = re.compile(r"^[^a-z\s].*[.)]$", re.DOTALL)
"""Not starting with a lowercase letter or a space; ending with a full stop (one after a
closing parenthesis ends the sentence too: `... (completions: at most 5).`)."""


def _wording_problem(text: str) -> str | None:
    if not text:
        return "no description"
    if text != text.strip():
        return "leading or trailing whitespace"
    if not _SENTENCE.match(text) or not text.endswith("."):
        return "not a sentence: capital first, full stop last"
    return None


def _installed() -> list[str]:
    return sorted(e.name for e in entry_points(group="tuneplug"))


def test_every_plugin_the_suite_knows_is_installed() -> None:
    # The wording check below covers what is installed: the four of this repository.
    assert {"mock", "gradient", "openai", "transformers"} <= set(_installed())


def _descriptions(provider: str) -> list[tuple[str, str, str]]:
    from tuneplug.config import load_config
    from tuneplug.models import _registry

    config = load_config()
    loaded = _registry(config).provider(provider, config=config)
    model = ModelInfo(id="any", provider=provider, name="any")
    found = []
    for purpose in PURPOSES:
        declared = declared_options(loaded, model, purpose).model
        for name, info in declared.model_fields.items() if declared else ():
            found.append((purpose, name, info.description or ""))
    return found


@pytest.fixture
def configured(monkeypatch: pytest.MonkeyPatch, tuneplug_home: Any) -> None:
    # Credentials so every provider loads; declaring options does no I/O.
    monkeypatch.setenv("GRADIENT_ACCESS_TOKEN", "test-token")
    monkeypatch.setenv("GRADIENT_WORKSPACE_ID", "test-workspace")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


@pytest.mark.parametrize("provider", _installed())
def test_every_plugin_option_description_is_a_sentence(configured: None, provider: str) -> None:
    bad = [
        f"{provider} {purpose} {name}: {problem}: {text!r}"
        for purpose, name, text in _descriptions(provider)
        if (problem := _wording_problem(text)) is not None
    ]
    assert not bad, "\n".join(bad)
    if provider in ("openai", "gradient", "transformers"):  # each declares its own
        assert _descriptions(provider)


def test_the_core_option_descriptions_are_sentences() -> None:
    fields = CompletionOptions.model_fields
    texts = {name: fields[name].description or "" for name in COMMON_OPTIONS}
    texts.update({name: text.format(limits="1..32") for name, (_, text) in _ADAPTER_COMMON.items()})
    bad = {name: text for name, text in texts.items() if _wording_problem(text) is not None}
    assert not bad


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Most tokens to generate.", None),
        ('Chat only: {"type": "json_object"}.', None),
        ("penalise tokens already present", "not a sentence: capital first, full stop last"),
        ("Penalise tokens already present", "not a sentence: capital first, full stop last"),
        ("penalise tokens already present.", "not a sentence: capital first, full stop last"),
        (" Leading space.", "leading or trailing whitespace"),
        ("", "no description"),
    ],
)
def test_the_rule_itself(text: str, problem: str | None) -> None:
    assert _wording_problem(text) == problem

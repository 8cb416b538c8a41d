"""Every error class the docs tell users to catch is importable from ``tuneplug``.

A class named only at a module nobody documents (``tuneplug.options.OptionError`` was)
cannot be caught by a user who follows the docs.
"""

from __future__ import annotations

import builtins
import re
from pathlib import Path

import pytest
import tuneplug
import tuneplug.errors
import tuneplug.testing

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *ROOT.glob("docs/*.md"), *ROOT.glob("plugins/*/README.md")])
# Error classes of other libraries and of servers' wire formats the docs mention.
FOREIGN = {
    "PluginValidationError": "pluggy",
    "ClientError": "aiohttp",
    "ClientConnectorError": "aiohttp",
    "ConnectError": "httpx",
    "DecodingError": "httpx",
}
# The test kit's own, importable from where the testing docs say.
TEST_KIT = {"ScriptExhaustedError", "ModelRequestBlockedError"}
_NAMED = re.compile(r"`(?:(\w+)\.)?([A-Z]\w*Error)\b")


def _documented() -> dict[str, str]:
    found: dict[str, str] = {}
    for doc in DOCS:
        for owner, name in _NAMED.findall(doc.read_text(encoding="utf-8")):
            if owner in ("", "tuneplug"):
                found.setdefault(name, doc.name)
    return found


DOCUMENTED = _documented()


def test_the_docs_name_the_errors_users_catch() -> None:
    # The walk finds what it must: a regression here would make the test below vacuous.
    assert {"OptionError", "UnknownModelError", "PluginError", "InputFileError"} <= set(DOCUMENTED)


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_every_documented_error_is_importable(name: str) -> None:
    if hasattr(builtins, name) and not hasattr(tuneplug.errors, name):
        return  # Python's own (ValueError, OSError)
    if name in FOREIGN:
        assert not hasattr(tuneplug, name), f"{name} is tuneplug's, not {FOREIGN[name]}'s"
        return
    if name in TEST_KIT:
        assert issubclass(getattr(tuneplug.testing, name), BaseException)
        return
    cls = getattr(tuneplug, name, None)
    assert cls is not None, f"{DOCUMENTED[name]} names {name}: `from tuneplug import {name}`"
    assert issubclass(cls, tuneplug.TuneplugError)
    assert name in tuneplug.__all__


def test_option_error_is_one_class_wherever_imported() -> None:
    import tuneplug.options

    assert tuneplug.OptionError is tuneplug.errors.OptionError is tuneplug.options.OptionError
    assert issubclass(tuneplug.OptionError, tuneplug.InvalidRequestError)

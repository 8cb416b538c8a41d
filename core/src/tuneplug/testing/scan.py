"""Scan cassettes for anything that looks like a credential.

:func:`assert_no_secrets` is the one-line test a project with cassettes should
have; :func:`scan_cassettes` returns the findings (shown masked, never whole).
"""

from __future__ import annotations

import importlib
import json
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tuneplug.secret_forms import MIN_SECRET_LENGTH, secret_pattern
from tuneplug.testing.cassettes import COMMON_SECRET_HEADERS, SECRET_QUERY_PARAMETERS
from tuneplug.testing.known_secrets import known_secrets

__all__ = ["SecretFinding", "assert_no_secrets", "scan_cassettes"]


_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(pattern))
    for kind, pattern in (
        ("bearer token", r"Bearer\s+(?!<)[A-Za-z0-9._~+/=-]{8,}"),
        ("basic credentials", r"Basic\s+(?!<)[A-Za-z0-9+/=]{12,}"),
        ("sk- API key", r"\bsk-[A-Za-z0-9_-]{16,}"),
        ("AWS access key", r"\bAKIA[0-9A-Z]{16}\b"),
        ("GitHub token", r"\bgh[pousr]_[A-Za-z0-9]{30,}"),
        ("Slack token", r"\bxox[abprs]-[A-Za-z0-9-]{10,}"),
        ("Google API key", r"\bAIza[0-9A-Za-z_-]{35}"),
        ("JSON web token", r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
        (
            "credential in a URL",
            # The one list the recorder scrubs; longest first, so `sig` never cuts `signature`.
            r"(?i)[?&](?:"
            + "|".join(re.escape(n) for n in sorted(SECRET_QUERY_PARAMETERS, key=len, reverse=True))
            + r")=(?!%3C|<)[^&\s'\"]{6,}",
        ),
    )
)
_PLACEHOLDER_VALUE = re.compile(r"^(?:(?:Bearer|Basic|Token)\s+)?(?:<[^<>\s]+>|\*+|REDACTED)?$")
_CASSETTE_SUFFIXES = (".yaml", ".yml", ".json")
_KNOWN = "known secret value"


@dataclass(frozen=True)
class SecretFinding:
    """Something in a cassette that looks like a credential (shown masked)."""

    path: Path
    line: int
    kind: str
    excerpt: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.kind}: {self.excerpt}"


_SHOWN = 6  # leading characters of a finding shown, so it can be told from its neighbours


def _mask(value: str) -> str:
    # The start is shown only when it is at most half the value: a 7-character token
    # shown as 6 of its characters would be as good as shown.
    value = value.strip()
    return f"{value[:_SHOWN]}... ({len(value)} characters)" if len(value) >= 2 * _SHOWN else "***"


def _line_of(text: str, needle: str, start: int = 0) -> tuple[int, int]:
    """The line ``needle`` starts on at or after ``start``, and where the search may go
    on for its next occurrence; line 1 if it cannot be found (an escaped value)."""
    # YAML folds a long value with blanks over lines: its longest word is then looked for.
    for part in (needle, max(needle.split(), key=len, default=needle)):
        index = text.find(part, start)
        if index >= 0:
            return text.count("\n", 0, index) + 1, index + len(part)
    return (_line_of(text, needle)[0], start) if start else (1, 0)


def _interactions(path: Path, text: str) -> list[dict[str, Any]]:
    try:
        if path.suffix == ".json":
            data = json.loads(text)
        else:
            # Imported by name: vcrpy brings PyYAML, whose type stubs may be absent.
            data = importlib.import_module("yaml").safe_load(text)
    except Exception:  # not a cassette we can parse: the text patterns still apply
        return []
    found = data.get("interactions") if isinstance(data, dict) else None
    return [i for i in found or [] if isinstance(i, dict)]


def _header_findings(path: Path, text: str, headers: frozenset[str]) -> Iterator[SecretFinding]:
    # Parsed YAML has no positions. Interactions, their sides and headers come in file
    # order, so each finding is looked for after the previous one: the header's name,
    # then its value (a body earlier in the text may hold the same value).
    cursor = 0
    for interaction in _interactions(path, text):
        for side in ("request", "response"):
            recorded = (interaction.get(side) or {}).get("headers") or {}
            for name, value in recorded.items():
                if str(name).lower() not in headers:
                    continue
                for item in value if isinstance(value, list) else [value]:
                    item = str(item)
                    if not _PLACEHOLDER_VALUE.match(item.strip()):
                        named = text.find(str(name), cursor)
                        line, cursor = _line_of(text, item, named if named >= 0 else cursor)
                        yield SecretFinding(path, line, f"{side} header {name}", _mask(item))


def _strings(data: Any) -> Iterator[str]:
    if isinstance(data, str):
        yield data
    elif isinstance(data, bytes):
        yield data.decode("utf-8", "replace")
    elif isinstance(data, dict):
        for value in data.values():
            yield from _strings(value)
    elif isinstance(data, list):
        for value in data:
            yield from _strings(value)


def _literal_findings(path: Path, text: str, literals: list[str]) -> Iterator[SecretFinding]:
    """One finding per known secret in the file, in whatever form it was recorded."""
    pattern = secret_pattern(literals)
    if pattern is None:
        return
    seen: set[str] = set()
    for match in pattern.finditer(text):
        form = match.group(0)
        if form not in seen:
            seen.add(form)
            yield SecretFinding(path, text.count("\n", 0, match.start()) + 1, _KNOWN, "***")
    if seen:
        return
    # YAML may fold a long value over lines or escape its characters: the parsed
    # strings hold it as recorded.
    for value in _strings(_interactions(path, text)):
        hit = pattern.search(value)
        if hit:  # placed by the value found, not by the first one looked for
            yield SecretFinding(path, _line_of(text, hit.group(0))[0], _KNOWN, "***")
            return


def scan_cassettes(
    directory: str | os.PathLike[str],
    *,
    secrets: Iterable[str] | None = None,
    headers: Iterable[str] = (),
) -> list[SecretFinding]:
    """Find credential-looking content in the cassettes under ``directory`` (recursively).

    Looks for: credential headers (common ones, those installed providers declare,
    the names of configured secret headers, and ``headers``) whose value is not a
    placeholder such as ``<REDACTED>``; well-known token formats (bearer tokens,
    ``sk-...``, AWS, GitHub, Slack, Google keys, JWTs, keys in URLs); and the
    literal ``secrets`` — by default every secret of every provider's settings as
    they are when the scan runs, the same values the recorder scrubs
    (:mod:`tuneplug.testing.known_secrets`) — in every form the recorder scrubs
    (raw, percent- or form-encoded, JSON-escaped, Basic auth:
    :mod:`tuneplug.secret_forms`).
    """
    known = known_secrets()
    watched = frozenset([*COMMON_SECRET_HEADERS, *known.headers, *(h.lower() for h in headers)])
    literals = [
        s for s in (known.values if secrets is None else secrets) if len(s) >= MIN_SECRET_LENGTH
    ]
    findings: list[SecretFinding] = []
    root = Path(directory)
    for path in sorted(p for p in root.rglob("*") if p.suffix in _CASSETTE_SUFFIXES):
        text = path.read_text(encoding="utf-8", errors="replace")
        for kind, pattern in _PATTERNS:
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                findings.append(SecretFinding(path, line, kind, _mask(match.group(0))))
        findings.extend(_header_findings(path, text, watched))
        findings.extend(_literal_findings(path, text, literals))
    return findings


def assert_no_secrets(
    directory: str | os.PathLike[str],
    *,
    secrets: Iterable[str] | None = None,
    headers: Iterable[str] = (),
    require_cassettes: bool = True,
) -> None:
    """Fail (``AssertionError``) if :func:`scan_cassettes` finds anything.

    With ``require_cassettes`` an empty or missing directory fails too, so a
    mistyped path cannot make the check pass vacuously.
    """
    root = Path(directory)
    if require_cassettes and not any(
        p.suffix in _CASSETTE_SUFFIXES for p in (root.rglob("*") if root.is_dir() else [])
    ):
        raise AssertionError(f"no cassettes under {root}")
    findings = scan_cassettes(root, secrets=secrets, headers=headers)
    if findings:
        listed = "\n".join(f"  {f}" for f in findings)
        raise AssertionError(f"{len(findings)} secret-looking value(s) in cassettes:\n{listed}")

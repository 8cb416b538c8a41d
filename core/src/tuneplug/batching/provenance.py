"""What made the lines of a ``tuneplug batch`` output: ``OUT.settings.json`` beside it.

A rerun into an existing output keeps the lines already there and sends only the
other inputs. That is right only if the rerun would have made those lines too: a
rerun naming another model (or an alias that now resolves elsewhere), other
completion options, or another input file would leave one file mixing two runs,
and nothing in it would say so. OpenAI's Batch API rules this out by construction
(one batch, one model, one output file); here the output outlives a run, so the
settings that made it are recorded beside it, and a rerun whose settings differ
is refused, naming every difference, before the output is touched or anything is
sent. ``allow_mixed`` (``--allow-mixed``) continues anyway, and the record then
lists every set of settings that contributed lines.

Recorded, and compared: the model's ``provider/id`` after alias resolution, the
completion options the calls receive (the alias's defaults merged with the run's,
as validated, unset ones left out) and the input file's absolute path. Not
compared: what does not change a line (concurrency, limits, ``--retry-failed``) and
the reference as typed (``fast`` and ``mock/tiny`` are the same run when the
alias resolves there; it is recorded as ``given``). The provider's secrets are
masked in the record, should an option hold one.

An output with lines but no record (written by a tuneplug before this one, or
whose record was removed) cannot be checked: the run says so in a notice and
records its own settings. The record is replaced in one ``rename``, so a crash
leaves the old one or the new one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tuneplug.errors import InvalidRequestError

if TYPE_CHECKING:
    from tuneplug.models import Model

__all__ = [
    "SettingsMismatchError",
    "check_settings",
    "differences",
    "record_path",
    "run_settings",
    "settle",
]

_COMPARED = ("model", "options", "input")


class SettingsMismatchError(InvalidRequestError):
    """The output's lines were made with other settings; ``differences`` lists
    ``(setting, before, now)`` (values as shown, ``unset`` for none)."""

    def __init__(self, message: str, differences: list[tuple[str, str, str]]) -> None:
        super().__init__(message)
        self.differences = differences

    def __reduce__(self) -> tuple[object, ...]:
        return (type(self), (self.message, self.differences))


def record_path(output: Path) -> Path:
    """Where the settings of ``output`` are recorded: ``out.jsonl.settings.json``."""
    return output.with_name(output.name + ".settings.json")


def run_settings(
    model: Model, options: dict[str, Any], given: str | None, inp: Path
) -> dict[str, Any]:
    """The settings of a run as recorded: ``model``, ``options``, ``input``, ``given``.

    ``options`` are the run's own; the model's defaults (an alias's) are merged in
    by :meth:`Model.options`, which also validates them (no I/O).
    """
    from tuneplug.settings_secrets import MASK, secret_values

    effective = model.options(**options).model_dump(mode="json")
    extra = effective.pop("extra", None) or {}
    values = {k: v for k, v in {**effective, **extra}.items() if v is not None and v != []}
    secrets = secret_values(model.provider.ctx.settings)
    if secrets:  # an option holding a credential is recorded masked, never as is
        from tuneplug.secret_forms import scrub

        values = json.loads(scrub(json.dumps(values, sort_keys=True), secrets, MASK))
    return {
        "model": model.ref,
        "options": dict(sorted(values.items())),
        "input": str(inp.resolve()),
        "given": given if given is not None else model.ref,
    }


def _shown(value: Any) -> str:
    if value is None:
        return "unset"
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def differences(before: dict[str, Any], now: dict[str, Any]) -> list[tuple[str, str, str]]:
    """``(setting, before, now)`` for each compared setting that differs (options one by one)."""
    found: list[tuple[str, str, str]] = []
    if before.get("model") != now["model"]:
        old = _shown(before.get("model"))
        new = now["model"] if now["given"] == now["model"] else f"{now['given']} = {now['model']}"
        found.append(("model", old, new))
    old_options = before.get("options") if isinstance(before.get("options"), dict) else {}
    assert isinstance(old_options, dict)
    for name in sorted({*old_options, *now["options"]}):
        if old_options.get(name) != now["options"].get(name):
            found.append((name, _shown(old_options.get(name)), _shown(now["options"].get(name))))
    if before.get("input") != now["input"]:
        found.append(("input", _shown(before.get("input")), now["input"]))
    return found


def _read(path: Path) -> list[dict[str, Any]] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        runs = json.loads(text)["runs"]
        if not (isinstance(runs, list) and runs and all(isinstance(r, dict) for r in runs)):
            raise ValueError
    except (ValueError, TypeError, KeyError):
        raise InvalidRequestError(
            f"{path}: not a settings record of `tuneplug batch` (a JSON object with "
            '"runs"); move it away to continue, and the output\'s lines are taken as '
            "this run's"
        ) from None
    return runs


def _write(path: Path, runs: list[dict[str, Any]]) -> None:
    from tuneplug.batching.journal import fsync_dir

    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump({"runs": runs}, fh, ensure_ascii=False, indent=2)
            fh.write("\n")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        tmp.unlink(missing_ok=True)


def _same(a: dict[str, Any], b: dict[str, Any]) -> bool:
    return all(a.get(k) == b.get(k) for k in _COMPARED)


def _mismatch(
    output: Path, where: Path, found: list[tuple[str, str, str]]
) -> SettingsMismatchError:
    listed = "; ".join(f"{name}: {old} before, {new} now" for name, old, new in found)
    return SettingsMismatchError(
        f"{output}: its lines were made with other settings ({listed}); continuing would "
        "mix two runs in one file. Give another -o for these settings, rerun with the old "
        f"ones, or pass --allow-mixed to continue anyway ({where.name} then lists both)",
        found,
    )


def check_settings(output: Path, settings: dict[str, Any], *, allow_mixed: bool = False) -> None:
    """Refuse ``settings`` if ``output`` has lines made with others (reads only).

    Raises:
        SettingsMismatchError: they differ and ``allow_mixed`` is false.
        InvalidRequestError: the record exists but is not one this module wrote.
    """
    where = record_path(output)
    runs = _read(where)
    if allow_mixed or runs is None or not _has_lines(output) or _same(runs[-1], settings):
        return
    raise _mismatch(output, where, differences(runs[-1], settings))


def _has_lines(output: Path) -> bool:
    return output.exists() and output.stat().st_size > 0


def settle(output: Path, settings: dict[str, Any], *, allow_mixed: bool = False) -> str | None:
    """Check ``settings`` against what made ``output``'s lines, then record them.

    Call it holding the output's lock, before anything is sent (and
    :func:`check_settings` before the output is changed). Returns a notice to show,
    or ``None``.

    Raises:
        SettingsMismatchError: as :func:`check_settings` (nothing was written).
        InvalidRequestError: the record exists but is not one this module wrote.
        OSError: the record cannot be written.
    """
    check_settings(output, settings, allow_mixed=allow_mixed)
    where = record_path(output)
    runs = _read(where)
    if not _has_lines(output):
        if runs != [settings]:
            _write(where, [settings])  # nothing was made by whatever the record said
        return None
    if runs is None:
        _write(where, [settings])
        return (
            f"{output}: no record of the settings its lines were made with ({where.name}); "
            "recorded this run's, and later runs are checked against them"
        )
    last = runs[-1]
    if _same(last, settings):
        if last.get("given") != settings["given"]:
            _write(where, [*runs[:-1], settings])
        return None
    found = differences(last, settings)
    _write(where, [*(r for r in runs if not _same(r, settings)), settings])
    listed = ", ".join(name for name, _, _ in found)
    return f"{output}: continuing with other settings ({listed}); {where.name} lists every run's"

"""Option sets shared by commands, so ``complete``, ``chat`` and ``batch`` take the same flags.

:func:`completion_options` adds the sampling flags (``--max-tokens``,
``--temperature``, ``--top-k``, ``--top-p``, ``--stop``, ``--seed``) and the
provider options (``-o key=value``) and hands the command one ``options`` dict
of what was given. Their ranges are the provider's (``Model.options`` checks them,
see :func:`tuneplug.cli.base.usage_checked`), so click only checks the types.
"""

from __future__ import annotations

import functools
import json
import math
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click

__all__ = [
    "JOB_REF",
    "MODEL_REF",
    "PROVIDER",
    "Beta",
    "FilePath",
    "Finite",
    "Reference",
    "checked_options",
    "completion_options",
    "option_flag",
    "param_name",
    "parse_extra",
    "read_stdin",
    "refused",
    "refused_as",
    "require_module",
]

_SAMPLING = ("max_tokens", "temperature", "top_k", "top_p", "stop", "seed")


class Finite(click.FloatRange):
    """A float flag that refuses ``nan`` and ``inf`` (click's ``FloatRange`` lets nan through).

    A non-finite number would pass every range check and poison what it sets (a
    rate limit, a timeout, a learning rate), so it is a usage error like any value
    out of range. Bounds as :class:`click.FloatRange`.
    """

    name = "finite float"

    def _describe_range(self) -> str:
        # click would show "x<=None" for a flag bounded only by the provider's ranges.
        if self.min is None and self.max is None:
            return "finite"
        return super()._describe_range()

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        number = super().convert(value, param, ctx)
        if not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number", param, ctx)
        return number


if TYPE_CHECKING:  # generic from click 8.2 on; the project takes click >= 8.1
    _ParamType = click.ParamType[Any]
else:
    _ParamType = click.ParamType


class Beta(_ParamType):
    """DPO's ``beta``: a finite number > 0, or ``auto`` (OpenAI's words for its default).

    Refused as one ``error: --beta: ...`` line (exit 2), as tuneplug's checks of
    provider hyperparameters are, not click's usage block.
    """

    name = "number|auto"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from tuneplug.cli.base import UsageLine
        from tuneplug.validation_words import out_of_range, range_words

        if isinstance(value, float) or value == "auto":
            return value
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not math.isfinite(number) or number <= 0:
            # The number as --learning-rate's error shows it (0.0); a word as typed ('x').
            given = value if math.isnan(number) else number
            what = range_words(False, gt=0) + " or 'auto'"
            raise UsageLine(f"--beta: {out_of_range(what, given)}")
        return number


def param_name(param: click.Parameter | None) -> str:
    """How a usage line names ``param``: its first flag (``-m``), or an argument's
    name (``MODEL``, ``ID``)."""
    if isinstance(param, click.Option) and param.opts:
        return param.opts[0]
    return param.human_readable_name if param is not None else "a value"


class _Given(_ParamType):
    """A command-line value that must not be empty, then passes :meth:`problem`.

    An empty one is one ``error: FLAG: must not be empty: give ...`` line (exit 2)
    before any I/O, the rule every command-line value follows.
    """

    def __init__(self, what: str) -> None:
        self.what = what

    def problem(self, value: str) -> str | None:
        """What is wrong with a non-empty ``value``, or ``None``."""
        return None

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        from tuneplug.cli.base import UsageLine

        if not isinstance(value, str):
            return value
        empty = not value.strip()
        problem = f"must not be empty: give {self.what}" if empty else self.problem(value)
        if problem is not None:
            raise UsageLine(f"{param_name(param)}: {problem}")
        return value


class Reference(_Given):
    """A model or job reference (or a provider name) on the command line.

    An empty one used to pass for "not given" and pick the default model.
    ``job=True`` also refuses a job reference with an empty side (``mock/``).
    """

    name = "text"

    def __init__(self, what: str, *, job: bool = False) -> None:
        super().__init__(what)
        self.job = job

    def problem(self, value: str) -> str | None:
        provider, sep, job_id = value.partition("/")
        if self.job and sep and not (provider and job_id):
            return f"{value!r} is not {self.what}"
        return None


class FilePath(_Given):
    """A file named on the command line (``DATA``, ``IN.jsonl``, ``-o``, ``--validation``).

    An empty one used to reach the reader and come back as exit 1 naming the
    Python argument (``training_data``). ``dash=False`` refuses ``-``: a file these
    commands must reopen or resume from cannot be a stream (``./-`` names a file
    called ``-``).
    """

    name = "file"

    def __init__(self, what: str, *, dash: bool = True) -> None:
        super().__init__(what)
        self.dash = dash

    def problem(self, value: str) -> str | None:
        if value == "-" and not self.dash:
            return f"'-' is not a file: give {self.what} (a file called '-' is ./-)"
        return None


MODEL_REF = Reference("a model reference (provider/model) or an alias")
"""The type of every command's model reference (``-m``, ``MODEL``, ``BASE``)."""

JOB_REF = Reference("a job reference (provider/job_id, or a local job's id)", job=True)
"""The type of every ``jobs`` command's ``ID``."""

PROVIDER = Reference("a provider name")
"""The type of ``--provider``."""


def parse_extra(values: tuple[str, ...], flag: str = "-o") -> dict[str, Any]:
    """``key=value`` provider options (JSON values, a bare word a string).

    Raises:
        click.BadParameter: an item is not ``key=value`` (a usage error naming ``flag``).
    """
    extra: dict[str, Any] = {}
    for item in values:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected key=value, got {item!r}", param_hint=flag)
        try:
            extra[key] = json.loads(raw)
        except json.JSONDecodeError:
            extra[key] = raw  # a bare word is a string
    return extra


def read_stdin() -> str:
    """All of stdin as text; bytes that are not UTF-8, or nothing but blanks, are one
    clear error (exit 1, like an empty file), the same for every command."""
    # UTF-8 whatever the locale says.
    from tuneplug.errors import InvalidRequestError
    from tuneplug.text import decode_utf8

    text = decode_utf8(sys.stdin.buffer.read(), "stdin")
    if not text.strip():
        raise InvalidRequestError("stdin is empty: give the prompt on stdin or as an argument")
    return text


def require_module(module: str, extra: str, flag: str) -> None:
    """Refuse ``flag`` as a usage error (exit 2) unless ``module`` can be imported.

    Checked before any work, so a run never succeeds only to fail at its end for
    want of an optional dependency; the message says what to install.
    """
    import importlib.util

    if importlib.util.find_spec(module) is None:
        from tuneplug.cli.base import UsageLine

        # The distribution's name (core/pyproject.toml), and the form a clone installs.
        raise UsageLine(
            f"{flag} needs {module} (not installed): pip install 'tuneplug[{extra}]' "
            f"(from a clone: pip install -e './core[{extra}]')"
        )


def checked_options(model: Any, options: dict[str, Any], extra_flag: str = "-o") -> None:
    """Check ``options`` against ``model`` (no I/O); a bad one is a usage error naming its flag.

    ``--max-tokens: ...`` for a sampling flag, ``-o volume: ...`` for a provider
    option (``extra_flag`` is ``batch``'s ``-O``).
    """
    from tuneplug.errors import InvalidRequestError

    try:
        model.options(**options)
    except InvalidRequestError as exc:
        option = getattr(exc, "option", None)
        flag = "--" + option.replace("_", "-") if option in _SAMPLING else None
        raise refused(exc, flag or option_flag(option, extra_flag)) from None


def option_flag(option: str | None, extra_flag: str = "-o") -> str:
    """The flag that gave the provider option ``option``: ``-o volume`` (``-o`` if unknown)."""
    return f"{extra_flag} {option}" if option else extra_flag


def refused(exc: Exception, flag: str | None) -> click.ClickException:
    """``exc`` (a value refused before any I/O) as one usage line (exit 2) naming ``flag``.

    The flag names the option, so the line shows the error's ``detail`` (an
    :class:`~tuneplug.options.OptionError`'s problem without the option or the
    provider named again): ``error: -o volume: unknown option for mock; ...``.
    Without a flag the error is shown whole.
    """
    from tuneplug.cli.base import UsageLine

    if flag is None:
        return UsageLine(str(exc))
    return UsageLine(f"{flag}: {getattr(exc, 'detail', None) or exc}")


def refused_as(flags: dict[str, str], call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``call(*args, **kwargs)``; an :class:`~tuneplug.options.OptionError` it raises for
    one of ``flags``' arguments (``{"after": "--after"}``) is a usage error naming that flag.

    For arguments checked before any I/O (a malformed ``--after`` cursor): exit 2,
    not the runtime error (exit 1) a failure of the work is.
    """
    from tuneplug.options import OptionError

    try:
        return call(*args, **kwargs)
    except OptionError as exc:
        flag = flags.get(exc.option or "")
        if flag is None:
            raise
        raise refused(exc, flag) from None


def completion_options(
    extra_flags: tuple[str, str] = ("-o", "--option"),
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Add the sampling and provider-option flags; the command receives ``options``.

    ``options`` holds only the flags given (``--stop`` as a list, ``-o`` items
    parsed by :func:`parse_extra`). ``extra_flags`` renames ``-o`` for a command
    whose ``-o`` is taken (``batch``'s output).
    """

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(command)
        def collect(*args: Any, **kwargs: Any) -> Any:
            given = {name: kwargs.pop(name) for name in _SAMPLING}
            options: dict[str, Any] = {
                k: (list(v) if k == "stop" else v)
                for k, v in given.items()
                if v is not None and v != ()
            }
            options.update(parse_extra(kwargs.pop("extra"), extra_flags[0]))
            return command(*args, options=options, **kwargs)

        flags = [
            click.option("--max-tokens", type=int, help="Most tokens to generate (>= 1)."),
            click.option("--temperature", type=Finite(), help="Temperature, 0 to 2 (0 = greedy)."),
            click.option("--top-k", type=int, help="Sample from the k most likely tokens (>= 1)."),
            click.option("--top-p", type=Finite(), help="Nucleus sampling mass (0 < p <= 1)."),
            click.option("--stop", multiple=True, help="Stop sequence (repeatable)."),
            click.option("--seed", type=int, help="Seed for sampling."),
            click.option(
                *extra_flags, "extra", multiple=True,
                help="Provider option key=value (JSON); `tuneplug models M --options` lists them.",
            ),
        ]  # fmt: skip
        for flag in reversed(flags):
            collect = flag(collect)
        return collect

    return decorate

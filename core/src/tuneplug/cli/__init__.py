"""The ``tuneplug`` command line (``docs/cli.md``).

Exit codes, the same for every command (built in or added by a plugin):

* 0: success;
* 1: a runtime error: the command line was well formed but the work failed (a
  provider or the network refused, a file is missing, unreadable, a directory or
  holds a bad sample, text is not UTF-8); one ``error: ...`` line on stderr;
* 2: a usage error: the command line itself is wrong (an unknown option, a
  missing argument, a value of the wrong type or outside its range, a mistyped
  provider option, an optional dependency a flag needs; whether click or
  tuneplug's checks find it, before any I/O); click's usage message or one
  ``error: ...`` line naming the flag;
* 130: interrupted (Ctrl-C, or SIGTERM: handled alike), with what to do next;
* 141: stdout's reader went away (``| head``): quietly, 128 + SIGPIPE.

Results go to stdout, diagnostics (progress, warnings, errors) to stderr. One
module per command (or group); :mod:`tuneplug.cli.base` holds the exit-code
rules, :mod:`tuneplug.cli.options` the flags commands share. The group
(:mod:`tuneplug.cli.app`) imports a command's module only when it runs, and
modules import only click at startup, so ``tuneplug --help`` is fast.

For plugin commands: :class:`UsageLine`, :func:`usage_checked`, :func:`resumable`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tuneplug._lazy import lazy_exports

# Lazy, so a command module (or tuneplug.server.cli) may import tuneplug.cli.base
# without first importing every command through the group.
_EXPORTS = {
    "COMMANDS_GROUP": "tuneplug.cli.app",
    "cli": "tuneplug.cli.app",
    "main": "tuneplug.cli.app",
    "UsageLine": "tuneplug.cli.base",
    "resumable": "tuneplug.cli.base",
    "usage_checked": "tuneplug.cli.base",
}

__all__ = ["COMMANDS_GROUP", "UsageLine", "cli", "main", "resumable", "usage_checked"]

if TYPE_CHECKING:
    from tuneplug.cli.app import COMMANDS_GROUP, cli, main
    from tuneplug.cli.base import UsageLine, resumable, usage_checked

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())

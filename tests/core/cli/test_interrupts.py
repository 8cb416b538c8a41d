"""Ctrl-C and SIGTERM at every instant of a command (``tuneplug.cli.interrupts``, docs/cli.md).

A stop lands at a named moment by calling the handler the command installed, which is
what Python does when a signal arrives between two bytecodes there: the window is hit
every time instead of by luck of timing. Real signals through a real process:
``test_sigterm.py``.
"""

from __future__ import annotations

import contextlib
import signal
import sys
import time
import weakref
from collections.abc import Callable, Iterator
from typing import Any

import click
import pytest
from click.testing import CliRunner, Result
from tuneplug.cli.base import CommandGroup, resumable
from tuneplug.cli.interrupts import STOPS, stop, stoppable, stops_handled
from tuneplug.errors import TuneplugError

BOUND = 2000  # polls of 10 ms: a bound on a wait for another thread, never a duration


def land() -> None:
    """A stop lands here: Python runs the signal's handler between two bytecodes."""
    handler = signal.getsignal(signal.SIGTERM)
    assert callable(handler), "SIGTERM is not handled here"
    handler(signal.SIGTERM, sys._getframe())


def never() -> None:
    raise AssertionError("the work started")


# -- the handler's rules ----------------------------------------------------------------


def test_a_stop_before_the_work_is_held_and_raised_as_it_starts() -> None:
    with stops_handled():
        land()  # while click parses, say: nothing raised there
        with pytest.raises(KeyboardInterrupt):
            stoppable(never)


def test_a_stop_during_the_work_raises_where_it_lands() -> None:
    after: list[str] = []

    def work() -> None:
        land()
        after.append("ran on")

    with stops_handled(), pytest.raises(KeyboardInterrupt):
        stoppable(work)
    assert after == []


def test_a_stop_outside_the_works_frames_is_held_even_while_it_runs() -> None:
    # The frames of the work, not a flag: a stop landing in the caller's frame, as the
    # work returns or before it is called, never raises outside the caller's `try`.
    with stops_handled():
        assert stoppable(lambda: "done") == "done"
        land()
        with pytest.raises(KeyboardInterrupt):
            stoppable(never)


def test_a_second_stop_does_not_cut_the_cleanup_of_the_first_short() -> None:
    cleaned: list[str] = []

    def work() -> None:
        try:
            land()
        except KeyboardInterrupt:
            land()  # Ctrl-C again while the lock is removed, the journal left resumable
            cleaned.append("done")
            raise

    with stops_handled(), pytest.raises(KeyboardInterrupt):
        stoppable(work)
    assert cleaned == ["done"]


def test_the_work_stops_again_after_a_stop_it_caught_and_went_on_from() -> None:
    # An interactive loop may take Ctrl-C as "stop this answer" and go on: the next stops.
    def work() -> None:
        with contextlib.suppress(KeyboardInterrupt):
            land()
        land()

    with stops_handled(), pytest.raises(KeyboardInterrupt):
        stoppable(work)


def test_a_stop_after_the_work_changes_nothing_and_is_then_forgotten() -> None:
    with stops_handled():
        stoppable(lambda: None)
        land()  # the result is written, the exit status decided: nothing raised
    with stops_handled():
        stoppable(lambda: None)  # a later command in this process is not stopped by it


@pytest.mark.parametrize("where", ["__del__", "weakref callback"])
def test_a_stop_swallowed_by_a_finalizer_raises_in_the_work_again(where: str) -> None:
    # Python reports what a finalizer raises ("Exception ignored") and goes on: the stop
    # would be lost, and the command would wait on as if nothing had come.
    class Finalized:
        def __del__(self) -> None:
            if where == "__del__":
                land()

    keep: list[Any] = []

    def work() -> None:
        dropped = Finalized()
        if where == "weakref callback":
            keep.append(weakref.ref(dropped, lambda ref: land()))
        del dropped  # finalized here, in the work
        for _ in range(BOUND):
            time.sleep(0.01)  # delivered again by another thread: raises here

    with stops_handled(), pytest.raises(KeyboardInterrupt):
        stoppable(work)


def test_the_handlers_and_the_unraisable_hook_are_put_back() -> None:
    found = ({s: signal.getsignal(s) for s in STOPS}, sys.unraisablehook)

    def handled() -> bool:
        return all(signal.getsignal(s) is stop for s in STOPS)

    with stops_handled():
        assert handled() and sys.unraisablehook is not found[1]
        assert stoppable(handled)  # nested: installs nothing more, puts nothing back early
        assert handled()
    assert ({s: signal.getsignal(s) for s in STOPS}, sys.unraisablehook) == found
    assert stoppable(handled) and not handled()  # alone, it handles them while it runs


@pytest.fixture
def sigint_ignored() -> Iterator[None]:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


@pytest.mark.usefixtures("sigint_ignored")
def test_a_signal_the_parent_ignores_stays_ignored() -> None:
    # `cmd &` without job control, `nohup`: Ctrl-C at the terminal is not for this process.
    with stops_handled():
        assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGTERM) is stop
    assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN


# -- through the command groups ---------------------------------------------------------

Moment = Callable[[], None]


def tree(*, parsing: Moment | None = None) -> click.Group:
    """A root group as ``tuneplug``'s (``CommandGroup``), its commands and a nested group."""

    class Root(CommandGroup):
        def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
            if parsing:
                parsing()
            return super().parse_args(ctx, args)

    @click.group(cls=Root)
    def root() -> None:
        pass

    @root.command()
    def works() -> None:
        resumable("run it again")
        click.echo("result")

    @root.command()
    def stopped() -> None:
        resumable("run it again")
        land()
        click.echo("never")

    @root.command()
    def fails() -> None:
        raise TuneplugError("the provider refused")

    @root.group(cls=CommandGroup)
    def inner() -> None:
        pass

    @inner.command("stopped")
    def inner_stopped() -> None:
        land()

    return root


def run(group: click.Group, *args: str) -> Result:
    return CliRunner().invoke(group, list(args))


def said(result: Result) -> tuple[int, str, str]:
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture
def on_error_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stop lands while an ``error:`` line is written (once the line is out)."""
    echo = click.echo

    def echoing(message: Any = None, *args: Any, **kwargs: Any) -> None:
        echo(message, *args, **kwargs)
        if str(message).startswith("error:"):
            land()

    monkeypatch.setattr(click, "echo", echoing)


def test_a_stop_while_click_parses_is_130_and_the_work_never_starts() -> None:
    assert said(run(tree(parsing=land), "works")) == (130, "", "error: interrupted\n")


def test_a_stop_in_the_work_says_how_to_go_on() -> None:
    assert said(run(tree(), "stopped")) == (130, "", "error: interrupted; run it again\n")


@pytest.mark.usefixtures("on_error_line")
def test_a_stop_while_an_error_is_reported_leaves_the_error_as_it_is() -> None:
    # Was a traceback or click's "Aborted!" (exit 1) from the `except` clause.
    assert said(run(tree(), "fails")) == (1, "", "error: the provider refused\n")


@pytest.mark.usefixtures("on_error_line")
def test_a_second_stop_while_interrupted_is_said_says_it_once() -> None:
    assert said(run(tree(), "stopped")) == (130, "", "error: interrupted; run it again\n")


def test_a_nested_group_and_the_root_say_interrupted_once(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    leave = click.Context.__exit__

    def leaving(self: click.Context, kind: Any, *rest: Any) -> None:
        # A second stop once `inner` said "interrupted", as its exit leaves the root's work.
        if self.info_name == "inner" and kind is click.exceptions.Exit:
            land()
        leave(self, kind, *rest)

    monkeypatch.setattr(click.Context, "__exit__", leaving)
    assert said(run(tree(), "inner", "stopped")) == (130, "", "error: interrupted\n")


def test_a_stop_as_click_closes_the_context_after_the_work_changes_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    close = click.Context.close

    def closing(self: click.Context) -> None:
        if self.parent is None:  # the root's: click closes it once `invoke` returned
            land()
        close(self)

    monkeypatch.setattr(click.Context, "close", closing)
    assert said(run(tree(), "works")) == (0, "result\n", "")

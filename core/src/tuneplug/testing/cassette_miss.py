"""What to do when a cassette cannot answer a request, in tuneplug's terms.

vcrpy's error for a request no cassette holds tells how to record it in vcrpy's
terms: recent versions say "run with record_mode='once' (the default)". Under
tuneplug's :func:`~tuneplug.testing.vcr_config` the default is ``none`` (replay
only) and recording is switched on for a run with ``TUNEPLUG_RECORD_CASSETTES``, so
that hint sends a reader the wrong way. :func:`explain_miss` adds a note saying how
to record here; the pytest plugin applies it to every test's exception (whatever
opened the cassette: ``vcr_config``, pytest-recording, :func:`use_cassette`), and
:func:`~tuneplug.testing.use_cassette` to its block's outside pytest.
"""

from __future__ import annotations

import sys

__all__ = ["explain_miss", "miss_hint"]

_NOTED = "_tuneplug_miss_noted"


def miss_hint(record_mode: str) -> str:
    """The note for a cassette miss in ``record_mode`` (vcrpy's mode of that cassette)."""
    how = (
        "run the test once with TUNEPLUG_RECORD_CASSETTES=1 (records every cassette the run "
        "uses afresh) or TUNEPLUG_RECORD_CASSETTES=new_episodes (adds only the missing "
        "requests), against the live provider: its credentials are needed, and they are "
        "scrubbed before anything is written"
    )
    if record_mode == "none":
        return (
            "tuneplug: cassettes only replay unless the run records: the record mode is "
            f"'none' (tuneplug's default, not vcrpy's 'once'); to record this request, {how}."
        )
    return f"tuneplug: the record mode is {record_mode!r}; to record this request, {how}."


def explain_miss(exc: BaseException) -> None:
    """Add :func:`miss_hint` as a note to vcrpy's cassette-miss error in ``exc``'s chain
    (``exc`` itself, or what it was raised from); once, and nothing for other errors."""
    errors = sys.modules.get("vcr.errors")
    if errors is None:
        return  # vcrpy never imported: no cassette can have missed
    miss_type = errors.CannotOverwriteExistingCassetteException
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, miss_type):
            if not getattr(current, _NOTED, False):
                setattr(current, _NOTED, True)
                mode = getattr(getattr(current, "cassette", None), "record_mode", "none")
                current.add_note(miss_hint(str(getattr(mode, "value", mode))))
            return
        current = current.__cause__ or current.__context__

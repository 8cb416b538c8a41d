"""The adapter store: one SQLite file shared by every process using the mock provider.

Adapters are rows of ``adapters``; what they learned is ``deltas``, additive
n-gram pseudo-counts. A training step runs inside ``BEGIN IMMEDIATE``, so steps
on one adapter serialize across processes, and it adds its deltas with UPSERTs
(``weight = weight + excluded.weight``): two processes training the same
adapter at once both count. Every step bumps the adapter's ``version``, which
lets a process keep weights in memory and reload only when they changed.

A step sent with an idempotency key records the key and its result in
``applied_steps`` inside the same transaction as its deltas: the key is there
exactly when the update is, so a replayed key is answered from the table and
applies nothing (the job runner's exactly-once resume).

WAL mode lets completions read while another process trains. Two connections
are kept so that a reader never waits behind this process's own writer.

The tables and their rows are :mod:`~tuneplug_mock.store.schema`, the SQLite plumbing
(connections, write transactions, errors) :mod:`~tuneplug_mock.store.sqlite`, one step's
write :mod:`~tuneplug_mock.store.training` and the store itself
:mod:`~tuneplug_mock.store.adapters`; import them from here.
"""

from __future__ import annotations

from tuneplug_mock.store.adapters import AdapterStore
from tuneplug_mock.store.schema import AdapterRecord, Row
from tuneplug_mock.store.sqlite import BUSY_TIMEOUT_MS
from tuneplug_mock.store.training import Training

__all__ = ["BUSY_TIMEOUT_MS", "AdapterRecord", "AdapterStore", "Row", "Training"]

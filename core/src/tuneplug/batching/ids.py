"""A set of ids in 16 bytes each, for "seen before?" over millions of ``custom_id``s.

A Python ``set`` of 1M short strings costs ~80 MB; the batch command needs two
such sets (ids finished in an earlier run, and the input's ids to find duplicates),
which would make its memory grow with the input. Here each id is its BLAKE2b-128
digest (a collision between two distinct ids has probability ~1e-26 at 1M ids),
kept in 256 byte arrays by the digest's first byte, each sorted once and then
searched by bisection.
"""

from __future__ import annotations

import itertools
from hashlib import blake2b

__all__ = ["IdSet", "digest"]

_SIZE = 16


def digest(value: str) -> bytes:
    """The 16-byte digest an id is stored as."""
    return blake2b(value.encode("utf-8", "surrogatepass"), digest_size=_SIZE).digest()


class IdSet:
    """Add ids, :meth:`freeze` once, then test membership. ``len`` counts additions."""

    def __init__(self) -> None:
        self._buckets = [bytearray() for _ in range(256)]
        self._count = 0
        self._frozen = False

    def add(self, value: str) -> None:
        """Add ``value`` (only before :meth:`freeze`)."""
        if self._frozen:
            raise RuntimeError("IdSet is frozen")
        d = digest(value)
        self._buckets[d[0]] += d
        self._count += 1

    def __len__(self) -> int:
        return self._count

    def freeze(self) -> set[bytes]:
        """Sort for lookups; returns the digests that were added more than once."""
        repeated: set[bytes] = set()
        for i, bucket in enumerate(self._buckets):
            records = sorted(bytes(bucket[j : j + _SIZE]) for j in range(0, len(bucket), _SIZE))
            repeated.update(a for a, b in itertools.pairwise(records) if a == b)
            self._buckets[i] = bytearray(b"".join(records))
        self._frozen = True
        return repeated

    def __contains__(self, value: object) -> bool:
        if not isinstance(value, str):
            return False
        if not self._frozen:
            raise RuntimeError("freeze() the IdSet before testing membership")
        d = digest(value)
        bucket = self._buckets[d[0]]
        lo, hi = 0, len(bucket) // _SIZE
        while lo < hi:
            mid = (lo + hi) // 2
            probe = bucket[mid * _SIZE : (mid + 1) * _SIZE]
            if probe < d:
                lo = mid + 1
            elif probe > d:
                hi = mid
            else:
                return True
        return False

"""Which sequence numbers of each (node, boot) the plant has stored: de-duplication and gaps.

A node numbers its results 1, 2, 3, ... per boot. The plant keeps, per (node, boot_id), the
stored sequence numbers as a short list of closed ranges, so a duplicate (a resend, a
redelivery) is recognised without a database round trip, the acknowledgement is the end of
the range that starts at 1 (the highest *contiguous* sequence), and the holes between
ranges are the gaps. A node that loses one result for good costs one extra range, not one
entry per later result.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable

__all__ = ["SeqRanges", "runs"]


def runs(seqs: Iterable[int]) -> list[tuple[int, int]]:
    """Sorted, merged closed ranges covering ``seqs`` (duplicates allowed)."""
    unique = set(seqs)
    if not unique:
        return []
    low, high = min(unique), max(unique)
    if high - low == len(unique) - 1:  # one run, the usual batch: no sort, no Python loop
        return [(low, high)]
    out: list[tuple[int, int]] = []
    for seq in sorted(unique):
        if out and seq == out[-1][1] + 1:
            out[-1] = (out[-1][0], seq)
        else:
            out.append((seq, seq))
    return out


class SeqRanges:
    """A set of positive integers kept as sorted, disjoint, non-adjacent closed ranges."""

    __slots__ = ("_ends", "_starts")

    def __init__(self, ranges: Iterable[tuple[int, int]] = ()) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        for first, last in sorted(ranges):
            self.add_range(first, last)

    def copy(self) -> SeqRanges:
        new = SeqRanges()
        new._starts = list(self._starts)
        new._ends = list(self._ends)
        return new

    @property
    def ranges(self) -> list[tuple[int, int]]:
        return list(zip(self._starts, self._ends, strict=True))

    @property
    def max_seq(self) -> int:
        """The highest stored sequence, 0 if none."""
        return self._ends[-1] if self._ends else 0

    @property
    def contiguous(self) -> int:
        """The highest ``n`` such that every sequence 1..n is stored (0 if 1 is missing)."""
        return self._ends[0] if self._starts and self._starts[0] <= 1 else 0

    def __contains__(self, seq: object) -> bool:
        if not isinstance(seq, int):
            return False
        i = bisect.bisect_right(self._starts, seq) - 1
        return i >= 0 and seq <= self._ends[i]

    @property
    def count(self) -> int:
        """How many separate ranges (one more than the gaps)."""
        return len(self._starts)

    def __len__(self) -> int:
        return sum(e - s + 1 for s, e in zip(self._starts, self._ends, strict=True))

    def new_only(self, seqs: list[int]) -> list[int]:
        """The members of ``seqs`` not stored yet (order kept; in-list repeats dropped)."""
        if not seqs:
            return []
        if min(seqs) > self.max_seq and len(set(seqs)) == len(seqs):
            return list(seqs)
        seen: set[int] = set()
        out = []
        for seq in seqs:
            if seq not in seen and seq not in self:
                seen.add(seq)
                out.append(seq)
        return out

    def add_range(self, first: int, last: int) -> None:
        """Add every sequence in ``first..last``, merging with touching ranges."""
        if last < first:
            return
        lo = bisect.bisect_left(self._ends, first - 1)
        hi = bisect.bisect_right(self._starts, last + 1)
        if lo < hi:
            first = min(first, self._starts[lo])
            last = max(last, self._ends[hi - 1])
        self._starts[lo:hi] = [first]
        self._ends[lo:hi] = [last]

    def add(self, seqs: Iterable[int]) -> None:
        """Add many sequences."""
        for first, last in runs(seqs):
            self.add_range(first, last)

    def gaps(self) -> list[tuple[int, int]]:
        """Missing closed ranges below the highest stored sequence."""
        out = []
        prev = 0
        for first, last in zip(self._starts, self._ends, strict=True):
            if first > prev + 1:
                out.append((prev + 1, first - 1))
            prev = last
        return out

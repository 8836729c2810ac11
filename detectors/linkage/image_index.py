"""Find stored image hashes within a Hamming distance of a query without scanning them all.

Multi-index hashing (Norouzi et al.): a 64-bit hash is cut into ``chunks`` substrings, each indexed in
its own table. Two hashes within distance ``r`` agree within ``r // chunks`` bits on at least one
chunk (pigeonhole), so a query probes each table with every variant of its chunk within that many
bits, then verifies the true distance of the few candidates. With the default 4 chunks a radius up to
7 bits costs 4 × 17 probes instead of a pass over every stored hash.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import combinations
from typing import Generic, TypeVar

from trailhound.detectors.linkage.keys import hamming

__all__ = ["ImageIndex"]

T = TypeVar("T")
BITS = 64


class ImageIndex(Generic[T]):
    """Image hashes, each with a payload, searchable by Hamming distance."""

    def __init__(self, chunks: int = 4) -> None:
        if BITS % chunks:
            raise ValueError("chunks must divide 64")
        self.chunks = chunks
        self.width = BITS // chunks
        self._tables: list[dict[int, set[int]]] = [{} for _ in range(chunks)]
        self._payloads: dict[int, list[T]] = {}

    def __len__(self) -> int:
        return len(self._payloads)

    def _parts(self, phash: int) -> Iterator[tuple[int, int]]:
        mask = (1 << self.width) - 1
        for i in range(self.chunks):
            yield i, (phash >> (i * self.width)) & mask

    def add(self, phash: int, payload: T) -> None:
        if phash not in self._payloads:
            for i, part in self._parts(phash):
                self._tables[i].setdefault(part, set()).add(phash)
        self._payloads.setdefault(phash, []).append(payload)

    def _variants(self, part: int, flips: int) -> Iterator[int]:
        for n in range(flips + 1):
            for bits in combinations(range(self.width), n):
                value = part
                for bit in bits:
                    value ^= 1 << bit
                yield value

    def search(self, phash: int, radius: int) -> list[tuple[int, int, T]]:
        """``(distance, stored hash, payload)`` for every stored hash within ``radius``, nearest first."""
        flips = radius // self.chunks
        candidates: set[int] = set()
        for i, part in self._parts(phash):
            table = self._tables[i]
            for variant in self._variants(part, flips):
                candidates.update(table.get(variant, ()))
        found: list[tuple[int, int, T]] = []
        for stored in candidates:
            distance = hamming(stored, phash)
            if distance <= radius:
                found.extend((distance, stored, payload) for payload in self._payloads[stored])
        found.sort(key=lambda item: (item[0], item[1]))
        return found

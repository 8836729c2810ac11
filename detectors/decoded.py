"""Decode an enriched record's normalised text and entities once, however many detectors read them.

An enriched record carries its normalised text (with the map back to the original) and its entities
as JSON, because it travels on Kafka between the enrich and detect stages. The pattern matcher and
the text model both need them as objects, and decoding costs about as much as a small detector. So
the last decoded value of each kind is kept, keyed by the identity of the JSON object it came from,
and handed to the next reader of the same record. The record is not copied: it must not be changed
in place while it is being scored (the worker never does). A miss only costs a decode.

The stage that builds a record (``streams.enrich``) already holds both objects, so it hands them over
with :func:`remember_decoded`: when enrichment and detection run in one process (the bench, a worker
without the enrichment pool), the detectors then decode nothing at all. Enrichment works on batches,
so the objects of the last :data:`REMEMBERED` records handed over are kept, not only the last one's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Generic, TypeVar

from trailhound.detectors.extract import Entities
from trailhound.detectors.normalize import NormalizedText

__all__ = ["decoded_entities", "decoded_normalized", "remember_decoded"]

T = TypeVar("T")


REMEMBERED = 512
"""Records whose objects the enrichment stage handed over and that are kept for the detectors: more than
an enrichment batch's posts (``streams.app.BATCH_SIZE``), so a batch enriched and then judged is never decoded."""


class _LastDecoded(Generic[T]):
    """The value decoded from the last JSON object seen, and the values handed over for the last
    :data:`REMEMBERED` records; holding each object keeps its identity unique."""

    __slots__ = ("_decode", "_handed", "_last")

    def __init__(self, decode: Callable[[dict[str, Any]], T]) -> None:
        self._decode = decode
        self._last: tuple[dict[str, Any], T] | None = None
        self._handed: dict[int, tuple[dict[str, Any], T]] = {}

    def __call__(self, data: dict[str, Any]) -> T:
        last = self._last  # one read: another thread may replace it, never half-replace it
        if last is not None and last[0] is data:
            return last[1]
        handed = self._handed.get(id(data))
        if handed is not None and handed[0] is data:
            return handed[1]
        value = self._decode(data)
        self._last = (data, value)
        return value

    def remember(self, data: dict[str, Any], value: T) -> None:
        """``value`` is what decoding ``data`` gives: hand it to the next reader without decoding."""
        handed = self._handed
        if len(handed) >= REMEMBERED:
            handed.pop(next(iter(handed)), None)  # the oldest hand-over
        handed[id(data)] = self._last = (data, value)


decoded_normalized: _LastDecoded[NormalizedText] = _LastDecoded(NormalizedText.from_json)
"""``NormalizedText.from_json(data)``, decoded once per record."""

decoded_entities: _LastDecoded[Entities] = _LastDecoded(Entities.from_json)
"""``Entities.from_json(data)``, decoded once per record."""


def remember_decoded(normalized_json: dict[str, Any], norm: NormalizedText,
                     entities_json: dict[str, Any], entities: Entities) -> None:
    """Record the objects a record's JSON was made from (``norm.to_json()``, ``entities.to_json()``)."""
    decoded_normalized.remember(normalized_json, norm)
    decoded_entities.remember(entities_json, entities)

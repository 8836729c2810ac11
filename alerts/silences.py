"""Silences: an analyst mutes a contact, a pattern or a cluster for a while, with a reason.

A silenced match is still recorded (status ``silenced``, with the silence that matched) so nothing is
lost and the console can show it, but it is not raised to the operations center or to partners. The
matching is pure; silences themselves are documents in ``trailhound-silences`` (see
:mod:`alerts.lifecycle`), read by the indexing stage.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

from trailhound.alerts.grouping import cluster_of
from trailhound.ids import stable_id

__all__ = ["KINDS", "Silence", "matching_silence"]

KINDS = ("contact", "pattern", "cluster")


@dataclass(frozen=True)
class Silence:
    """Mute alerts whose ``kind`` (contact | pattern | cluster) equals ``value`` until ``until`` (epoch s)."""

    kind: str
    value: str
    by: str
    reason: str
    until: float
    created: float

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"a silence is for a {', '.join(KINDS)}, not {self.kind!r}")
        if not self.value.strip() or not self.reason.strip() or not self.by.strip():
            raise ValueError("a silence needs a value, a reason and who set it")
        if self.until <= self.created:
            raise ValueError("a silence must end in the future")

    @property
    def id(self) -> str:
        return stable_id("silence", self.kind, self.value, str(self.created))

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "id": self.id}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Silence:
        return cls(data["kind"], data["value"], data["by"], data["reason"], float(data["until"]),
                   float(data["created"]))


def _subjects(alert: dict[str, Any], kind: str) -> set[str]:
    details = alert.get("trailhound") or {}
    if kind == "pattern":
        return {i.get("pattern_id", "") for i in details.get("indicators", [])}
    if kind == "cluster":
        cluster = cluster_of(alert)
        return {cluster} if cluster else set()
    entity = details.get("entity") or {}
    values = {entity.get("key") or ""}
    for name, prefix in (("phones", "phone:"), ("emails", "email:"), ("handles", "handle:")):
        for value in entity.get(name) or ():
            values.update({value, prefix + value})
    return values - {""}


def matching_silence(alert: dict[str, Any], silences: Iterable[Silence], now: float) -> Silence | None:
    """The first silence in force at ``now`` that matches ``alert`` (None: the alert is raised)."""
    for silence in silences:
        if silence.created <= now < silence.until and silence.value in _subjects(alert, silence.kind):
            return silence
    return None

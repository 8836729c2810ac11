"""Which lifecycle moves an alert may make, decided in one pure function.

Alerts go ``new → acknowledged → escalated → resolved``, or to ``dismissed`` (a false alarm) from any
open state; an alert recorded while a silence matched it (``silenced``) can still be picked up by an
analyst. Keeping the table here, apart from Elasticsearch and Kafka, lets the console, the CLI and the
tests share one answer to "is this move allowed, and if not, why not".
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ACTIONS", "CLOSED", "OPEN", "InvalidTransition", "Transition", "decide_transition"]

OPEN = frozenset({"new", "silenced", "acknowledged", "escalated"})
CLOSED = frozenset({"resolved", "dismissed"})

ACTIONS: dict[str, tuple[frozenset[str], str]] = {
    # action: (states it may start from, state it leads to)
    "acknowledge": (frozenset({"new", "silenced"}), "acknowledged"),
    "escalate": (frozenset({"new", "silenced", "acknowledged", "escalated"}), "escalated"),
    "resolve": (frozenset({"acknowledged", "escalated"}), "resolved"),
    "dismiss": (OPEN, "dismissed"),
}


class InvalidTransition(ValueError):
    """A lifecycle move the alert's current state does not allow; the message says why."""


@dataclass(frozen=True)
class Transition:
    """An allowed move: from which state to which, by which action."""

    action: str
    old: str
    new: str


def decide_transition(status: str, action: str) -> Transition:
    """The move ``action`` makes from ``status``, or :class:`InvalidTransition` naming the reason."""
    if action not in ACTIONS:
        raise InvalidTransition(f"unknown action {action!r} (known: {', '.join(ACTIONS)})")
    allowed_from, target = ACTIONS[action]
    if status not in allowed_from:
        if status in CLOSED:
            reason = f"the alert is already {status}"
        else:
            reason = f"an alert that is {status} cannot be {target} (only from {', '.join(sorted(allowed_from))})"
        raise InvalidTransition(f"cannot {action}: {reason}")
    return Transition(action, status, target)

"""The one source of "now" for the pipeline, so that decisions that depend on time can be tested.

Components take a :data:`Clock` (a function returning epoch seconds) instead of calling ``time.time``
themselves; production passes :func:`system_clock`, tests pass a fixed or stepping one.
"""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["Clock", "FixedClock", "system_clock"]

Clock = Callable[[], float]
"""Returns the current time as epoch seconds (UTC)."""


def system_clock() -> float:
    """The machine's wall clock."""
    return time.time()


class FixedClock:
    """A clock that stands still until moved: for tests and replays that must be reproducible."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

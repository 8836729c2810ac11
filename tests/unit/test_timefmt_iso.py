"""``iso`` formats exactly as ``datetime`` does, also where rounding the microseconds carries a second."""

from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from trailhound.timefmt import iso


def _by_datetime(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def test_iso_matches_datetime_on_random_and_edge_stamps() -> None:
    rng = random.Random(13)
    stamps = [rng.uniform(-2e9, 4e9) for _ in range(20_000)]
    stamps += [rng.randrange(0, 2_000_000_000) + rng.randrange(0, 1000) / 1000 for _ in range(5_000)]
    stamps += [0, 0.0, -0.0, 1.0, -1.0, 0.9999995, 0.9999994, -0.0000004, -0.0000005, 1764561234.9999996,
               1764561234.5, 1764561234.0005, 253402300799.999, -62135596800.0, 1764561234]
    mismatches = [ts for ts in stamps if iso(ts) != _by_datetime(ts)]
    assert not mismatches, mismatches[:5]
    assert iso(1764561234.123) == "2025-12-01T03:53:54.123Z"


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_iso_refuses_what_is_no_time(bad: float) -> None:
    with pytest.raises((ValueError, OverflowError)):
        iso(bad)

"""Type and range checks for model state read back from a checkpoint.

Why it exists: checkpoints are plain JSON (never pickles, which run code), so every number a restore
puts into a model comes from data someone could have written. These helpers refuse anything that is
not the expected kind of number in the expected range with a ``ValueError``, which the restore turns
into a refused checkpoint instead of a model that fails later or holds NaN weights.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["check_bool", "check_float", "check_int", "check_list"]


def check_int(value: Any, low: int | None = None, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"expected a whole number, got {type(value).__name__}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{value} is outside [{low}, {high}]")
    return value


def check_float(value: Any, low: float | None = None, high: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"expected a finite number, got {value!r:.40}")
    if (low is not None and value < low) or (high is not None and value > high):
        raise ValueError(f"{value} is outside [{low}, {high}]")
    return float(value)


def check_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"expected true or false, got {type(value).__name__}")
    return value


def check_list(value: Any, max_len: int) -> list[Any]:
    if not isinstance(value, list):
        raise ValueError(f"expected a list, got {type(value).__name__}")
    if len(value) > max_len:
        raise ValueError(f"list of {len(value)} items, more than {max_len}")
    return value

"""The analysts' verdict vocabulary and what each label means to a model.

One place decides that both kinds of trafficking count as a true alarm and that an adult's own ad
without indicators counts as a false one, so no model can disagree with another about it.
"""

from __future__ import annotations

__all__ = ["LABELS", "NEGATIVE_LABELS", "POSITIVE_LABELS", "is_positive"]

POSITIVE_LABELS = frozenset({"trafficking", "labour_trafficking"})
NEGATIVE_LABELS = frozenset({"benign", "adult_no_indicators"})
LABELS = POSITIVE_LABELS | NEGATIVE_LABELS


def is_positive(label: str) -> bool:
    """True for a trafficking verdict, False for a benign one; unknown labels are an error."""
    if label in POSITIVE_LABELS:
        return True
    if label in NEGATIVE_LABELS:
        return False
    raise ValueError(f"unknown verdict label {label!r}; expected one of {sorted(LABELS)}")

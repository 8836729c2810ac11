"""Per-pattern precision learned from verdicts, turned into the weight the pattern detector uses.

Why it exists: a pattern that analysts keep dismissing (a phrase that turned out to be common in
benign ads) should stop raising alerts without anyone editing the library, and analysts should see
why. Each pattern keeps a Beta posterior over "when this pattern fired, was it a true alarm?". The
prior (``Beta(4, 1)`` by default: patterns are published because they were mostly right) means a
single verdict moves the weight only a little — one false alarm takes it to 83% of its library
weight, ten to 33%, twenty to 20% — and later true alarms bring it back. A conjugate Beta update is
two counters per pattern; no library is needed for that.

By default the learned factor only lowers a weight (``max_factor=1.0``): the library weights encode
published evidence, and confirmations should not inflate them beyond it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from trailhound.detectors.online.state_checks import check_int

__all__ = ["PatternPrecision", "PatternStats"]


@dataclass(slots=True)
class PatternStats:
    """Verdict counts for one pattern (true alarms, false alarms)."""

    true_alarms: int = 0
    false_alarms: int = 0


class PatternPrecision:
    """Beta-Bernoulli precision per pattern id, with the weight hook the pattern detector calls."""

    def __init__(
        self,
        prior_alpha: float = 4.0,
        prior_beta: float = 1.0,
        min_factor: float = 0.05,
        max_factor: float = 1.0,
    ) -> None:
        if prior_alpha <= 0 or prior_beta <= 0:
            raise ValueError("prior parameters must be positive")
        if not 0 <= min_factor <= max_factor:
            raise ValueError("need 0 <= min_factor <= max_factor")
        self.prior_alpha = prior_alpha
        self.prior_beta = prior_beta
        self.min_factor = min_factor
        self.max_factor = max_factor
        self._stats: dict[str, PatternStats] = {}

    @property
    def prior_precision(self) -> float:
        return self.prior_alpha / (self.prior_alpha + self.prior_beta)

    def observe(self, pattern_ids: Iterable[str], is_true_alarm: bool) -> None:
        """Record one verdict for every (distinct) pattern that fired on the judged post."""
        for pattern_id in set(pattern_ids):
            stats = self._stats.get(pattern_id)
            if stats is None:
                stats = self._stats[pattern_id] = PatternStats()
            if is_true_alarm:
                stats.true_alarms += 1
            else:
                stats.false_alarms += 1

    def state(self) -> dict[str, list[int]]:
        """Plain data for a checkpoint: ``{pattern id: [true alarms, false alarms]}``."""
        return {pattern_id: [s.true_alarms, s.false_alarms] for pattern_id, s in self._stats.items()}

    def restore(self, state: Mapping[str, Any]) -> None:
        if not isinstance(state, Mapping):
            raise ValueError("pattern precision state must map pattern ids")
        self._stats = {str(pattern_id): PatternStats(check_int(t, 0), check_int(f, 0))
                       for pattern_id, (t, f) in state.items()}

    def precision(self, pattern_id: str) -> float:
        """Posterior mean precision (the prior mean for a pattern without verdicts)."""
        stats = self._stats.get(pattern_id)
        if stats is None:
            return self.prior_precision
        alpha = self.prior_alpha + stats.true_alarms
        beta = self.prior_beta + stats.false_alarms
        return alpha / (alpha + beta)

    def weight_of(self, pattern_id: str, base_weight: float) -> float:
        """The library weight scaled by how the pattern's precision compares with the prior."""
        if pattern_id not in self._stats:
            return base_weight
        factor = self.precision(pattern_id) / self.prior_precision
        return base_weight * min(self.max_factor, max(self.min_factor, factor))

    def stats(self) -> dict[str, dict[str, float]]:
        """Per pattern: posterior ``alpha``/``beta``, ``precision`` (mean), ``n`` verdicts, ``factor``."""
        out = {}
        for pattern_id, s in sorted(self._stats.items()):
            alpha = self.prior_alpha + s.true_alarms
            beta = self.prior_beta + s.false_alarms
            out[pattern_id] = {
                "alpha": alpha,
                "beta": beta,
                "precision": alpha / (alpha + beta),
                "n": s.true_alarms + s.false_alarms,
                "factor": self.weight_of(pattern_id, 1.0),
            }
        return out

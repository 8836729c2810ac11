"""A river optimizer whose step for each feature shrinks with how often that feature has been learned.

Why it exists: when analysts start confirming ads that carry a *new* code word, the only thing those
ads have in common is the new word; everything else in them is ordinary text the model has seen
thousands of times. Plain SGD spreads each correction evenly over every word in the ad, so after a
few dozen verdicts the ordinary words of an independent adult's ad have been pushed up too, and
benign look-alikes start to alert (measured in ``bench/learning.py --compare``: 45% false alarms).
River's AdaGrad scales by accumulated *squared gradients*, which stay small for well-known words once
the model fits them, so it behaves much the same (49%). Scaling each feature's step by
``1 / sqrt(1 + times the feature was updated)`` — the idea behind confidence-weighted learners such
as AROW, where well-observed features have low variance — puts the correction on the novel word and
leaves the established vocabulary nearly where it is (3% false alarms on its own, under 1% with the
replay the text model adds, at the same recall).

It plugs into river's own :class:`~river.linear_model.LogisticRegression` through river's
:class:`~river.optim.base.Optimizer` contract, so the model, loss and intercept handling stay river's.
The counters live in a plain dict keyed by hashed feature id, bounded by the hasher's width.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from river import optim

from trailhound.detectors.online.state_checks import check_int

__all__ = ["RaritySGD"]


class RaritySGD(optim.base.Optimizer):
    """SGD with per-feature step ``lr / sqrt(1 + n_updates(feature))``.

    >>> from river import linear_model
    >>> opt = RaritySGD(lr=0.5)
    >>> model = linear_model.LogisticRegression(optimizer=opt)
    >>> for _ in range(3):
    ...     model.learn_one({1: 1.0}, True)
    >>> opt.counts[1]
    3
    """

    def __init__(self, lr: float = 0.5) -> None:
        super().__init__(lr)
        self.counts: dict[Any, int] = {}

    def state(self) -> dict[str, Any]:
        """Step counts and iterations as plain data for a checkpoint."""
        return {"n_iterations": self.n_iterations, "counts": [[int(k), n] for k, n in self.counts.items()]}

    def restore(self, state: Mapping[str, Any], max_feature: int) -> None:
        """Load :meth:`state`; feature ids above ``max_feature`` or negative counts are refused."""
        self.n_iterations = check_int(state["n_iterations"], 0)
        self.counts = {check_int(k, 0, max_feature): check_int(n, 0) for k, n in state["counts"]}

    def _step_with_dict(self, w: Any, g: Any) -> Any:
        lr = self.learning_rate
        counts = self.counts
        for i, gi in g.items():
            n = counts.get(i, 0)
            counts[i] = n + 1
            w[i] -= lr * gi / math.sqrt(1.0 + n)
        return w

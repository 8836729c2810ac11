"""The verdicts already learned, remembered for a bounded window so a replayed copy is refused.

Why it exists: anyone who can read the ``feedback`` topic can copy a signed verdict and write it again;
learning it twice would double its weight. Remembering every verdict id forever grows without bound, so
ids are kept for ``max_age_s`` after the newest verdict's date (and at most ``max_ids`` of them), and a
verdict dated at or before the oldest forgotten one is refused as stale: a copy can never slip in
after its original was forgotten. Verdicts arrive on the topic in roughly date order, so rebuilding the
models from the whole topic refuses nothing genuine.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

from trailhound.detectors.online.state_checks import check_float, check_list

__all__ = ["VerdictWindow"]

DAY_S = 86_400.0
_NEVER = -1e18  # before any date (finite, so it stays valid JSON)


class VerdictWindow:
    """Verdict ids learned in the last ``max_age_s`` (by verdict date), oldest first."""

    def __init__(self, max_age_s: float = 90 * DAY_S, max_ids: int = 1_000_000) -> None:
        self.max_age_s = max_age_s
        self.max_ids = max_ids
        self._ids: OrderedDict[str, float] = OrderedDict()
        self.newest = _NEVER
        self.horizon = _NEVER
        """Verdicts dated at or before this were forgotten (or would have been): refused as stale."""

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, verdict_id: object) -> bool:
        return verdict_id in self._ids

    def refusal(self, verdict_id: str, at: float) -> str | None:
        """Why this verdict must not be learned (replayed or stale), or None."""
        if verdict_id in self._ids:
            return f"replayed: verdict {verdict_id} was learned already"
        if at <= self.horizon:
            return f"stale: dated before the {self.max_age_s / DAY_S:g}-day replay window of learned verdicts"
        return None

    def add(self, verdict_id: str, at: float) -> None:
        self._ids[verdict_id] = at
        self.newest = max(self.newest, at)
        self.horizon = max(self.horizon, self.newest - self.max_age_s)
        while self._ids:
            oldest_id, oldest_at = next(iter(self._ids.items()))
            if len(self._ids) <= self.max_ids and oldest_at > self.horizon:
                break
            del self._ids[oldest_id]
            self.horizon = max(self.horizon, oldest_at)

    def state(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "ids": [[verdict_id, at] for verdict_id, at in self._ids.items()]}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.horizon = check_float(state["horizon"], _NEVER)
        for verdict_id, at in check_list(state["ids"], self.max_ids):
            if not isinstance(verdict_id, str):
                raise ValueError("verdict ids must be strings")
            self.add(verdict_id, check_float(at, _NEVER))

"""All online models of one worker as one object: what a verdict changes, what a checkpoint holds.

Why it exists: a verdict touches several models at once (the text model learns it, the patterns that
fired get their precision updated, the progressive metrics record the score *before* learning, the
drift monitors see the error), and the worker must checkpoint and restore them together so a restart
never mixes states. ``dumps``/``loads`` write and read *data only*: each model's weights, counts and
windows as JSON (compressed), behind a header naming the format and river version. Restoring builds
fresh models and loads the numbers into them, checking every type and range, so a forged checkpoint
can at worst be refused; it can never run code (pickles could, which is why they are not used). The
rolling windows river keeps in compiled code (ADWIN, rolling quantiles and ROC AUC) are rebuilt by
replaying the recent values each component keeps beside them.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterable, Mapping
from typing import Any

import river

from trailhound.detectors.base import Detection
from trailhound.detectors.online.drift import DriftEvent, DriftMonitor
from trailhound.detectors.online.entity_anomaly import EntityAnomaly
from trailhound.detectors.online.labels import is_positive
from trailhound.detectors.online.metrics import ProgressiveMetrics
from trailhound.detectors.online.pattern_precision import PatternPrecision
from trailhound.detectors.online.state_checks import check_int
from trailhound.detectors.online.text_model import TextModel
from trailhound.detectors.online.verdict_window import VerdictWindow

__all__ = ["ModelStateError", "OnlineModels"]

_MAGIC = b"TRAILHOUND-ONLINE-MODELS\n"
_FORMAT = 3  # 3: plain JSON state (2 and older were pickles and are never read)
MAX_STATE_BYTES = 64 * 1024 * 1024
_METRICS_GENERATION = 100


class ModelStateError(ValueError):
    """A checkpoint that cannot be loaded here (wrong format, other river version, corrupt)."""


class OnlineModels:
    """Text model, pattern precision, entity anomaly, drift monitor and progressive metrics."""

    def __init__(
        self,
        text_model: TextModel | None = None,
        pattern_precision: PatternPrecision | None = None,
        entity_anomaly: EntityAnomaly | None = None,
        drift: DriftMonitor | None = None,
        metrics: ProgressiveMetrics | None = None,
        lineage: str = "cold",
    ) -> None:
        self.text_model = text_model or TextModel()
        self.pattern_precision = pattern_precision or PatternPrecision()
        self.entity_anomaly = entity_anomaly or EntityAnomaly()
        self.drift = drift or DriftMonitor()
        self.metrics = metrics or ProgressiveMetrics()
        self.lineage = lineage
        self.verdicts = 0
        self.learned_verdict_ids = VerdictWindow()
        """Ids of the verdicts learned (windowed), checkpointed with the models so a replayed verdict is refused."""

    def set_retention(self, verdict_window_s: float, contact_ttl_s: float) -> None:
        """How long learned verdict ids and per-contact windows are kept (operators' settings)."""
        self.learned_verdict_ids.max_age_s = verdict_window_s
        self.entity_anomaly.ttl_s = contact_ttl_s

    @property
    def version(self) -> str:
        """``<lineage>+<verdicts learned>``: equal on every worker that learned the same verdicts."""
        return f"{self.lineage}+{self.verdicts}"

    @property
    def metrics_version(self) -> str:
        """The version label metrics are grouped by: one per ``100`` verdicts, to keep series few."""
        return f"{self.lineage}+{self.verdicts // _METRICS_GENERATION * _METRICS_GENERATION}"

    # -- per post ----------------------------------------------------------------------------------

    def score_all(self, post: dict[str, Any]) -> list[Detection]:
        """Every online model's detection for one enriched post (no state changes)."""
        return [self.text_model.score_one(post), self.entity_anomaly.score_one(post)]

    def observe(self, post: dict[str, Any], detections: Iterable[Detection] = ()) -> list[DriftEvent]:
        """After scoring a post: learn its entity's behaviour and watch the score streams for drift."""
        self.entity_anomaly.learn_one(post)
        events = []
        for detection in detections:
            event = self.drift.update(f"{detection.detector}.score", detection.score)
            if event is not None:
                events.append(event)
        return events

    # -- per verdict -------------------------------------------------------------------------------

    def learn_verdict(
        self,
        post: dict[str, Any],
        label: str,
        pattern_ids: Iterable[str] = (),
        scores: Mapping[str, float] | None = None,
    ) -> list[DriftEvent]:
        """Everything one analyst verdict implies; returns drift events on the error streams.

        ``scores`` may carry other detectors' scores for the post (e.g. ``{"patterns": 0.7,
        "combined": 0.8}``) so their progressive metrics and error drift are tracked too.
        """
        y = is_positive(label)
        version = self.metrics_version
        before = {
            self.text_model.name: self.text_model.predict(post),
            self.entity_anomaly.name: self.entity_anomaly.score_one(post).score,
        }
        before.update(scores or {})
        for name, score in before.items():
            self.metrics.update(name, version, y, score)
        self.text_model.learn_one(post, label)
        self.pattern_precision.observe(pattern_ids, y)
        events = []
        for name, score in before.items():
            if name == self.entity_anomaly.name:
                continue  # unsupervised: its disagreement with verdicts is expected, not drift
            event = self.drift.update(f"{name}.error", abs(float(y) - score))
            if event is not None:
                events.append(event)
        self.verdicts += 1
        return events

    # -- cold start --------------------------------------------------------------------------------

    @classmethod
    def warm_start(cls, posts_with_labels: Iterable[tuple[dict[str, Any], str]], **components: Any) -> OnlineModels:
        """New models trained on labelled enriched posts (e.g. the synthetic feed).

        The text model learns every post; the anomaly detector learns what ordinary entity behaviour
        looks like, then forgets the (synthetic) entities themselves. Pattern precision starts at its
        prior: it learns from real verdicts only.
        """
        models = cls(**components)
        n = 0
        for post, label in posts_with_labels:
            models.text_model.learn_one(post, label, replay=False)
            models.entity_anomaly.learn_one(post)
            n += 1
        models.entity_anomaly.forget_entities()
        models.lineage = f"warm{n}"
        return models

    # -- checkpoints -------------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Everything learned, as plain JSON data (weights, counts, windows; no code, no pickles)."""
        return {
            "lineage": self.lineage, "verdicts": self.verdicts, "verdict_ids": self.learned_verdict_ids.state(),
            "text_model": self.text_model.state(), "pattern_precision": self.pattern_precision.state(),
            "entity_anomaly": self.entity_anomaly.state(), "drift": self.drift.state(),
            "metrics": self.metrics.state(),
        }

    @classmethod
    def from_state(cls, state: Any) -> OnlineModels:
        """Fresh models with ``state`` loaded into them; :class:`ModelStateError` if anything is off."""
        try:
            models = cls(lineage=str(state["lineage"]))
            models.verdicts = check_int(state["verdicts"], 0)
            models.learned_verdict_ids.restore(state["verdict_ids"])
            models.text_model.restore(state["text_model"])
            models.pattern_precision.restore(state["pattern_precision"])
            models.entity_anomaly.restore(state["entity_anomaly"])
            models.drift.restore(state["drift"])
            models.metrics.restore(state["metrics"])
        except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
            raise ModelStateError(f"model checkpoint holds malformed state ({type(exc).__name__}: {exc})") from exc
        return models

    def dumps(self) -> bytes:
        """Checkpoint bytes: a one-line JSON header, then the zlib-compressed JSON state."""
        header = {"format": _FORMAT, "river": river.__version__, "version": self.version}
        body = zlib.compress(json.dumps(self.state(), separators=(",", ":")).encode("utf-8"), 6)
        return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body

    @classmethod
    def loads(cls, data: bytes) -> OnlineModels:
        """Restore a checkpoint written by :meth:`dumps`: JSON data only, bounded, checked field by field."""
        header = cls.checkpoint_header(data)
        if header.get("format") != _FORMAT:
            raise ModelStateError(f"model checkpoint format {header.get('format')!r} is not {_FORMAT}")
        if header.get("river") != river.__version__:
            raise ModelStateError(
                f"model checkpoint was written with river {header.get('river')}, this worker runs river "
                f"{river.__version__}; rebuild the models (warm start + verdict history) instead of loading it"
            )
        body = data[len(_MAGIC):].split(b"\n", 1)[1]
        inflate = zlib.decompressobj()
        try:
            text = inflate.decompress(body, MAX_STATE_BYTES)
            if inflate.unconsumed_tail:
                raise ModelStateError(f"model checkpoint inflates to more than {MAX_STATE_BYTES} bytes")
            state = json.loads(text)
        except (zlib.error, ValueError, RecursionError) as exc:
            raise ModelStateError(f"model checkpoint is corrupt: {exc}") from exc
        if not isinstance(state, dict):
            raise ModelStateError("model checkpoint state is not a JSON object")
        return cls.from_state(state)

    @staticmethod
    def checkpoint_header(data: bytes) -> dict[str, Any]:
        """The JSON header of a checkpoint (cheap: the state is not read)."""
        if not data.startswith(_MAGIC):
            raise ModelStateError("not a Trailhound model checkpoint (missing header)")
        line = data[len(_MAGIC):].split(b"\n", 1)[0]
        try:
            header = json.loads(line)
        except ValueError as exc:
            raise ModelStateError(f"model checkpoint header is not JSON: {exc}") from exc
        if not isinstance(header, dict):
            raise ModelStateError("model checkpoint header is not a JSON object")
        return header

"""All online models of one worker as one object: what a verdict changes, what a checkpoint holds.

Why it exists: a verdict touches several models at once (the text model learns it, the patterns that
fired get their precision updated, the progressive metrics record the score *before* learning, the
drift monitors see the error), and the worker must checkpoint and restore them together so a restart
never mixes states. ``dumps``/``loads`` pickle the whole object behind a header naming the river and
Python versions; a checkpoint from another river version is refused with a clear error instead of
unpickling into subtly broken models (river does not promise pickle compatibility across versions).

Only load checkpoints from a trusted place (your own Kafka topic or Elasticsearch index): unpickling
runs code.
"""

from __future__ import annotations

import json
import pickle
import sys
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
from trailhound.detectors.online.text_model import TextModel

__all__ = ["ModelStateError", "OnlineModels"]

_MAGIC = b"TRAILHOUND-ONLINE-MODELS\n"
_FORMAT = 2  # 2: remembers the ids of the verdicts it learned
_METRICS_GENERATION = 100


class ModelStateError(ValueError):
    """A checkpoint that cannot be loaded here (wrong format, other river version, corrupt)."""


def _python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


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
        self.learned_verdict_ids: set[str] = set()
        """Ids of the verdicts learned, checkpointed with the models so a replayed verdict is refused."""

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

    def dumps(self) -> bytes:
        """Checkpoint bytes: a one-line JSON header, then the zlib-compressed pickle."""
        header = {"format": _FORMAT, "river": river.__version__, "python": _python(), "version": self.version}
        body = zlib.compress(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL), 6)
        return _MAGIC + json.dumps(header, sort_keys=True).encode() + b"\n" + body

    @classmethod
    def loads(cls, data: bytes) -> OnlineModels:
        """Restore a checkpoint written by :meth:`dumps` with the same river and Python versions."""
        header = cls.checkpoint_header(data)
        if header.get("format") != _FORMAT:
            raise ModelStateError(f"model checkpoint format {header.get('format')!r} is not {_FORMAT}")
        if header.get("river") != river.__version__:
            raise ModelStateError(
                f"model checkpoint was written with river {header.get('river')}, this worker runs river "
                f"{river.__version__}; rebuild the models (warm start + verdict history) instead of loading it"
            )
        if header.get("python") != _python():
            raise ModelStateError(
                f"model checkpoint was written with Python {header.get('python')}, this worker runs {_python()}"
            )
        body = data[len(_MAGIC):].split(b"\n", 1)[1]
        try:
            models = pickle.loads(zlib.decompress(body))
        except Exception as exc:  # corrupt bytes surface as many different exception types
            raise ModelStateError(f"model checkpoint is corrupt: {exc}") from exc
        if not isinstance(models, cls):
            raise ModelStateError(f"model checkpoint holds a {type(models).__name__}, not {cls.__name__}")
        return models

    @staticmethod
    def checkpoint_header(data: bytes) -> dict[str, Any]:
        """The JSON header of a checkpoint (cheap: nothing is unpickled)."""
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

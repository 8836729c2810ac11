"""The detection stage decides every post of the evaluation set as it did when the record was taken.

Why it exists: the per-post path (normalise, language, extract, match, text model, entity anomaly,
assess) is tuned for speed, and a faster path must reach the same decisions, with the same evidence,
scores and entities. ``tests/data/eval_decisions.jsonl`` records, for every post of
``bench/data/eval.jsonl``, what a worker concluded: the alert and its score as they are, and a digest
of the details (each pattern with its span and weight, the text model's score and words, the anomaly
score, the language, the entities, the normalised text with its map); a failure prints the details.
The models are warm-started on 300 synthetic posts (seeded) and observe every post in turn, so the
anomaly trees also pass through several windows.

A change that is *meant* to change decisions (a new pattern, a retuned model) re-records the file with
``.venv/bin/python -m tests.unit.test_eval_decisions`` and says in its commit what changed and why
(``bench/quality.py`` shows whether quality held).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from trailhound.alerts.scoring import assess
from trailhound.config import Settings
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.library import BUNDLED_PATTERNS, PatternLibrary
from trailhound.streams.enrich import enrich_post
from trailhound.streams.warm_start import warm_start_synthetic

ROOT = Path(__file__).resolve().parents[2]
EVAL = ROOT / "bench" / "data" / "eval.jsonl"
RECORD = ROOT / "tests" / "data" / "eval_decisions.jsonl"


def decisions() -> list[dict[str, Any]]:
    """What the worker's detection concludes about each evaluation post, in order, with ``details``."""
    # A generous match budget: the record must not depend on how busy the machine is.
    detectors = DetectorSet(PatternLibrary.load(BUNDLED_PATTERNS), warm_start_synthetic(300), match_budget_s=10.0)
    threshold = Settings().alert_threshold
    out = []
    for line in EVAL.read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        enriched = enrich_post(post, 0.0)
        detections = detectors.score(enriched)
        result = assess(detections, threshold, detectors.supporting_categories)
        detectors.observe(enriched, detections)
        by_name = {d.detector: d for d in detections}
        entities = {k: v for k, v in enriched["entities"].items() if k != "mentions"}
        norm = json.dumps(enriched["normalized"], ensure_ascii=False, sort_keys=True).encode("utf-8")
        details = {
            "patterns": [[i.pattern_id, *i.span, round(i.weight, 4)] for i in by_name["patterns"].indicators],
            "text_model": round(by_name["text_model"].score, 6),
            "words": [i.pattern_id.split(":", 1)[1] for i in by_name["text_model"].indicators],
            "anomaly": round(by_name["entity_anomaly"].score, 6), "language": enriched["language"],
            "entities": entities, "mentions": enriched["entities"]["mentions"],
            "normalized": hashlib.sha256(norm).hexdigest()[:16], "key": enriched["entity_key"],
        }
        digest = hashlib.sha256(json.dumps(details, ensure_ascii=False, sort_keys=True).encode("utf-8")).hexdigest()
        out.append({"id": post["id"], "alert": result.should_alert, "score": result.score, "digest": digest[:16],
                    "details": details})
    return out


def _recorded(decision: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in decision.items() if k != "details"}


def test_every_evaluation_post_is_decided_as_recorded() -> None:
    recorded = [json.loads(line) for line in RECORD.read_text(encoding="utf-8").splitlines()]
    now = decisions()
    assert [d["id"] for d in now] == [d["id"] for d in recorded]
    changed = [(old, new) for old, new in zip(recorded, now, strict=True) if old != _recorded(new)]
    assert not changed, f"{len(changed)} posts decided differently, first: {changed[0]}"
    # A record worth checking: many alerts, the anomaly trees trained, the text model's words shown.
    assert sum(d["alert"] for d in now) > 500
    assert sum(d["details"]["anomaly"] > 0 for d in now) > 500
    assert sum(bool(d["details"]["words"]) for d in now) > 500


if __name__ == "__main__":
    RECORD.parent.mkdir(parents=True, exist_ok=True)
    RECORD.write_text("".join(json.dumps(_recorded(d), sort_keys=True) + "\n" for d in decisions()), encoding="utf-8")
    print(f"recorded {RECORD.relative_to(ROOT)}")

"""OnlineModels: what one verdict changes, and checkpoints that restore exactly or refuse clearly."""

from __future__ import annotations

import contextlib
import json
from functools import cache
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.detectors.online.ensemble import ModelStateError, OnlineModels
from trailhound.streams.warm_start import enrich_raw, synthetic_training_set


@cache
def _training() -> tuple[tuple[dict[str, Any], str], ...]:
    return tuple(synthetic_training_set(600, seed=31))


def _warm() -> OnlineModels:
    return OnlineModels.warm_start(_training())


def _post(body: str, post_id: str, when: str = "2026-03-05T10:00:00Z") -> dict[str, Any]:
    return enrich_raw({"id": post_id, "source": "test.example", "posted_at": when, "body": body})


def test_warm_start_names_its_lineage_and_scores_posts() -> None:
    models = _warm()
    assert models.version == "warm600+0"
    detections = models.score_all(_post("Sweet young girl just started, my girls wait, text 312-555-0101", "a"))
    florist = models.score_all(_post("Fresh roses delivered in Denver, a dozen for $40. Call 303-555-0108", "f"))
    assert [d.detector for d in detections] == ["text_model", "entity_anomaly"]
    assert detections[0].score > florist[0].score + 0.2


def test_a_verdict_updates_every_model_it_concerns() -> None:
    models = _warm()
    post = _post("Hi, I'm Iris, rates on my website. Ask about the moonquill offer. Text 415-555-0133", "b")
    before = models.text_model.predict(post)
    events = models.learn_verdict(post, "trafficking", pattern_ids=["movement.new_in_town"])
    assert events == []
    assert models.version == "warm600+1"
    assert models.text_model.predict(post) > before
    assert models.pattern_precision.stats()["movement.new_in_town"]["n"] == 1
    snap = models.metrics.snapshot()
    assert snap["text_model"]["warm600+0"]["n"] == 1
    # the metric saw the score from before learning: a missed positive at threshold 0.5
    assert snap["text_model"]["warm600+0"]["recall"] == (1.0 if before >= 0.5 else 0.0)


def test_observe_learns_entity_behaviour_for_every_post() -> None:
    models = _warm()
    post = _post("Open 24/7 laundromat in Denver. Call 303-555-0150.", "c")
    known = len(models.entity_anomaly)
    models.observe(post, models.score_all(post))
    assert len(models.entity_anomaly) == known + 1


def test_dumps_loads_round_trip_gives_identical_scores() -> None:
    models = _warm()
    posts = [p for p, _ in synthetic_training_set(40, seed=32)]
    for post in posts[:20]:
        models.observe(post, models.score_all(post))
    models.learn_verdict(posts[0], "benign", ["youth.fresh"])
    restored = OnlineModels.loads(models.dumps())
    assert restored.version == models.version
    assert len(models.entity_anomaly) > 0 and len(restored.entity_anomaly) == 0  # contacts are never stored
    models.entity_anomaly.forget_entities()
    for post in posts[20:]:
        assert [d.score for d in restored.score_all(post)] == [d.score for d in models.score_all(post)]
    assert restored.pattern_precision.stats() == models.pattern_precision.stats()
    # both keep learning identically after the restore
    models.learn_verdict(posts[21], "trafficking", [])
    restored.learn_verdict(posts[21], "trafficking", [])
    assert restored.text_model.predict(posts[22]) == models.text_model.predict(posts[22])


def test_a_checkpoint_from_another_river_version_is_refused_clearly() -> None:
    data = OnlineModels().dumps()
    header = OnlineModels.checkpoint_header(data)
    magic, rest = data.split(b"\n", 1)
    body = rest.split(b"\n", 1)[1]
    forged = magic + b"\n" + json.dumps({**header, "river": "0.1.0"}).encode() + b"\n" + body
    with pytest.raises(ModelStateError, match="river 0.1.0"):
        OnlineModels.loads(forged)
    with pytest.raises(ModelStateError, match="not a Trailhound model checkpoint"):
        OnlineModels.loads(b"garbage")


def test_verdicts_that_turn_against_the_model_raise_a_drift_event() -> None:
    models = _warm()
    agreeing = [(p, label) for p, label in synthetic_training_set(700, seed=33)]
    events = []
    for post, label in agreeing[:400]:
        events += models.learn_verdict(post, label)
    assert events == []
    flipped = {"trafficking": "benign", "labour_trafficking": "benign", "benign": "trafficking",
               "adult_no_indicators": "trafficking"}
    for post, label in agreeing[400:]:
        events += models.learn_verdict(post, flipped[label])
    assert any(e.model == "text_model" and e.stream == "error" and e.mean_after > e.mean_before for e in events)


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node[:3]):
            out += _paths(value, (*prefix, index))
    return out


_SMALL_STATE = json.loads(json.dumps(OnlineModels.warm_start(synthetic_training_set(60, seed=41)).state()))
_JUNK = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), st.text(max_size=5),
                  st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(_paths(_SMALL_STATE)), _JUNK)
def test_a_tampered_checkpoint_state_loads_or_is_refused_never_crashes(path: tuple, junk: Any) -> None:
    state = json.loads(json.dumps(_SMALL_STATE))
    node = state
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = junk
    with contextlib.suppress(ModelStateError):  # refused is fine; any other exception fails the test
        OnlineModels.from_state(state)

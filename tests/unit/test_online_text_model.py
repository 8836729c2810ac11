"""The text model: learns from verdicts in the right direction, explains itself, stays bounded."""

from __future__ import annotations

from functools import cache
from typing import Any

import pytest
from river import metrics

from trailhound.detectors.base import LearningDetector
from trailhound.detectors.online.text_model import TextModel
from trailhound.streams.warm_start import enrich_raw, synthetic_training_set

ADULT_AD = "Hi, I'm Wren. Independent and easygoing, rates on my website. Text 312-555-0142"


def _post(body: str, post_id: str = "t1") -> dict[str, Any]:
    return enrich_raw({"id": post_id, "source": "test.example", "posted_at": "2026-03-02T10:00:00Z", "body": body})


@cache
def _training() -> tuple[tuple[dict[str, Any], str], ...]:
    return tuple(synthetic_training_set(800, seed=21))


def _warm() -> TextModel:
    model = TextModel()
    for post, label in _training():
        model.learn_one(post, label, replay=False)
    return model


def test_is_a_learning_detector_named_text_model() -> None:
    model = TextModel()
    assert isinstance(model, LearningDetector)
    assert model.score_one(_post(ADULT_AD)).detector == "text_model"


def test_warm_model_separates_trafficking_from_look_alikes() -> None:
    model = _warm()
    held_out = list(synthetic_training_set(300, seed=22))
    auc = metrics.ROCAUC()
    for post, label in held_out:
        auc.update(label in ("trafficking", "labour_trafficking"), model.predict(post))
    neg = [model.predict(p) for p, label in held_out if label in ("benign", "adult_no_indicators")]
    assert auc.get() > 0.85
    assert sum(s >= 0.5 for s in neg) / len(neg) < 0.05


def test_trafficking_verdicts_raise_the_score_of_a_new_code_word() -> None:
    model = _warm()
    carrier = _post(ADULT_AD + " ask about the glimmerfox deal")
    unseen = _post("Hi, I'm Opal, new website and rates. glimmerfox deal tonight. Text 415-555-0100", "t2")
    before, before_unseen = model.predict(carrier), model.predict(unseen)
    for _ in range(5):
        model.learn_one(carrier, "trafficking")
    assert model.predict(carrier) > before + 0.2
    assert model.predict(unseen) > before_unseen
    detection = model.score_one(unseen)
    assert "glimmerfox" in [t["token"] for t in detection.details["top_tokens"]]
    assert "glimmerfox" in detection.explanation


def test_benign_verdicts_lower_the_score() -> None:
    model = _warm()
    post = _post("Fresh new face, first week. Call the manager to book her. Text 312-555-0177")
    before = model.predict(post)
    for _ in range(5):
        model.learn_one(post, "benign")
    assert model.predict(post) < before


def test_evidence_is_shown_as_written_even_when_disguised() -> None:
    model = _warm()
    for _ in range(3):
        model.learn_one(_post("zqvex special tonight, y.o.u.n.g and new"), "trafficking")
    detection = model.score_one(_post("Ask about the Z Q V E X deal, y.o.u.n.g"))
    evidence = {i.pattern_id: i.evidence for i in detection.indicators}
    assert evidence.get("text_model:young") == "y.o.u.n.g"
    assert evidence.get("text_model:zqvex") == "Z Q V E X"


def test_memory_is_bounded_by_the_hash_width() -> None:
    model = TextModel(n_bits=8)
    for i in range(300):
        model.learn_one(_post(f"word{i}a word{i}b word{i}c"), "benign" if i % 2 else "trafficking")
    assert len(model.model._weights) <= 2**8
    assert len(model.memory) <= model.memory.size


def test_unknown_label_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown verdict label"):
        TextModel().learn_one(_post(ADULT_AD), "spam")


@pytest.mark.parametrize("body", [
    "New girl, call six one two five five five zero one six two",
    "Text me at five-five-five, 0162",
    "Contacto: seis uno dos cinco cinco cinco",
    "Call 6 one 2 now",
])
def test_a_number_spelled_in_words_is_no_wording_of_the_model(body: str) -> None:
    """A spelled phone number is a contact, not wording: it never shows as what raised the score."""
    model = _warm()
    digits = {"one", "two", "five", "six", "zero", "seis", "uno", "dos", "cinco", "6", "2"}
    for verdict in range(30):  # even after analysts flagged such ads many times
        model.learn_one(_post(body, f"v{verdict}"), "trafficking")
    words = {w for t in model.score_one(_post(body, "new")).details["top_tokens"] for w in t["token"].split()}
    assert not words & digits, words


@pytest.mark.parametrize("text, kept, dropped", [
    ("two girls together", {"two", "two girls"}, set()),
    ("two, three girls", {"two", "three", "three girls"}, set()),  # two numbers in a row are words
    ("she is only 15", {"only 15", "15"}, set()),  # a short run at the end of the text
    ("only 15. 312-555-0140", {"only 15", "15"}, set()),  # ... and right before a phone number
    ("girls 15 16 17 available", {"15", "16 17", "17 available"}, set()),  # digits alone: ages, not a contact
    ("call 12 five 34 now", {"call", "now"}, {"12", "five", "34", "call 12", "34 now"}),  # two-digit groups count
    ("one two three girls", {"girls"}, {"one", "two", "three", "three girls"}),
])
def test_which_numbers_stay_words(text: str, kept: set[str], dropped: set[str]) -> None:
    from trailhound.detectors.online.features import tokens

    found = {t for t, _, _ in tokens(text)}
    assert kept <= found and not dropped & found, found


def test_a_flag_that_raised_the_score_is_shown_as_a_fact_not_as_words() -> None:
    model = TextModel()
    post = _post("Text only: six1two five5five 0one6two")  # a contact written to get past filters
    assert post["entities"]["contact_obfuscated"]
    (bucket,) = model._hashed("", ["#contact_obfuscated"])[0]
    model.model._weights[bucket] = 2.0
    (flag,) = [i for i in model.score_one(post).indicators if i.pattern_id == "text_model:#contact_obfuscated"]
    assert flag.evidence == "(not words: the contact was written to get past filters)" and flag.span == (0, 0)
    assert "fact extracted from the post" in flag.description

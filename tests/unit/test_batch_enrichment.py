"""Enriching a batch of posts gives each post exactly the record it gets alone.

The enrichment stage enriches batches (``streams.enrich.enrich_posts``) and the language model scores a
whole batch in one pass of NumPy steps (``LanguageDetector.detect_many``); analysts facet on the
language, so a post must be named the same whichever path it took and whatever its neighbours were.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from trailhound.detectors.decoded import decoded_entities, decoded_normalized
from trailhound.detectors.language import LanguageDetector, detect_language, detect_languages
from trailhound.streams.enrich import enrich_post, enrich_posts
from trailhound.synth import generate

EVAL = Path(__file__).resolve().parents[2] / "bench" / "data" / "eval.jsonl"


def _eval_texts() -> list[str]:
    return [json.loads(line)["body"] for line in EVAL.read_text(encoding="utf-8").splitlines()]


def test_a_batch_names_every_post_s_language_as_detecting_it_alone_does() -> None:
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz áéíóúçãñ ёжзийклмн ăîșț đươ .,!?'"
    texts = _eval_texts() + ["", "💋💋 212-555-0101", "新到本地，今晚有空"]
    texts += ["".join(rng.choice(letters) for _ in range(rng.randint(0, 200))) for _ in range(600)]
    rng.shuffle(texts)
    alone = [detect_language(text) for text in texts]
    assert len(set(alone)) >= 10  # the set spans the languages, short texts and scripts
    for size in (1, 7, 8, 100, 500):  # below the batch threshold each post is walked alone
        batched = [lang for i in range(0, len(texts), size) for lang in detect_languages(texts[i:i + size])]
        assert batched == alone, size


def test_a_detector_from_the_cached_tables_batches_alike(tmp_path: Path) -> None:
    LanguageDetector(cache_dir=tmp_path)
    loaded = LanguageDetector(cache_dir=tmp_path)
    texts = _eval_texts()[:300]
    assert loaded.detect_many(texts) == [detect_language(text) for text in texts]


def _posts() -> list[dict]:
    return list(generate(40, seed=11))


def test_a_batch_of_posts_is_enriched_as_each_post_alone() -> None:
    posts = _posts()
    batched = enrich_posts([(post, 5.0) for post in posts])
    alone = [enrich_post(post, 5.0) for post in posts]
    assert json.dumps(batched, sort_keys=True) == json.dumps(alone, sort_keys=True)
    assert all(record["language"] for record in alone)


def test_a_post_that_breaks_enrichment_gets_its_error_and_the_rest_of_the_batch_is_enriched() -> None:
    posts = _posts()[:12]
    broken = {"id": "bad", "source": "s"}  # no body, no posted_at: enrichment raises
    batched = enrich_posts([(post, 5.0) for post in [*posts[:5], broken, *posts[5:]]])
    assert isinstance(batched[5], Exception)
    rest = [record for record in batched if not isinstance(record, Exception)]
    assert rest == [enrich_post(post, 5.0) for post in posts]


def _no_decoding(_data: object) -> None:
    raise AssertionError("decoded a record that enrichment had just built")


def test_the_detectors_read_a_whole_enriched_batch_without_decoding_it(monkeypatch: pytest.MonkeyPatch) -> None:
    batch = enrich_posts([(post, 5.0) for post in _posts()])
    monkeypatch.setattr(decoded_normalized, "_decode", _no_decoding)
    monkeypatch.setattr(decoded_entities, "_decode", _no_decoding)
    for record in batch:
        assert isinstance(record, dict)
        assert decoded_normalized(record["normalized"]).original == record["normalized"]["original"]
        assert decoded_entities(record["entities"]).phones == tuple(record["entities"]["phones"])


def test_the_stage_dead_letters_only_the_post_whose_enrichment_broke(monkeypatch: pytest.MonkeyPatch) -> None:
    from trailhound.schemas import parse_post
    from trailhound.streams import enrich
    from trailhound.streams.enrich_pool import enrich_batch

    posts = _posts()[:6]
    posts[2] = {**posts[2], "body": "BREAKS enrichment"}
    items = [(json.dumps(post).encode(), 5.0) for post in posts] + [(b"{not json", 5.0)]
    real = enrich.extract_entities

    def breaking(norm, hints):  # a bug that only one post's text reaches
        if "breaks" in norm.text:
            raise RuntimeError("extraction bug")
        return real(norm, hints)

    monkeypatch.setattr(enrich, "extract_entities", breaking)
    records = enrich_batch(items, 262_144, 1_764_000_000.0)  # the clock: after every post
    assert "enrichment failed" in records[2].reason and "extraction bug" in records[2].reason
    assert not records[2].invalid and records[-1].invalid
    for i in (0, 1, 3, 4, 5):
        alone = enrich_post(parse_post(items[i][0], 262_144, lambda: 1_764_000_000.0), 5.0)
        assert json.loads(records[i].value) == json.loads(json.dumps(alone))


def test_a_text_the_language_model_cannot_read_fails_only_its_post(monkeypatch: pytest.MonkeyPatch) -> None:
    from trailhound.detectors import language

    real = language._model_input

    def failing(text: str) -> str | bytes:  # a model bug that only one post's text reaches
        if "unreadable" in text:
            raise ValueError("model bug")
        return real(text)

    monkeypatch.setattr(language, "_model_input", failing)
    posts = _posts()[:4]
    unreadable = {**posts[1], "body": "an unreadable text"}
    batched = enrich_posts([(post, 5.0) for post in [posts[0], unreadable, *posts[2:]]])
    assert isinstance(batched[1], ValueError)
    assert [batched[0], *batched[2:]] == [enrich_post(post, 5.0) for post in [posts[0], *posts[2:]]]

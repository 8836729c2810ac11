"""The synthetic feed: deterministic, schema-valid, fictional contacts, and the structure detectors need."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import fastjsonschema

from trailhound.synth import generate, write_jsonl

SCHEMA = Path(__file__).resolve().parents[2] / "trailhound" / "schemas" / "post.schema.json"
FICTIONAL_PHONE = re.compile(r"^\+1\d{3}55501\d\d$")
EXAMPLE_EMAIL = re.compile(r"@example\.(com|org|net)$")


def _posts(n: int = 1500, seed: int = 11) -> list[dict]:
    return list(generate(n, seed))


def test_same_seed_same_feed_and_other_seed_differs() -> None:
    assert _posts(400, 5) == _posts(400, 5)
    assert [p["body"] for p in _posts(400, 5)] != [p["body"] for p in _posts(400, 6)]


def test_every_post_validates_against_the_post_schema() -> None:
    validate = fastjsonschema.compile(json.loads(SCHEMA.read_text("utf-8")))
    posts = _posts()
    for post in posts:
        validate(post)
    assert len({p["id"] for p in posts}) == len(posts)
    assert [p["posted_at"] for p in posts] == sorted(p["posted_at"] for p in posts)


def test_all_four_labels_and_contacts_are_fictional() -> None:
    posts = _posts()
    assert set(Counter(p["synthetic_label"] for p in posts)) == {
        "trafficking", "labour_trafficking", "benign", "adult_no_indicators"}
    for post in posts:
        for phone in post.get("contact", {}).get("phones", []):
            assert FICTIONAL_PHONE.match(phone), phone
        for email in post.get("contact", {}).get("emails", []):
            assert EXAMPLE_EMAIL.search(email), email


def test_trafficking_phones_travel_while_businesses_stay_home() -> None:
    cities: dict[tuple[str, str], set[str]] = defaultdict(set)
    for post in _posts(3000, 2):
        for phone in post.get("contact", {}).get("phones", []):
            cities[(post["synthetic_label"], phone)].add(post["location"]["city"])
    traf = max(len(c) for (label, _), c in cities.items() if label == "trafficking")
    benign = max(len(c) for (label, _), c in cities.items() if label == "benign")
    assert traf >= 3
    assert benign == 1


def test_obfuscation_concentrates_in_trafficking_ads() -> None:
    share: dict[str, list[bool]] = defaultdict(list)
    for post in _posts():
        share[post["synthetic_label"]].append(bool(post["synthetic_obfuscations"]))
    rate = {label: sum(v) / len(v) for label, v in share.items()}
    assert rate["trafficking"] > 0.6
    assert rate["benign"] == 0
    assert rate["adult_no_indicators"] < 0.2


def test_adults_own_ads_carry_no_youth_or_control_language() -> None:
    forbidden = re.compile(r"\b(girls?|young|teen|manager|daddy|driver|barely|my girls)\b", re.I)
    adults = [p for p in _posts() if p["synthetic_label"] == "adult_no_indicators"]
    assert adults
    assert not [p["body"] for p in adults if forbidden.search(p["body"])]


def test_write_jsonl_writes_one_post_per_line(tmp_path: Path) -> None:
    path = tmp_path / "feed.jsonl"
    assert write_jsonl(path, 50, 3) == 50
    lines = path.read_text("utf-8").splitlines()
    assert [json.loads(line) for line in lines] == list(generate(50, 3))

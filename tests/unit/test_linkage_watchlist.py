"""Watchlists: values normalised like the extractors; images found by Hamming distance via the index."""

from __future__ import annotations

import json
import random

import pytest

from trailhound.detectors.linkage.image_index import ImageIndex
from trailhound.detectors.linkage.keys import hamming
from trailhound.detectors.linkage.watchlist import Watchlist, WatchlistError, parse_entries
from trailhound.streams.enrich import enrich_post


def lines(*entries: dict) -> list[str]:
    return [json.dumps(e) for e in entries]


def test_image_index_finds_exactly_the_hashes_within_the_radius() -> None:
    rng = random.Random(3)
    stored = [rng.getrandbits(64) for _ in range(3000)]
    index: ImageIndex[int] = ImageIndex()
    for n, h in enumerate(stored):
        index.add(h, n)
    for radius in (0, 3, 7):
        for _ in range(20):
            query = rng.choice(stored) ^ (1 << rng.randrange(64)) ^ (1 << rng.randrange(64))
            expected = sorted(n for n, h in enumerate(stored) if hamming(h, query) <= radius)
            assert sorted(p for _, _, p in index.search(query, radius)) == expected


def test_an_evasively_written_watched_phone_matches() -> None:
    watch = Watchlist(parse_entries(lines(
        {"kind": "phone", "value": "(212) 555-0112", "case_ref": "NGO-17", "partner": "hotline",
         "visible_to": ["hotline", "police-unit-3"]})))
    post = enrich_post({"id": "1", "source": "t.example", "posted_at": "2025-01-01T00:00:00Z",
                        "body": "sweet new girl, call two one two - five five five - O one one two"}, 0.0)
    (match,) = watch.match(post["entities"], [])
    assert (match.entry.case_ref, match.found, match.entry.visible_to) == ("NGO-17", "+12125550112",
                                                                           ("hotline", "police-unit-3"))
    other = enrich_post({"id": "2", "source": "t.example", "posted_at": "2025-01-01T00:00:00Z",
                         "body": "call 212 555 0113"}, 0.0)
    assert watch.match(other["entities"], []) == []


def test_watched_images_match_within_the_radius_only() -> None:
    watch = Watchlist(parse_entries(lines({"kind": "image", "value": "00ff00ff00ff00ff", "case_ref": "C-1",
                                           "partner": "ngo"})), image_radius=4)
    (match,) = watch.match({}, [{"phash": f"{0x00FF00FF00FF00FF ^ 0b1011:016x}"}])
    assert match.distance == 3
    assert watch.match({}, [{"phash": f"{0x00FF00FF00FF00FF ^ 0b11111:016x}"}]) == []


def test_handles_and_emails_match_case_insensitively() -> None:
    watch = Watchlist(parse_entries(lines({"kind": "handle", "value": "Luna_22", "case_ref": "A", "partner": "p"},
                                          {"kind": "email", "value": "Luna22@Example.com", "case_ref": "B",
                                           "partner": "p"})))
    matches = watch.match({"handles": ["@luna_22"], "emails": ["luna22@example.com"]}, [])
    assert sorted(m.entry.case_ref for m in matches) == ["A", "B"]
    assert matches[0].entry.visible_to == ("p",)  # by default only the partner who listed it


@pytest.mark.parametrize("entry, words", [
    ({"kind": "fax", "value": "1", "case_ref": "A", "partner": "p"}, "kind 'fax'"),
    ({"kind": "phone", "value": "12", "case_ref": "A", "partner": "p"}, "not a valid phone"),
    ({"kind": "phone", "value": "212 555 0112", "partner": "p"}, "case_ref"),
    ({"kind": "image", "value": "xyz", "case_ref": "A", "partner": "p"}, "not a valid image"),
])
def test_bad_entries_are_refused_with_the_line_and_reason(entry: dict, words: str) -> None:
    with pytest.raises(WatchlistError, match="line 2") as error:
        parse_entries(["", json.dumps(entry)])
    assert words in str(error.value)

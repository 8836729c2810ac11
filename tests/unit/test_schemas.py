"""What ingest accepts and how it explains a rejection."""

from __future__ import annotations

import json

import pytest

from trailhound.schemas import InvalidRecord, parse_post, parse_verdict, post_key, validate_alert

GOOD = {"id": "a1", "source": "board", "posted_at": "2026-11-20T10:00:00Z", "body": "hello"}


def encoded(**changes: object) -> bytes:
    return json.dumps({**GOOD, **changes}).encode()


def reason_for(raw: bytes, max_bytes: int = 256 * 1024) -> str:
    with pytest.raises(InvalidRecord) as caught:
        parse_post(raw, max_bytes)
    return caught.value.reason


def test_a_complete_post_is_accepted_and_unknown_fields_are_kept():
    post = parse_post(encoded(title="t", location={"city": "Springfield"}, images=[{"phash": "0f" * 8}],
                              scraper_run="r-17"))
    assert post["scraper_run"] == "r-17"
    assert post_key(post) == "board:a1"


@pytest.mark.parametrize(("raw", "expected"), [
    (b"{broken", "not valid JSON"),
    (b"[1, 2]", "must be a JSON object"),
    (json.dumps({k: v for k, v in GOOD.items() if k != "body"}).encode(), "body"),
    (encoded(body="   "), "blank"),
    (encoded(id=5), "post.id must be string"),
    (encoded(posted_at="last tuesday"), "date-time"),
    (encoded(posted_at="2026-06-30T23:59:60Z"), "not a valid RFC 3339 date"),
    (encoded(posted_at="0001-01-01T00:00:00Z"), "before 1990"),
    (encoded(posted_at="2999-01-01T00:00:00Z"), "in the future"),
    (encoded(images=[{"phash": "nothex"}]), "phash"),
    (encoded(contact={"phones": "555-0100"}), "post.contact.phones must be array"),
    (b'{"id": "x", "body": "\xff"}', "not valid UTF-8"),
])
def test_invalid_posts_are_rejected_with_a_reason_naming_the_problem(raw, expected):
    assert expected in reason_for(raw)


def test_dates_come_back_in_one_utc_form_elasticsearch_reads():
    assert parse_post(encoded(posted_at="2026-11-20t10:00:00z"))["posted_at"] == "2026-11-20T10:00:00.000Z"
    assert parse_post(encoded(posted_at="2026-11-20T12:00:00+02:00"))["posted_at"] == "2026-11-20T10:00:00.000Z"
    ok = {"post_id": "board:a1", "label": "benign", "analyst": "ana", "at": "2026-11-20t09:00:00z"}
    assert parse_verdict(json.dumps(ok))["at"] == "2026-11-20T09:00:00.000Z"


def test_oversize_posts_are_rejected_before_parsing():
    assert "over the 1000-byte limit" in reason_for(encoded(body="x" * 2000), max_bytes=1000)


def test_verdicts_need_a_known_label_and_a_subject():
    ok = {"post_id": "board:a1", "label": "benign", "analyst": "ana", "at": "2026-11-20T10:00:00Z"}
    assert parse_verdict(json.dumps(ok))["label"] == "benign"
    with pytest.raises(InvalidRecord, match="label"):
        parse_verdict(json.dumps({**ok, "label": "maybe"}))
    with pytest.raises(InvalidRecord):
        parse_verdict(json.dumps({k: v for k, v in ok.items() if k != "post_id"}))


def test_alert_schema_rejects_an_alert_without_evidence_fields():
    with pytest.raises(InvalidRecord, match="trailhound"):
        validate_alert({"@timestamp": "2026-11-20T10:00:00Z", "message": "m", "event": {}, "rule": {}, "tags": []})

"""Finding 3 (pure part): what the producer could not encode is refused with a reason, never a crash."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from trailhound.schemas import InvalidRecord, parse_post

GOOD = '{"id": "a1", "source": "board", "posted_at": "2026-11-20T10:00:00Z", "body": "hello"'


@pytest.mark.parametrize(("extra", "reason"), [
    (', "title": "\\ud800"', "post.title holds a lone surrogate"),
    (', "location": {"city": "x\\udfff"}', "post.location.city holds a lone surrogate"),
    (', "\\udc00": 1', "key with a lone surrogate"),
    (', "x": ' + "[" * 1000 + "]" * 1000, "nested more than 32 levels"),
    (', "x": ' + "[" * 33 + "]" * 33, "nested more than 32 levels"),
    (', "x": ' + "9" * 4301, "too many digits"),
    (', "x": ' + str(2**63), "outside the 64-bit range"),
    (', "x": NaN', "NaN is not a JSON number"),
])
def test_what_the_producer_cannot_encode_is_refused_with_a_reason(extra: str, reason: str) -> None:
    with pytest.raises(InvalidRecord, match=reason):
        parse_post((GOOD + extra + "}").encode())


def test_the_limits_are_exact_and_real_text_passes() -> None:
    post = parse_post((GOOD + ', "x": ' + "[" * 31 + "]" * 31 + ', "n": ' + str(2**63 - 1)
                       + ', "emoji": "\\ud83d\\ude00"}').encode())
    assert post["emoji"] == "\N{GRINNING FACE}"
    assert parse_post((GOOD + ', "n": ' + str(-(2**63)) + "}").encode())["n"] == -(2**63)


@settings(max_examples=300, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
                    max_leaves=40))
def test_any_json_value_in_a_post_is_either_accepted_and_encodable_or_refused(value: object) -> None:
    raw = (GOOD + ', "extra": ' + json.dumps(value) + "}").encode()
    try:
        post = parse_post(raw)
    except InvalidRecord as exc:
        assert exc.reason
        return
    json.dumps(post, ensure_ascii=False).encode("utf-8")  # what the producer does next

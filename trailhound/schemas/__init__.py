"""The shared record schemas (posts, alerts, verdicts) and the one place that enforces them.

The JSON Schema files beside this module are the documented contract with scrapers, partner feeds and
Kibana users; every stage imports its checks from here instead of re-stating field rules. Validation uses
``fastjsonschema`` because it compiles a schema into Python code once, which keeps ingest validation far
cheaper per post than an interpreting validator at thousands of posts per second.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

import fastjsonschema

from trailhound.clock import Clock, system_clock
from trailhound.config import DEFAULT_MAX_JSON_DEPTH, DEFAULT_MAX_POST_BYTES
from trailhound.timefmt import iso, parse_rfc3339

__all__ = [
    "InvalidRecord",
    "load_schema",
    "parse_post",
    "parse_verdict",
    "post_key",
    "post_text",
    "validate_alert",
]


_SURROGATE = re.compile(r"[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")  # how a surrogate reaches decoded JSON text


class InvalidRecord(ValueError):
    """A record that breaks its schema; ``reason`` is the sentence shown to whoever sent it."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_schema(name: str) -> dict[str, Any]:
    """The parsed JSON Schema ``<name>.schema.json`` shipped with the package."""
    text = resources.files(__package__).joinpath(f"{name}.schema.json").read_text("utf-8")
    return json.loads(text)


@cache
def _validator(name: str) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(name))


def _check(schema: str, record: Any, what: str) -> None:
    try:
        _validator(schema)(record)
    except fastjsonschema.JsonSchemaValueException as exc:
        where = exc.name.replace("data", what, 1) if exc.name else what
        raise InvalidRecord(f"{where}: {exc.message.replace('data', what, 1)}") from None


def _decode(raw: bytes | str, what: str, max_bytes: int, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> Any:
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "surrogatepass")
    if len(raw) > max_bytes:
        raise InvalidRecord(f"{what} is {len(raw)} bytes, over the {max_bytes}-byte limit")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidRecord(f"{what} is not valid UTF-8 (byte {exc.start})") from None
    try:
        value = _DECODER.decode(text)  # json.loads(text, parse_constant=...), without a decoder per call
    except json.JSONDecodeError as exc:
        raise InvalidRecord(f"{what} is not valid JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise InvalidRecord(f"{what} is nested more than {max_depth} levels deep") from None
    except ValueError as exc:  # an integer of more digits than Python converts, NaN, Infinity
        problem = "a number has too many digits" if "digits" in str(exc) else str(exc)
        raise InvalidRecord(f"{what} is not usable JSON: {problem}") from None
    if not _encodable(value, max_depth, strings=bool(_SURROGATE_ESCAPE.search(text))):
        _check_encodable(value, what, max_depth)  # the slow walk that says where the problem is
    return value


def _encodable(value: Any, max_depth: int, strings: bool) -> bool:
    """Cheap first pass of :func:`_check_encodable`: only strings with surrogate escapes need a look."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        kind = type(node)
        if kind is str:
            if strings and _SURROGATE.search(node):
                return False
        elif kind is int:
            if not -INT64 <= node < INT64:
                return False
        elif kind is dict or kind is list:
            if depth > max_depth:
                return False
            if kind is dict:
                if strings and any(_SURROGATE.search(key) for key in node):
                    return False
                node = node.values()
            stack.extend((item, depth + 1) for item in node if type(item) is not str or strings)
    return True


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)


INT64 = 2**63


def _check_encodable(value: Any, what: str, max_depth: int) -> None:
    """Refuse what later stages (Kafka, Elasticsearch, ``json.dumps``) could not encode or store.

    Lone surrogates (``"\\ud800"``) are valid JSON escapes but not text, nesting beyond ``max_depth``
    exhausts recursion in encoders, and integers outside 64 bits have no Elasticsearch type. Walks the
    decoded value without recursion.
    """
    stack: list[tuple[Any, str, int]] = [(value, what, 1)]
    while stack:
        node, where, depth = stack.pop()
        if isinstance(node, str):
            if _SURROGATE.search(node):
                raise InvalidRecord(f"{where} holds a lone surrogate (an escape like \\ud800 that is not text)")
        elif isinstance(node, bool) or node is None or isinstance(node, float):
            continue
        elif isinstance(node, int):
            if not -INT64 <= node < INT64:
                raise InvalidRecord(f"{where} is a number outside the 64-bit range")
        elif depth > max_depth:
            raise InvalidRecord(f"{what} is nested more than {max_depth} levels deep")
        elif isinstance(node, dict):
            for key, item in node.items():
                if _SURROGATE.search(key):
                    raise InvalidRecord(f"{where} has a key with a lone surrogate")
                stack.append((item, f"{where}.{key}"[:200], depth + 1))
        elif isinstance(node, list):
            stack.extend((item, f"{where}[{n}]"[:200], depth + 1) for n, item in enumerate(node))


def parse_post(raw: bytes | str, max_bytes: int = DEFAULT_MAX_POST_BYTES,
               clock: Clock = system_clock, max_depth: int = DEFAULT_MAX_JSON_DEPTH) -> dict[str, Any]:
    """Decode and validate one post; raise :class:`InvalidRecord` with a readable reason.

    Everything the producer and Elasticsearch could not encode is refused here, with the reason
    (lone surrogates, nesting deeper than ``max_depth``, numbers beyond 64 bits, NaN).
    ``posted_at`` comes back in one canonical UTC form, so every date Elasticsearch stores parses.
    """
    post = _decode(raw, "post", max_bytes, max_depth)
    if not isinstance(post, dict):
        raise InvalidRecord(f"post must be a JSON object, not {type(post).__name__}")
    _check("post", post, "post")
    if not post["body"].strip():
        raise InvalidRecord("post.body is blank")
    post["posted_at"] = _canonical_posted_at(post["posted_at"], clock())
    return post


EARLIEST_POST = datetime(1990, 1, 1, tzinfo=UTC).timestamp()
FUTURE_SLACK_S = 2 * 24 * 3600


def _canonical(value: str, where: str) -> tuple[str, float]:
    try:
        ts = parse_rfc3339(value)
    except ValueError:
        raise InvalidRecord(f"{where}: {value!r} is not a valid RFC 3339 date") from None
    return iso(ts), ts


def _canonical_posted_at(value: str, now: float) -> str:
    """The date in UTC as Elasticsearch reads it, between 1990 and two days from now (clock skew)."""
    canonical, ts = _canonical(value, "post.posted_at")
    if ts < EARLIEST_POST:
        raise InvalidRecord(f"post.posted_at: {value!r} is before 1990")
    if ts > now + FUTURE_SLACK_S:
        raise InvalidRecord(f"post.posted_at: {value!r} is in the future")
    return canonical


def parse_verdict(raw: bytes | str) -> dict[str, Any]:
    """Decode and validate one analyst verdict."""
    verdict = _decode(raw, "verdict", 64 * 1024)
    if not isinstance(verdict, dict):
        raise InvalidRecord(f"verdict must be a JSON object, not {type(verdict).__name__}")
    _check("feedback", verdict, "verdict")
    verdict["at"] = _canonical(verdict["at"], "verdict.at")[0]
    return verdict


def validate_alert(alert: dict[str, Any]) -> None:
    """Raise :class:`InvalidRecord` if an alert document breaks the published alert schema."""
    _check("alert", alert, "alert")


def post_key(post: dict[str, Any]) -> str:
    """The post's identity across the system: ``source:id`` (ids are unique only per source)."""
    return f"{post['source']}:{post['id']}"


def post_text(post: dict[str, Any]) -> str:
    """The text detectors read: title and body, in the order a reader sees them."""
    title = (post.get("title") or "").strip()
    return f"{title}\n\n{post['body']}" if title else post["body"]

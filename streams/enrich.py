"""Turn a validated raw post into the enriched record every detector reads.

The record also names the post's language (``detectors.language``), which the post document and
the alert carry for analysts to facet on. The enrichment stage works on batches of posts
(:func:`enrich_posts`), and the language model scores a whole batch at once; a record is the same
whether its post was enriched alone or in a batch.

Normalisation and entity extraction run once here, not once per detector, and the result travels on
``posts.enriched`` keyed by the post's main contact, so that all posts of one phone/e-mail/handle meet on
one partition for the per-entity detectors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from trailhound.config import Settings
from trailhound.detectors.decoded import remember_decoded
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.language import detect_language, detect_languages, preload
from trailhound.detectors.normalize import normalize
from trailhound.schemas import post_key, post_text
from trailhound.streams.post_limits import bounded_post
from trailhound.timefmt import parse_rfc3339

__all__ = ["entity_key", "enrich_post", "enrich_posts"]

_DEFAULTS = Settings()
preload()  # a worker imports this at start-up: its first post should not wait for the language model


def entity_key(entities: dict[str, Any], post: dict[str, Any]) -> str:
    """The contact a post is keyed by: phone, then e-mail, handle, author, and the post itself last."""
    for kind, field in (("phone", "phones"), ("email", "emails"), ("handle", "handles")):
        values = entities.get(field) or []
        if values:
            return f"{kind}:{sorted(values)[0]}"
    if post.get("author"):
        return f"author:{post['source']}:{post['author']}"
    return f"post:{post_key(post)}"


def enrich_post(post: dict[str, Any], ingested_ts: float, max_contacts: int = _DEFAULTS.max_contacts,
                max_text_chars: int = _DEFAULTS.max_text_chars, *, language: bool = True) -> dict[str, Any]:
    """The enriched record: original post, normalised text with its map back, entities and keys.

    The post is first held to the per-post caps (:mod:`~trailhound.streams.post_limits`); what was cut is
    listed under ``limited``. ``language=False`` leaves the language out (``None``): the models' warm start
    does not read it, and skipping it spares a starting worker the language model's load (about 3 s of CPU).
    """
    record = _record(post, ingested_ts, max_contacts, max_text_chars)
    if language:
        record["language"] = detect_language(record["normalized"]["original"])
    return record


def enrich_posts(items: Sequence[tuple[dict[str, Any], float]], max_contacts: int = _DEFAULTS.max_contacts,
                 max_text_chars: int = _DEFAULTS.max_text_chars) -> list[dict[str, Any] | Exception]:
    """:func:`enrich_post` for each ``(post, ingested_ts)`` of a batch, the languages detected together.

    A post whose enrichment raised has the exception in its place, so one bad post never costs the
    batch. Each record is exactly what :func:`enrich_post` makes of its post.
    """
    out: list[dict[str, Any] | Exception] = []
    for post, ingested_ts in items:
        try:
            out.append(_record(post, ingested_ts, max_contacts, max_text_chars))
        except Exception as exc:  # noqa: BLE001  # the caller reports it with its post
            out.append(exc)
    done = [i for i, record in enumerate(out) if not isinstance(record, Exception)]
    texts = [out[i]["normalized"]["original"] for i in done]  # type: ignore[index]
    try:
        languages: list[str | Exception] = list(detect_languages(texts))
    except Exception:  # noqa: BLE001  # a text the model cannot read: name each alone, fail only that post
        languages = [_language_or_error(text) for text in texts]
    for i, language in zip(done, languages, strict=True):
        if isinstance(language, Exception):
            out[i] = language
        else:
            out[i]["language"] = language  # type: ignore[index]
    return out


def _language_or_error(text: str) -> str | Exception:
    try:
        return detect_language(text)
    except Exception as exc:  # noqa: BLE001  # reported with its post by the caller
        return exc


def _record(post: dict[str, Any], ingested_ts: float, max_contacts: int, max_text_chars: int) -> dict[str, Any]:
    """The enriched record with its language still to be named (``None``)."""
    post, limited = bounded_post(post, max_contacts, max_text_chars)
    norm = normalize(post_text(post))
    hints = {"contact": post.get("contact") or {}, "location": post.get("location") or {}}
    if (post.get("location") or {}).get("country"):
        hints["country"] = post["location"]["country"]
    found = extract_entities(norm, hints)
    entities, normalized = found.to_json(), norm.to_json()
    remember_decoded(normalized, norm, entities, found)  # the detectors read these objects, not a decode
    return {
        "post": post,
        "post_key": post_key(post),
        "language": None,
        "normalized": normalized,
        "entities": entities,
        "entity_key": entity_key(entities, post),
        "posted_ts": _epoch(post["posted_at"], ingested_ts),
        "ingested_ts": ingested_ts,
        **({"limited": limited} if limited else {}),
    }


def _epoch(rfc3339: str, fallback: float) -> float:
    try:
        return parse_rfc3339(rfc3339)
    except ValueError:
        return fallback

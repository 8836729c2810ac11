"""Turn a validated raw post into the enriched record every detector reads.

The record also names the post's language (``detectors.language``), which the post document and
the alert carry for analysts to facet on.

Normalisation and entity extraction run once here, not once per detector, and the result travels on
``posts.enriched`` keyed by the post's main contact, so that all posts of one phone/e-mail/handle meet on
one partition for the per-entity detectors.
"""

from __future__ import annotations

from typing import Any

from trailhound.config import Settings
from trailhound.detectors.decoded import remember_decoded
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.language import detect_language, preload
from trailhound.detectors.normalize import normalize
from trailhound.schemas import post_key, post_text
from trailhound.streams.post_limits import bounded_post
from trailhound.timefmt import parse_rfc3339

__all__ = ["entity_key", "enrich_post"]

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
        "language": detect_language(norm.original) if language else None,
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

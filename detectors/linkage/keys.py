"""The linkage keys of one post and the compact summary that travels with them.

A key is a string ``kind:value`` that two related posts share exactly, so that Kafka can route every
post with that key to one owner (see :mod:`trailhound.streams.linkage`):

- ``phone:+15550100`` / ``email:…`` / ``handle:…`` — contacts as the extractors normalised them, so an
  evasively written number has the same key as a plain one;
- ``image:i:cccc`` — chunk ``i`` of a 64-bit perceptual hash. Two hashes within ``IMAGE_RADIUS`` bits
  share at least one of the four 16-bit chunks (pigeonhole), which is multi-index hashing spread
  over partitions; the owner verifies the real Hamming distance;
- ``text:b:hhhh`` — band ``b`` of a MinHash signature over word shingles of the normalised text with
  contact details and numbers masked, so the same template under different phones shares bands
  (locality-sensitive hashing); the owner verifies the estimated similarity.

MinHash follows ``datasketch``'s ``affine32`` scheme (a maintained implementation; its permutations
are drawn by datasketch from a fixed seed, so every worker signs alike), computed here in one numpy step
per text from the shingles' CRC-32 values: bit for bit what ``MinHash.update_batch`` gives (a unit
test holds it to that), without the per-call object bookkeeping that cost more than the arithmetic for
a short ad. The banding is ours because the LSH "index" here is the Kafka partitioning itself, not an
in-memory structure.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from datasketch import MinHash

__all__ = [
    "ADULT_SERVICE", "CONTACT_KINDS", "IMAGE_CHUNKS", "IMAGE_RADIUS", "NUM_PERM", "TEXT_BANDS", "PostSummary",
    "TextSigner", "hamming",
    "image_keys", "is_linkable_handle", "key_kind", "linkage_keys", "parse_phash", "similarity_to_many", "summarise",
    "text_similarity",
]

NUM_PERM = 64
TEXT_BANDS = 10
TEXT_ROWS = 3  # bands × rows ≤ NUM_PERM; P(candidate) = 1 − (1 − J³)¹⁰: 0.99 at J = 0.7, 0.24 at J = 0.3
SHINGLE_WORDS = 3
MIN_SHINGLES = 6  # a text shorter than this says too little to link on
IMAGE_CHUNKS = 4
IMAGE_RADIUS = 3  # largest Hamming distance that still means "the same image"; < IMAGE_CHUNKS keeps MIH exact
CONTACT_KINDS = ("phone", "email", "handle")
MASKED_MENTIONS = frozenset({"phone", "email", "handle", "price", "age", "location"})
"""Mentions blanked before shingling: what one ad changes from copy to copy (its contact, price, city)."""
PHONE_SERVICES = frozenset({"whatsapp"})
"""Messaging services whose accounts are phone numbers: a handle there that is no whole number is a
fragment of an evasively written one ("whatsapp:8one8"), shared by unrelated numbers, so never a key."""
_WHOLE_NUMBER = re.compile(r"\+?\d{7,15}")
_WORD = re.compile(r"[^\W\d_]{2,}")
ADULT_SERVICE = re.compile(
    r"\b(?:companion(?:ship)?|escorts?|incalls?|outcalls?|gentlem[ae]n|donations?|hourly rates?|per hour|"
    r"screening|gfe|dinner dates?)\b|\d\s*/\s*(?:hr|hour)\b")
"""Words that mark an ad as an adult-service ad — its *type*, never a sign of harm (see networks.py)."""
_SCHEME = "affine32"
_BAND_MIX = np.uint64(0x9E3779B97F4A7C15)  # odd multiplier: distinct rows give distinct mixes (mod 2⁶⁴)
# shared by every worker, so they all sign alike
_PERMUTATIONS = MinHash(num_perm=NUM_PERM, seed=20261130, scheme=_SCHEME).permutations
_PERMUTE_A, _PERMUTE_B = (np.asarray(p, dtype=np.uint32) for p in _PERMUTATIONS)
# MurmurHash3's 32-bit finaliser, which the affine32 scheme applies to each input hash before permuting
_FMIX_MULTIPLIERS = (np.uint32(0x85EBCA6B), np.uint32(0xC2B2AE35))
_BAND_PREFIXES = tuple(f"text:{band}:" for band in range(TEXT_BANDS))
_BAND_MASK = np.uint64(0xFFFFFFFFFFFF)


def key_kind(key: str) -> str:
    """``phone``, ``email``, ``handle``, ``image`` or ``text``."""
    return key.split(":", 1)[0]


def parse_phash(value: Any) -> int | None:
    """A 64-bit image hash from 16 hex characters, or None when it is not one."""
    text = str(value or "").strip().lower()
    if len(text) != 16:
        return None
    try:
        return int(text, 16)
    except ValueError:
        return None


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def image_keys(phash: int) -> list[str]:
    """The multi-index-hashing keys of one image hash (one per 16-bit chunk)."""
    return [f"image:{i}:{(phash >> (16 * i)) & 0xFFFF:04x}" for i in range(IMAGE_CHUNKS)]


class TextSigner:
    """MinHash signatures of masked, shingled text, with the shared permutations of every worker.

    Shingles are hashed with CRC-32 (stable across processes, unlike ``hash``; several times faster than
    datasketch's default SHA-1, and the scheme's finaliser and affine permutations on top spread its
    values); all shingles of a text are permuted and reduced in one (shingles × permutations) array.
    """

    def signature(self, text: str, masked: Iterable[tuple[int, int]] = ()) -> np.ndarray | None:
        """The signature of ``text`` with the ``masked`` spans blanked, or None if it is too short."""
        pieces, at = [], 0
        for start, end in sorted(masked):
            if 0 <= start < end <= len(text) and end > at:  # overlapping spans blank their union
                pieces.append(text[at:max(at, start)])
                at = end
        pieces.append(text[at:])
        words = _WORD.findall(" ".join(pieces).lower())
        runs = zip(*(words[i:] for i in range(SHINGLE_WORDS)), strict=False)  # stops at the last whole shingle
        shingles = set(map(" ".join, runs))
        if len(shingles) < MIN_SHINGLES:
            return None
        return _minhash_of(np.fromiter(map(zlib.crc32, map(str.encode, shingles)), np.uint32, len(shingles)))

    @staticmethod
    def band_keys(signature: np.ndarray) -> list[str]:
        """One key per band: the band's rows mixed into 48 bits (equal rows, equal key)."""
        rows = signature[:TEXT_BANDS * TEXT_ROWS].astype(np.uint64).reshape(TEXT_BANDS, TEXT_ROWS)
        mixed = rows[:, 0]
        for column in range(1, TEXT_ROWS):
            mixed = mixed * _BAND_MIX + rows[:, column]
        return [f"{prefix}{value:012x}" for prefix, value in zip(_BAND_PREFIXES, (mixed & _BAND_MASK).tolist(),
                                                                  strict=True)]


def _minhash_of(hashes: np.ndarray) -> np.ndarray:
    """The affine32 MinHash signature of a set of 32-bit hashes (``uint32``; wrapping arithmetic is mod 2³²)."""
    first, second = _FMIX_MULTIPLIERS
    mixed = hashes ^ (hashes >> 16)
    mixed *= first
    mixed ^= mixed >> 13
    mixed *= second
    mixed ^= mixed >> 16
    return (mixed[:, None] * _PERMUTE_A + _PERMUTE_B).min(axis=0)


def similarity_to_many(signature: np.ndarray, others: list[np.ndarray]) -> np.ndarray:
    """:func:`text_similarity` of ``signature`` with each of ``others``, in one vectorised step."""
    return np.count_nonzero(np.array(others) == signature, axis=1) / len(signature)


def text_similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two texts' shingle sets."""
    return float(np.count_nonzero(a == b)) / len(a)


@dataclass(slots=True)
class PostSummary:
    """What linkage needs to know about one post: small, so it can travel with every key.

    ``categories`` are the pattern detector's indicator categories for the post, ``harm`` those of them
    that are a sign of harm on their own (youth, control, coercion, labour exploitation …).
    """

    post_key: str
    ts: float
    posted_at: str
    contact: str
    city: str = ""
    author: str = ""
    source: str = ""
    phones: tuple[str, ...] = ()
    emails: tuple[str, ...] = ()
    handles: tuple[str, ...] = ()
    phashes: tuple[int, ...] = ()
    signature: np.ndarray | None = field(default=None, repr=False)
    categories: tuple[str, ...] = ()
    harm: tuple[str, ...] = ()
    score: float = 0.0
    adult: bool = False

    def link_keys(self) -> list[str]:
        return linkage_keys(self)

    def to_json(self, with_signature: bool = True) -> dict[str, Any]:
        data: dict[str, Any] = {
            "post_key": self.post_key, "ts": self.ts, "posted_at": self.posted_at, "contact": self.contact,
            "city": self.city, "author": self.author, "source": self.source, "phones": list(self.phones),
            "emails": list(self.emails), "handles": list(self.handles),
            "phashes": [f"{h:016x}" for h in self.phashes], "categories": list(self.categories),
            "harm": list(self.harm), "score": self.score, "adult": self.adult,
        }
        if with_signature and self.signature is not None:
            data["signature"] = base64.b64encode(self.signature.tobytes()).decode("ascii")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PostSummary:
        signature = data.get("signature")
        return cls(
            post_key=data["post_key"], ts=float(data["ts"]), posted_at=data.get("posted_at", ""),
            contact=data.get("contact", ""), city=data.get("city", ""), author=data.get("author", ""),
            source=data.get("source", ""), phones=tuple(data.get("phones", ())), emails=tuple(data.get("emails", ())),
            handles=tuple(data.get("handles", ())),
            phashes=tuple(h for h in (parse_phash(v) for v in data.get("phashes", ())) if h is not None),
            signature=np.frombuffer(base64.b64decode(signature), dtype=np.uint32) if signature else None,
            categories=tuple(data.get("categories", ())), harm=tuple(data.get("harm", ())),
            score=float(data.get("score", 0.0)), adult=bool(data.get("adult", False)),
        )


def is_linkable_handle(handle: str) -> bool:
    """False for a phone-service handle that is only part of a number (see :data:`PHONE_SERVICES`)."""
    service, sep, value = handle.lower().partition(":")
    return not (sep and service in PHONE_SERVICES and not _WHOLE_NUMBER.fullmatch(value))


def linkage_keys(summary: PostSummary) -> list[str]:
    """Every key the post is filed under, without repeats."""
    keys = [f"phone:{p}" for p in summary.phones]
    keys += [f"email:{e.lower()}" for e in summary.emails]
    keys += [f"handle:{h.lower()}" for h in summary.handles if is_linkable_handle(h)]
    for phash in summary.phashes:
        keys += image_keys(phash)
    if summary.signature is not None:
        keys += TextSigner.band_keys(summary.signature)
    return list(dict.fromkeys(keys))


_SIGNER = TextSigner()


def summarise(enriched: dict[str, Any], categories: Iterable[str], supporting: Collection[str],
              score: float) -> PostSummary:
    """The summary of an enriched post (see :mod:`trailhound.streams.enrich`) and its assessment.

    ``supporting`` are the categories that are no sign of harm alone (see ``library.yaml``).
    """
    categories = sorted(set(categories))
    post = enriched["post"]
    entities = enriched.get("entities") or {}
    text = (enriched.get("normalized") or {}).get("text", "")
    lowered = text if text.isascii() else text.lower()  # normalisation lowered the ASCII letters already
    masked = [(int(m[2]), int(m[3])) for m in entities.get("mentions", ()) if m[0] in MASKED_MENTIONS and m[2] >= 0]
    location = post.get("location") or {}
    city = location.get("city") or next(iter(entities.get("locations") or ()), "")
    return PostSummary(
        post_key=enriched["post_key"],
        ts=float(enriched.get("posted_ts") or 0.0),
        posted_at=post.get("posted_at", ""),
        contact=enriched.get("entity_key", ""),
        city=str(city),
        author=str(post.get("author") or ""),
        source=str(post.get("source") or ""),
        phones=tuple(entities.get("phones", ())),
        emails=tuple(entities.get("emails", ())),
        handles=tuple(entities.get("handles", ())),
        phashes=tuple(h for h in (parse_phash(i.get("phash")) for i in post.get("images") or () if isinstance(i, dict))
                      if h is not None),
        signature=_SIGNER.signature(text, masked),
        categories=tuple(categories),
        harm=tuple(c for c in categories if c not in supporting),
        score=round(float(score), 4),
        adult=ADULT_SERVICE.search(lowered) is not None,
    )

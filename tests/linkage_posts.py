"""Post summaries for the linkage tests, built from short texts without the whole enrichment stage."""

from __future__ import annotations

import itertools

from trailhound.detectors.linkage.keys import PostSummary, TextSigner

_SIGNER = TextSigner()
_COUNTER = itertools.count()
DAY = 86_400.0

VOCABULARY = ("river", "stone", "maple", "harbor", "copper", "lantern", "violet", "meadow", "canyon", "ember",
              "orchard", "quartz", "velvet", "summit", "willow", "cobalt", "prairie", "thistle", "juniper", "falcon",
              "marble", "saffron", "tundra", "beacon")


def unrelated_text(n: int) -> str:
    """A text sharing almost no word pairs with ``unrelated_text(m)`` for m ≠ n."""
    words = [VOCABULARY[(n * 7 + i * (n % 5 + 1) * 3) % len(VOCABULARY)] + str(n % 97 + i) for i in range(12)]
    return " ".join(w.rstrip("0123456789") + "x" * ((n + i) % 11) for i, w in enumerate(words))


def summary(text: str = "", *, day: float = 0.0, city: str = "Denver", phone: str = "", author: str = "",
            categories: tuple[str, ...] = (), harm: tuple[str, ...] = (), phash: int | None = None,
            key: str | None = None) -> PostSummary:
    post_key = key or f"t:{next(_COUNTER):06d}"
    return PostSummary(
        post_key=post_key, ts=1_700_000_000 + day * DAY, posted_at="2023-11-14T22:13:20Z",
        contact=f"phone:{phone}" if phone else f"post:{post_key}", city=city, author=author, source="t.example",
        phones=(phone,) if phone else (), phashes=(phash,) if phash is not None else (),
        signature=_SIGNER.signature(text) if text else None, categories=categories, harm=harm,
    )

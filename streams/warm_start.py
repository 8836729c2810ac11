"""Cold start: labelled synthetic posts, enriched the way the stream enriches real ones.

Why it exists: on day one there are no verdicts, yet the text model must already tell a trafficking
ad from a florist's. The synthetic generator (:mod:`trailhound.synth`) provides labelled raw posts;
this module passes them through the same enrichment the worker uses (:func:`~trailhound.streams.enrich.enrich_post`)
so the models learn from exactly the features they will see in production.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from trailhound.detectors.online.ensemble import OnlineModels
from trailhound.streams.enrich import enrich_post
from trailhound.synth import generate

__all__ = ["WARM_START_POSTS", "WARM_START_SEED", "enrich_raw", "synthetic_training_set", "warm_start_synthetic"]

WARM_START_POSTS = 4000
WARM_START_SEED = 0

Enricher = Callable[[dict[str, Any]], dict[str, Any]]


def enrich_raw(post: dict[str, Any]) -> dict[str, Any]:
    """Enrich one raw post exactly as the stream does, less the language, which the models do not read."""
    return enrich_post(post, 0.0, language=False)


def synthetic_training_set(n: int, seed: int, enrich: Enricher | None = None) -> Iterator[tuple[dict[str, Any], str]]:
    """``(enriched post, label)`` pairs from ``trailhound.synth.generate(n, seed)``."""
    enrich = enrich or enrich_raw
    for post in generate(n, seed):
        yield enrich(post), post["synthetic_label"]


def warm_start_synthetic(n: int = WARM_START_POSTS, seed: int = WARM_START_SEED, enrich: Enricher | None = None,
                         **components: Any) -> OnlineModels:
    """Fresh :class:`OnlineModels` trained on ``n`` synthetic posts (about 2 s per 1,000 posts)."""
    return OnlineModels.warm_start(synthetic_training_set(n, seed, enrich), **components)

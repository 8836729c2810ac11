"""The worker's HTTP views: metrics for Prometheus, health for orchestrators, and two views for analysts.

They are registered on the Faust app's own web server (one port per worker, ``TRAILHOUND_WORKER_PORT``)
and only read what the worker already holds; none of them changes state.
"""

from __future__ import annotations

import asyncio

import faust
from faust.web import Request, Response, View
from prometheus_client import generate_latest

from trailhound.schemas import InvalidRecord
from trailhound.signing import bearer_ok, worker_token
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.pipeline import PostProcessor

__all__ = ["register_views"]

PROMETHEUS_TEXT = "text/plain; version=0.0.4"  # aiohttp sets the charset itself


def register_views(app: faust.App, processor: PostProcessor, metrics: PipelineMetrics,
                   ready: asyncio.Event) -> None:
    """Add ``/metrics``, ``/healthz``, ``/score`` and ``/patterns`` to the worker's web server.

    ``/metrics`` and ``/healthz`` stay open (Prometheus and orchestrators, on loopback or the private
    network); ``/score`` and ``/patterns`` tell whether an ad would be flagged and how each pattern
    fares, and cost worker time, so they need ``Authorization: Bearer TRAILHOUND_WORKER_TOKEN``.
    """
    detectors = processor.detectors
    token = worker_token(processor.settings)
    max_body = processor.settings.max_post_bytes

    def refused(view: View, request: Request) -> Response | None:
        if not bearer_ok(token, request.headers.get("Authorization")):
            return view.json({"error": "missing or wrong bearer token (TRAILHOUND_WORKER_TOKEN)"}, status=401)
        return None

    @app.page("/metrics")
    class MetricsView(View):
        """Prometheus text exposition of the worker's own registry."""

        async def get(self, request: Request) -> Response:
            return self.bytes(generate_latest(metrics.registry), content_type=PROMETHEUS_TEXT)

    @app.page("/healthz")
    class HealthView(View):
        """Ready only once indices exist and the published pattern library is in use."""

        async def get(self, request: Request) -> Response:
            if not ready.is_set():
                return self.json({"status": "starting"}, status=503)
            return self.json({"status": "ok", "versions": detectors.versions()})

    @app.page("/score")
    class ScoreView(View):
        """What the detectors would say about a post, without storing anything (for analysts and tests)."""

        async def post(self, request: Request) -> Response:
            if (denied := refused(self, request)) is not None:
                return denied
            body = bytearray()
            async for chunk in request.content.iter_chunked(64 * 1024):  # never more than one post in memory
                body += chunk
                if len(body) > max_body:
                    return self.json({"error": f"post over the {max_body}-byte limit"}, status=413)
            try:
                return self.json(processor.preview(bytes(body)))
            except InvalidRecord as exc:
                return self.json({"error": exc.reason}, status=422)

    @app.page("/patterns")
    class PatternsView(View):
        """Each pattern's weight and what analysts' verdicts have made of it."""

        async def get(self, request: Request) -> Response:
            if (denied := refused(self, request)) is not None:
                return denied
            return self.json({"library": detectors.library.version, "patterns": detectors.pattern_statistics()})

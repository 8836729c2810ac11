"""Learning from analysts' verdicts in every worker, within seconds of the verdict.

Each worker follows the whole ``feedback`` topic (:mod:`trailhound.streams.broadcast`), so every worker scores with
models that learned from all verdicts. A verdict is learned only if its signature checks out and its
analyst is on the allow-list (``TRAILHOUND_ANALYSTS``); a verdict from the console is signed with its
analyst's own key (:func:`trailhound.signing.analyst_key`) and must name that analyst. Anything else is
refused, counted and recorded with the reason, so records forged by whoever can write to the topic
never reach the models. Every verdict, learned or refused, is kept in the ``trailhound-feedback`` index
as the audit trail and the history models can be rebuilt from. Learned state is checkpointed
(:mod:`trailhound.streams.model_state`) every few verdicts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiokafka import ConsumerRecord
from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.alerts.document import build_model_health_alert
from trailhound.alerts.post_documents import enriched_from_document, post_doc_id
from trailhound.alerts.sink import is_transient
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.connections import kafka_options
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.online.drift import DriftEvent
from trailhound.ids import stable_id
from trailhound.retrying import wait_out
from trailhound.schemas import InvalidRecord, parse_verdict
from trailhound.signing import SIGNER_HEADER, analyst_key, feedback_key, verify
from trailhound.streams.broadcast import BroadcastReader
from trailhound.streams.metrics import PipelineMetrics
from trailhound.streams.model_state import ModelSnapshot, save_checkpoint
from trailhound.timefmt import iso, parse_rfc3339

__all__ = ["FeedbackLearner"]

log = logging.getLogger(__name__)

CHECKPOINT_EVERY = 20
POST_LOOKUP_ATTEMPTS = 12  # about 45 s for a post still travelling the pipeline; verdicts behind it wait
VERDICT_FIELDS = ("verdict_id", "post_id", "alert_id", "label", "analyst", "at", "note")

AlertSender = Callable[[dict[str, Any]], Awaitable[None]]
T = TypeVar("T")


class _PostNotIndexed(Exception):
    """The verdict's post is not (yet) in the posts index."""


class VerdictRefused(Exception):
    """A verdict the models must not learn from; the message is the recorded reason."""


class FeedbackLearner:
    """Applies verdicts to this worker's models and records them."""

    def __init__(self, settings: Settings, detectors: DetectorSet, es: AsyncElasticsearch, metrics: PipelineMetrics,
                 send_alert: AlertSender, worker_id: str, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.clock = clock
        self.detectors = detectors
        self.es = es
        self.metrics = metrics
        self.send_alert = send_alert
        self.worker_id = worker_id
        self.key = feedback_key(settings)
        self.reader = BroadcastReader(settings.kafka_bootstrap, settings.topic("feedback"), self.handle,
                                      client_id=f"trailhound-feedback-{worker_id}",
                                      kafka_options=kafka_options(settings))
        self.last_offset = -1
        self.unsaved = 0
        self._saving = asyncio.Lock()

    async def run(self, next_offset: int) -> None:
        self.last_offset = next_offset - 1
        await self.reader.run({0: next_offset} if next_offset > 0 else None)

    async def handle(self, record: ConsumerRecord) -> None:
        """Learn (or refuse) one verdict exactly once; Elasticsearch trouble is waited out, never skipped."""
        verdict: dict[str, Any] = {}
        reason: str | None = None
        events: list[DriftEvent] = []
        try:
            verdict = self._accept(record)
            source = await self._patiently(self._find_post, verdict)
            events = self._learn(verdict, source)
        except VerdictRefused as exc:
            reason = str(exc)
            log.warning("verdict at offset %s refused: %s", record.offset, reason)
        except Exception as exc:  # e.g. Elasticsearch refusing our credentials: recorded, not silently lost
            reason = f"could not be handled: {exc!r}"
            log.exception("verdict at offset %s could not be handled", record.offset)
        self.last_offset = record.offset  # before any await: a checkpoint must never split learning and offset
        if reason is None:
            self.unsaved += 1
        self.metrics.verdicts.labels(outcome="learned" if reason is None else "refused").inc()
        try:
            await self._patiently(self._record, record, verdict, reason)
        except Exception:  # a record Elasticsearch will never take must not stop learning on every worker
            log.exception("verdict at offset %s could not be recorded in %s", record.offset,
                          self.settings.index("feedback"))
        for event in events:
            await self._raise_drift_alert(event)
        if self.unsaved >= CHECKPOINT_EVERY:
            try:
                await self.checkpoint()
            except Exception:  # retried by the worker's checkpoint timer
                log.exception("model checkpoint failed")

    async def _patiently(self, step: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``step``, waiting out transient Elasticsearch failures (outage, overload) however long they last."""
        async for attempt in wait_out(f"verdict handling ({step.__name__})", is_transient):
            with attempt:
                return await step(*args)
        raise AssertionError("unreachable: tenacity retries until success")

    def _accept(self, record: ConsumerRecord) -> dict[str, Any]:
        try:
            verdict = parse_verdict(record.value)
        except InvalidRecord as exc:
            raise VerdictRefused(f"malformed: {exc.reason}") from None
        headers = dict(record.headers or ())
        signer = headers.get(SIGNER_HEADER)
        if signer is None:
            key = self.key  # the shared key of the ``feedback`` command
        else:
            signer_name = signer.decode("utf-8", "replace")
            if signer_name != verdict["analyst"]:
                raise VerdictRefused(f"signed by {signer_name!r} but claims analyst {verdict['analyst']!r}")
            key = analyst_key(self.key, signer_name)
        if not verify(key, record.value, headers.get("signature")):
            raise VerdictRefused("unsigned or wrongly signed: not from a Trailhound tool")
        if verdict["analyst"] not in self.settings.analysts:
            raise VerdictRefused(f"analyst {verdict['analyst']!r} is not in TRAILHOUND_ANALYSTS")
        verdict_id = verdict.get("verdict_id")
        if not verdict_id:
            raise VerdictRefused("no verdict_id: not made by a current Trailhound tool")
        if self.detectors.models is not None:
            refusal = self.detectors.models.learned_verdict_ids.refusal(verdict_id, parse_rfc3339(verdict["at"]))
            if refusal:
                raise VerdictRefused(refusal)
        return verdict

    async def _find_post(self, verdict: dict[str, Any]) -> dict[str, Any]:
        """The posts-index document the verdict is about (waiting briefly for one still in the pipeline)."""
        try:
            async for attempt in wait_out("finding the verdict's post", lambda e: isinstance(e, _PostNotIndexed),
                                          max_s=5.0, attempts=POST_LOOKUP_ATTEMPTS):
                with attempt:
                    return await self._indexed_post(verdict)
        except _PostNotIndexed:
            subject = verdict.get("post_id") or f"alert {verdict.get('alert_id')}"
            raise VerdictRefused(f"unknown post: {subject} is not in {self.settings.index('posts')}") from None
        raise AssertionError("unreachable: tenacity retries until success or the last attempt raises")

    async def _indexed_post(self, verdict: dict[str, Any]) -> dict[str, Any]:
        post_key = verdict.get("post_id") or await self._post_of_alert(verdict["alert_id"])
        if post_key:
            hits = (await self.es.search(index=self.settings.index("posts"),
                                         query={"ids": {"values": [post_doc_id(post_key)]}}, size=1,
                                         ignore_unavailable=True))["hits"]["hits"]
            if hits:
                return dict(hits[0]["_source"])
        raise _PostNotIndexed()

    async def _post_of_alert(self, alert_id: str) -> str | None:
        try:
            hits = (await self.es.search(index=self.settings.index("alerts"), query={"term": {"event.id": alert_id}},
                                         size=1))["hits"]["hits"]
        except NotFoundError:
            return None
        post_ids = hits[0]["_source"]["trailhound"]["post_ids"] if hits else []
        return post_ids[0] if post_ids else None

    def _learn(self, verdict: dict[str, Any], source: dict[str, Any]) -> list[DriftEvent]:
        models = self.detectors.models
        if models is None:
            raise VerdictRefused("this worker runs without online models")
        scores = {"combined": float(source.get("score") or 0.0)}
        if "patterns" in (source.get("detectors") or {}):
            scores["patterns"] = float(source["detectors"]["patterns"])
        try:
            enriched = enriched_from_document(source)
        except (KeyError, ValueError) as exc:  # the same on every worker, so all refuse alike
            raise VerdictRefused(f"the stored post cannot be learned from: {exc!r}") from None
        known = self.detectors.library.by_id()  # not the text model's words, not retired patterns
        fired = [p for p in source.get("pattern_ids") or () if p in known]
        events = models.learn_verdict(enriched, verdict["label"], fired, scores)
        models.learned_verdict_ids.add(verdict["verdict_id"], parse_rfc3339(verdict["at"]))
        self._export_model_metrics()
        return events

    def _export_model_metrics(self) -> None:
        models = self.detectors.models
        if models is None:
            return
        self.metrics.model_metric.clear()  # replaced, not accumulated: only the versions still tracked
        for model, versions in models.metrics.snapshot().items():
            for version, values in versions.items():
                for metric, value in values.items():
                    if isinstance(value, int | float) and value == value:  # skip NaN (no positives yet)
                        self.metrics.model_metric.labels(model=model, version=version, metric=metric).set(value)

    async def _record(self, record: ConsumerRecord, verdict: dict[str, Any], reason: str | None) -> None:
        doc_id = stable_id(record.topic, str(record.partition), str(record.offset))
        document = {k: verdict[k] for k in VERDICT_FIELDS if k in verdict}
        document.update({"@timestamp": iso(self.clock()), "learned": reason is None, "refused_reason": reason,
                         "offset": record.offset})
        await self.es.index(index=self.settings.index("feedback"), id=doc_id, document=document)

    async def _raise_drift_alert(self, event: DriftEvent) -> None:
        versions = self.detectors.versions()
        await self.send_alert(build_model_health_alert(event.model, event.stream, event.detail, versions, self.clock()))

    async def checkpoint(self) -> None:
        """Store the models with the offset of the last verdict they reflect, if anything is unsaved."""
        async with self._saving:
            models = self.detectors.models
            if models is None or self.unsaved <= 0:
                return
            pending, snapshot = self.unsaved, ModelSnapshot.of(models, self.last_offset)  # together, no await
            saved = await save_checkpoint(self.es, self.settings, snapshot, self.worker_id)
            self.unsaved -= pending
        log.info("model checkpoint at feedback offset %s %s", snapshot.feedback_offset,
                 "saved" if saved else "skipped (a newer one exists)")

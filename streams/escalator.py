"""The escalator: reads the outbox and delivers to partners, each partner at its own pace.

``trailhound escalator`` runs this. The reading loop sorts outbox records by partner into lanes
(:mod:`streams.outbox_lanes`). Each lane creates its deliveries' state documents
(:mod:`alerts.delivery_store`) and starts them, and only then are their offsets committed, each
partition up to its oldest record not yet recorded. So a crash loses nothing, and a delivery already
recorded is never sent again. Each partner has its own lane, its own delivery slots (``concurrency``)
and its own HTTP connection pool, so a partner that answers slowly, or not at all, holds up only its
own deliveries: not another partner's reads, state writes, slots or commits. An attempt that fails in a way
that may pass is retried with exponential back-off and jitter (tenacity); after the partner's limit,
or at once for a final refusal, the delivery is parked: recorded as ``parked``, put on
``escalations.dlq`` with the reason and counted in the metrics, until ``trailhound escalations retry``.

Before anything leaves, the partner's data policy is applied and the disclosure is written to the audit
log. A sweeper resumes deliveries whose lease lapsed (a crashed escalator) and tells the next tier when
a tier did not acknowledge in time. The escalator's web port serves the signed acknowledgement links,
``/metrics`` and ``/healthz``.
"""

from __future__ import annotations

import asyncio
import hmac
import itertools
import json
import logging
import socket
import time
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener, ConsumerRecord, TopicPartition
from aiokafka.errors import KafkaError
from elasticsearch import AsyncElasticsearch
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, wait_random_exponential

from trailhound.alerts.audit import AuditLog
from trailhound.alerts.deliveries import outbox_record, tier_decision
from trailhound.alerts.delivery_store import DeliveryStore, Held
from trailhound.alerts.envelope import ack_signature, ack_url, build_envelope
from trailhound.alerts.lifecycle import send_outbox
from trailhound.alerts.notifiers import DeliveryFailed, Notifiers
from trailhound.alerts.partners import Partner, Routing
from trailhound.alerts.policy import apply_policy
from trailhound.alerts.routing import next_tier
from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.ids import stable_id
from trailhound.streams.outbox_lanes import LaneItem, OffsetTracker, PartnerLane
from trailhound.timefmt import parse_rfc3339
from trailhound.topics import dead_letter_headers

__all__ = ["Escalator", "EscalatorMetrics", "run_escalator"]

log = logging.getLogger(__name__)

SWEEP_EVERY_S = 2.0
COMMIT_EVERY_S = 0.2
MAX_READ = 500  # outbox records per read
MAX_QUEUED = 2000  # records per partner lane waiting for their state documents
MAX_BACKLOG = 5000  # deliveries per partner started and waiting for the partner's slots
LEASE_MARGIN_S = 30.0
LINGER_SHARE = 0.05  # a lane's state writes may wait up to this share of its partner's answer time…
MAX_LINGER_S = 0.5  # …but never longer than this,
MIN_LINGER_S = 0.005  # and a share shorter than this is not worth a wait: the writes go at once
ANSWER_WEIGHT = 0.2  # weight of the latest answer time in a partner's running average
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 1800)
STEP_BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)


class EscalatorMetrics:
    """Deliveries by outcome, parked deliveries and escalation latency, on their own registry."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.deliveries = Counter("trailhound_deliveries", "Deliveries finished, by partner, kind and outcome",
                                  ["partner", "kind", "outcome"], registry=self.registry)
        self.attempts = Counter("trailhound_delivery_attempts", "Delivery attempts, by partner and outcome",
                                ["partner", "outcome"], registry=self.registry)
        self.parked = Gauge("trailhound_deliveries_parked", "Deliveries parked on the dead-letter topic, by partner",
                            ["partner"], registry=self.registry)
        self.latency = Histogram("trailhound_escalation_latency_seconds",
                                 "Time from an alert being raised to the partner taking it", ["partner"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.steps = Histogram("trailhound_delivery_step_seconds",
                               "Time a delivery spends in each step inside the escalator, by partner: queued (read "
                               "from the outbox until its lane writes it), state_write (its state document and "
                               "disclosure entry), to_send (until its request starts), answer (the partner's answer)",
                               ["partner", "step"], buckets=STEP_BUCKETS, registry=self.registry)


@dataclass(frozen=True)
class Prepared:
    """An outbox record made ready for its lane: the delivery's state document and its disclosure entry."""

    state: dict[str, Any]
    audit: tuple[str, dict[str, Any]] | None
    read_at: float = 0.0  # time.monotonic() when the record was read, for the step timings


class _Revoked(ConsumerRebalanceListener):
    """Before a rebalance takes partitions away: commit what is recorded, then stop tracking them."""

    def __init__(self, escalator: Escalator, consumer: AIOKafkaConsumer) -> None:
        self.escalator = escalator
        self.consumer = consumer

    async def on_partitions_revoked(self, revoked: Any) -> None:
        await self.escalator.commit(self.consumer)
        self.escalator.offsets.forget(list(revoked))

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, DeliveryFailed) and exc.retryable


class Escalator:
    """One escalator process: outbox consumer, per-partner deliveries, sweeper and acknowledgement links."""

    def __init__(self, settings: Settings, routing: Routing, es: AsyncElasticsearch, producer: AIOKafkaProducer,
                 metrics: EscalatorMetrics | None = None, clock: Clock = system_clock,
                 owner: str | None = None) -> None:
        self.settings = settings
        self.routing = routing
        self.es = es
        self.producer = producer
        self.metrics = metrics or EscalatorMetrics()
        self.clock = clock
        self.owner = owner or f"{socket.gethostname()}:{settings.escalator_port}"
        self.store = DeliveryStore(settings, es)
        self.audit = AuditLog(settings, es, clock)
        self.notifiers = Notifiers()
        self.limits = {pid: asyncio.Semaphore(p.concurrency) for pid, p in routing.partners.items()}
        self.offsets: OffsetTracker[TopicPartition] = OffsetTracker()
        self.lanes: dict[str, PartnerLane] = {}
        self.backlog: defaultdict[str, int] = defaultdict(int)
        self.inflight: dict[str, asyncio.Task[None]] = {}
        self.written_at: dict[str, float] = {}  # when a new delivery's state was written (step timings)
        self.answer_s: dict[str, float] = {}  # running average of each partner's answer time
        self.open_since: defaultdict[str, dict[int, float]] = defaultdict(dict)  # open requests, oldest first
        self._requests = itertools.count()
        self.own_unscheduled = True  # deliveries this owner holds may have no task (at start, after a full backlog)
        self.source = f"urn:trailhound:{settings.namespace or 'default'}"

    # ---- outbox -> state documents -------------------------------------------------------------

    async def consume(self) -> None:
        """Follow the outbox in the escalators' consumer group until cancelled, sorting records into lanes."""
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self.settings.kafka_bootstrap, group_id=self.settings.topic("trailhound-escalator"),
            enable_auto_commit=False, auto_offset_reset="earliest", client_id=f"trailhound-escalator-{self.owner}")
        consumer.subscribe([self.settings.topic("escalations")], listener=_Revoked(self, consumer))
        await consumer.start()
        committer = asyncio.ensure_future(self._commit_forever(consumer))
        try:
            while True:
                batches = await consumer.getmany(timeout_ms=500, max_records=MAX_READ)
                for partition, records in batches.items():
                    for record in records:
                        self.offsets.read(partition, record.offset)
                        prepared = await self._request(record)
                        if prepared is None:
                            self.offsets.done(partition, record.offset)
                        else:
                            await self._lane(prepared.state["partner"]).put(
                                LaneItem(partition, record.offset, prepared))
        finally:
            committer.cancel()
            await asyncio.gather(committer, return_exceptions=True)
            await self.commit(consumer)
            await consumer.stop()

    async def commit(self, consumer: AIOKafkaConsumer) -> None:
        """Commit each partition up to its oldest record whose state document is not written yet."""
        offsets = self.offsets.committable()
        if not offsets:
            return
        try:
            await consumer.commit(offsets)
        except KafkaError as exc:  # a rebalance took the partition; its next reader starts from the last commit
            log.warning("outbox commit not made (%r); the records are read again and found recorded", exc)
            return
        self.offsets.committed(offsets)

    async def _commit_forever(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            await asyncio.sleep(COMMIT_EVERY_S)
            await self.commit(consumer)

    def _lane(self, partner_id: str) -> PartnerLane:
        if partner_id not in self.lanes:
            self.lanes[partner_id] = PartnerLane(partner_id, self.accept, self.offsets, MAX_QUEUED)
        return self.lanes[partner_id]

    def linger_s(self, partner_id: str) -> float:
        """How long a partner's state writes may wait to share a request with other writes: a small share of
        the partner's answer time (its running average, or longer while a request has been open longer).
        A slow partner's deliveries barely notice it, and its writes then ride in the requests of partners
        that answer at once (:mod:`alerts.shared_bulk`) instead of adding requests of their own."""
        open_since = self.open_since.get(partner_id)
        oldest = time.monotonic() - next(iter(open_since.values())) if open_since else 0.0
        share = LINGER_SHARE * max(self.answer_s.get(partner_id, 0.0), oldest)
        return 0.0 if share < MIN_LINGER_S else min(MAX_LINGER_S, share)

    def _answered(self, partner_id: str, seconds: float) -> None:
        previous = self.answer_s.get(partner_id)
        self.answer_s[partner_id] = seconds if previous is None else (
            ANSWER_WEIGHT * seconds + (1 - ANSWER_WEIGHT) * previous)

    async def _request(self, record: ConsumerRecord) -> Prepared | None:
        """The state document and disclosure entry a record asks for; a record that is not a delivery
        request goes to the dead-letter topic (None)."""
        try:
            read_at = time.monotonic()
            state = self._state_document(json.loads(record.value), self.clock())
            return Prepared(state, self._disclosure_entry(state) if state["channel"] else None, read_at)
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            await self.producer.send_and_wait(self.settings.topic("escalations.dlq"), value=record.value,
                                              key=record.key, headers=dead_letter_headers(
                                                  f"not an outbox record: {exc!r}", "escalate",
                                                  f"{record.topic}:{record.partition}:{record.offset}"))
            return None

    async def accept(self, prepared: list[Prepared]) -> None:
        """Write one lane's state documents (with their disclosure audit entries) in one request, then
        start the deliveries this escalator created; one already recorded is left to its holder."""
        audit = [(self.audit.index, *p.audit) for p in prepared if p.audit is not None]
        started = time.monotonic()
        created = await self.store.create_many([p.state for p in prepared], audit,
                                               wait_s=self.linger_s(prepared[0].state["partner"]))
        written = time.monotonic()
        for p in prepared:
            steps = self.metrics.steps
            steps.labels(partner=p.state["partner"], step="queued").observe(started - p.read_at)
            steps.labels(partner=p.state["partner"], step="state_write").observe(written - started)
        for held in created:
            self.schedule(held.id, held.source["partner"], held)
            if held.id in self.inflight:
                self.written_at[held.id] = written

    def _disclosure_entry(self, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The audit entry for what a delivery will disclose, written with its state document, before sending."""
        request, partner = state["record"], self.routing.partners[state["partner"]]
        disclosure = apply_policy(request["alert"], partner.policy, partner.secret)
        return self.audit.entry("disclose", request.get("requested_by") or "trailhound", request["alert_id"],
                                fields=disclosure.disclosed, partner=partner.id,
                                detail=f"{request['kind']} via {partner.channel}",
                                entry_id=stable_id("audit-disclose", state["delivery_id"]),
                                extra={"delivery_id": state["delivery_id"]})

    def _state_document(self, request: dict[str, Any], now: float) -> dict[str, Any]:
        partner = self.routing.partners.get(request["partner"])
        rule, tier = request.get("rule"), int(request.get("tier") or 0)
        return {
            "delivery_id": request["delivery_id"], "alert_id": request["alert_id"], "partner": request["partner"],
            "kind": request["kind"], "rule": rule, "tier": tier, "state": "pending", "attempts": 0,
            "channel": partner.channel if partner else None, "requested_by": request.get("requested_by"),
            "reason": request.get("reason"), "created": int(now), "owner": self.owner,
            "lease_until": int(now + self._lease_s(partner)), "next_tier_sent": False,
            "has_next_tier": bool(rule and next_tier(self.routing, rule, tier)), "record": request,
        }

    def _lease_s(self, partner: Partner | None) -> float:
        if partner is None:
            return LEASE_MARGIN_S
        target = partner.webhook or partner.email
        timeout = target.timeout_s if target else 0.0
        return partner.retry.max_s + timeout + LEASE_MARGIN_S

    # ---- delivering ----------------------------------------------------------------------------

    def schedule(self, delivery_id: str, partner_id: str, held: Held | None = None) -> None:
        """Deliver in the background (``held``: just created by this escalator, no claim needed).

        A partner with :data:`MAX_BACKLOG` deliveries already waiting for its slots gets no more tasks;
        the rest stay ``pending`` in the store, held by this escalator, and the sweeper starts them once
        the partner catches up, so a partner that is down costs memory only up to that bound.
        """
        if delivery_id in self.inflight:
            return
        if self.backlog[partner_id] >= MAX_BACKLOG:
            self.own_unscheduled = True
            return
        task = asyncio.ensure_future(self.deliver(delivery_id, partner_id, held))
        self.inflight[delivery_id] = task
        self.backlog[partner_id] += 1

        def finished(_: object) -> None:
            self.inflight.pop(delivery_id, None)
            self.written_at.pop(delivery_id, None)
            self.backlog[partner_id] -= 1

        task.add_done_callback(finished)

    async def deliver(self, delivery_id: str, partner_id: str, held: Held | None = None) -> None:
        try:
            partner = self.routing.partners.get(partner_id)
            if partner is None:
                claimed = held or await self.store.claim(delivery_id, self.owner, self.clock(), LEASE_MARGIN_S)
                if claimed is not None:
                    await self._park(claimed, f"partner {partner_id!r} is not in the partners file")
                return
            fresh = held is not None
            if held is None:  # resumed or sent again: the lease starts when a slot is free
                async with self.limits[partner_id]:
                    held = await self.store.claim(delivery_id, self.owner, self.clock(), self._lease_s(partner))
            if held is not None:
                await self._send(held, partner, fresh)
        except asyncio.CancelledError:
            raise
        except Exception:  # the next sweep tries again; nothing is lost
            log.exception("delivery %s failed unexpectedly", delivery_id)
            self.own_unscheduled = True

    async def _send(self, held: Held, partner: Partner, fresh: bool) -> None:
        state = held.source
        request = state["record"]
        disclosure = apply_policy(request["alert"], partner.policy, partner.secret)
        data = {**disclosure.payload, "reason": request.get("reason")}
        if request["kind"] == "alert":
            data["ack_url"] = ack_url(self.settings.ack_base_url(), partner.id, state["delivery_id"], partner.secret)
        if not fresh:  # a resumed or resent delivery: its entry was written when it was first accepted
            await self.audit.write(*self._disclosure_entry(state))
        attempts = int(state.get("attempts") or 0)
        policy = partner.retry
        retrying = AsyncRetrying(stop=stop_after_attempt(policy.attempts), retry=retry_if_exception(_retryable),
                                 wait=wait_random_exponential(multiplier=policy.first_s, max=policy.max_s),
                                 reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if attempt.retry_state.attempt_number > 1:  # the claim set the first lease
                        await self.store.renew(held, attempts=attempts,
                                               lease_until=int(self.clock() + self._lease_s(partner)))
                    envelope = build_envelope(request["kind"], state["delivery_id"], request["alert_id"], data,
                                              self.source, partner.secret, self.clock())
                    try:
                        async with self.limits[partner.id]:  # a slot is one open request at the partner
                            sent, opened = time.monotonic(), next(self._requests)
                            ready = self.written_at.pop(state["delivery_id"], None)
                            if ready is not None:
                                self.metrics.steps.labels(partner=partner.id, step="to_send").observe(sent - ready)
                            self.open_since[partner.id][opened] = sent
                            try:
                                answer = await self.notifiers.send(partner, envelope)
                            finally:
                                del self.open_since[partner.id][opened]
                                answered = time.monotonic() - sent
                                self._answered(partner.id, answered)
                                self.metrics.steps.labels(partner=partner.id, step="answer").observe(answered)
                    except DeliveryFailed as exc:
                        self.metrics.attempts.labels(partner=partner.id, outcome="failed").inc()
                        log.warning("delivery %s to %s, attempt %d: %s", state["delivery_id"], partner.id, attempts,
                                    exc.reason)
                        raise
        except DeliveryFailed as exc:
            await self._park(held, exc.reason, attempts)
            return
        self.metrics.attempts.labels(partner=partner.id, outcome="delivered").inc()
        await self._delivered(held, partner, answer, attempts, sorted(disclosure.disclosed))

    async def _delivered(self, held: Held, partner: Partner, answer: str, attempts: int, fields: list[str]) -> None:
        now = self.clock()
        request = held.source["record"]
        deadline = None
        if request["kind"] == "alert" and request.get("rule"):
            tiers = [r.tiers for r in self.routing.rules if r.name == request["rule"]]
            tier = int(request.get("tier") or 0)
            if tiers and tier < len(tiers[0]) and tiers[0][tier].ack_within_s:
                deadline = int(now + tiers[0][tier].ack_within_s)
        await self.store.settle(held, "delivered", batch_s=self.linger_s(partner.id), delivered_at=int(now),
                                attempts=attempts, last_error=None, answer=answer, ack_deadline=deadline,
                                fields_disclosed=fields, lease_until=0)
        self.metrics.deliveries.labels(partner=partner.id, kind=request["kind"], outcome="delivered").inc()
        raised = (request["alert"].get("event") or {}).get("created")
        if raised:
            self.metrics.latency.labels(partner=partner.id).observe(max(0.0, now - parse_rfc3339(raised)))

    async def _park(self, held: Held, reason: str, attempts: int | None = None) -> None:
        state = held.source
        log.error("delivery %s to %s parked: %s", state["delivery_id"], state["partner"], reason)
        await self.producer.send_and_wait(
            self.settings.topic("escalations.dlq"), key=state["delivery_id"].encode("ascii"),
            value=json.dumps(state["record"], ensure_ascii=False).encode("utf-8"),
            headers=dead_letter_headers(reason, "deliver", state["delivery_id"], self.clock))
        await self.store.settle(held, "parked", batch_s=self.linger_s(state["partner"]), last_error=reason,
                                lease_until=0, attempts=attempts if attempts is not None else state.get("attempts", 0))
        self.metrics.deliveries.labels(partner=state["partner"], kind=state["kind"], outcome="parked").inc()

    # ---- sweeper: lapsed leases, retries on command, tiers -------------------------------------

    async def sweep(self) -> None:
        """Start what needs starting, tell next tiers, count parked deliveries.

        Deliveries this escalator holds are looked up only when some may have no task: at start (a
        restart under the same owner name) and after a partner's backlog was full. Otherwise every
        sweep would read back each delivery in flight, about 200 of them every two seconds for a
        partner answering after 10 s, and Elasticsearch's time for that is taken from every partner.
        """
        now = self.clock()
        own, self.own_unscheduled = self.own_unscheduled, False
        for delivery_id, partner_id in await self.store.claimable(self.owner, now, own=own):
            self.schedule(delivery_id, partner_id)
        await self._next_tiers(now)
        await self._count_parked()

    async def _next_tiers(self, now: float) -> None:
        seen: set[tuple[str, str, int]] = set()
        for delivery in await self.store.overdue_tiers(now):
            group = (delivery["alert_id"], delivery["rule"], int(delivery["tier"]))
            if group in seen:
                continue
            seen.add(group)
            siblings = await self.store.tier(*group)
            decision = tier_decision(siblings, now)
            following = next_tier(self.routing, group[1], group[2])
            if not decision.escalate or following is None:
                continue
            alert = next(s["record"]["alert"] for s in siblings)
            for partner in following.partners:
                await send_outbox(self.producer, self.settings, outbox_record(
                    alert, partner, "alert", rule=group[1], tier=group[2] + 1, by="trailhound",
                    reason=f"rule {group[1]}, tier {group[2] + 1}: {decision.reason}", now=now))
            for sibling in siblings:
                await self.store.update(sibling["delivery_id"], next_tier_sent=True)
            log.info("alert %s: %s; told tier %d (%s)", group[0], decision.reason, group[2] + 2,
                     ", ".join(following.partners))

    async def _count_parked(self) -> None:
        counts = await self.store.parked_by_partner()
        for partner in {*self.routing.partners, *counts}:
            self.metrics.parked.labels(partner=partner).set(counts.get(partner, 0))

    async def sweep_forever(self) -> None:
        while True:
            try:
                await self.sweep()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("escalation sweep failed; trying again")
            await asyncio.sleep(SWEEP_EVERY_S)

    # ---- web: acknowledgement links, metrics, health -------------------------------------------

    def web_app(self) -> web.Application:
        app = web.Application()
        app.router.add_route("*", "/ack/{partner}/{delivery_id}", self._acknowledge)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._health)
        return app

    async def _acknowledge(self, request: web.Request) -> web.Response:
        partner = self.routing.partners.get(request.match_info["partner"])
        delivery_id = request.match_info["delivery_id"]
        signature = request.query.get("sig", "")
        if partner is None or not hmac.compare_digest(ack_signature(partner.secret, delivery_id), signature):
            return web.json_response({"error": "unknown or wrongly signed acknowledgement link"}, status=403)
        found = await self.store.get(delivery_id)
        if found is None or found["_source"]["partner"] != partner.id:
            return web.json_response({"error": "no such delivery"}, status=404)
        if found["_source"]["state"] != "acknowledged":
            await self.store.update(delivery_id, state="acknowledged", acknowledged_at=int(self.clock()))
            await self.audit.record("partner-acknowledged", partner.id, found["_source"]["alert_id"],
                                    partner=partner.id, entry_id=stable_id("audit-ack", delivery_id),
                                    extra={"delivery_id": delivery_id})
        return web.json_response({"status": "acknowledged", "alert_id": found["_source"]["alert_id"]})

    async def _metrics(self, request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(self.metrics.registry), content_type="text/plain")

    async def _health(self, request: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "owner": self.owner, "inflight": len(self.inflight),
                                  "partners": sorted(self.routing.partners)})

    async def run(self) -> None:
        """Serve and deliver until cancelled."""
        runner = web.AppRunner(self.web_app())
        await runner.setup()
        await web.TCPSite(runner, self.settings.bind_host, self.settings.escalator_port).start()
        log.info("escalator %s serving acknowledgement links on %s", self.owner, self.settings.ack_base_url())
        tasks = [asyncio.ensure_future(self.consume()), asyncio.ensure_future(self.sweep_forever())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for lane in self.lanes.values():
                await lane.close()
            for task in list(self.inflight.values()):
                task.cancel()
            await asyncio.gather(*self.inflight.values(), return_exceptions=True)
            await self.notifiers.close()
            await runner.cleanup()


async def _serve(settings: Settings, routing: Routing) -> None:
    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30, retry_on_timeout=True)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await Escalator(settings, routing, es, producer).run()
    finally:
        await producer.stop()
        await es.close()


def run_escalator(settings: Settings) -> None:
    """Check the partners file (refusing to start on any problem), prepare topics and indices, run."""
    from trailhound.alerts.indices import prepare_indices
    from trailhound.alerts.partners import load_routing
    from trailhound.topics import ensure_topics

    routing = load_routing(settings)  # RoutingError: the caller shows every problem and exits
    ensure_topics(settings)
    prepare_indices(settings)
    log.info("escalator starting with %d partners and %d rules", len(routing.partners), len(routing.rules))
    asyncio.run(_serve(settings, routing))

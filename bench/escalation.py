"""Escalation latency (alert raised → partner receipt) and exactly-once delivery across a killed escalator.

Runs on the real local Kafka and Elasticsearch (started if needed), each phase in a fresh namespace:
alerts enter through the worker's own recording stage (:class:`alerts.recorder.AlertRecorder`: group →
silence → route → outbox → record); a real ``trailhound escalator`` process delivers them to real
signed-webhook receivers (:mod:`tests.partners`), which verify every signature. Each partner's receiver
runs in a process of its own (:mod:`remote_partner`): a partner's server is not Trailhound's. Sharing the
bench's event loop, the fast one answered and stamped its receipts behind the recording stage's work,
which grows with the number of partners an alert goes to (one outbox record each), so the bench charged
that work to the fast partner's answer next to the slow one; the slow one's work did the same.

Each phase first delivers a few warm-up alerts (consumer group joined, indices created), not counted.

1. *fast alone*: one partner answering at once; ``--alerts`` alerts raised at ``--rate`` per second.
2. *fast next to slow*: the same, while a second partner gets every alert too and answers after 10 s.
   A phase lasts longer than those 10 s (600 alerts at 20 a second), so most of the fast partner's
   alerts are raised while the slow one holds about 200 open requests *and* answers and has its outcomes
   recorded; the table says which share.

   Phases 1 and 2 alternate ``--rounds`` times (alone, next to slow, alone, next to slow…), and each
   figure pools its rounds (1,800 alerts by default, so a p99 is not one alert's); each round's p99 is
   printed too, to show how far one stall of the shared machine moves it. On a shared machine whose
   load drifts over minutes, one phase after the other would compare two different machines;
   alternating puts both phases under the same drift.
3. *kill*: ``--kill-alerts`` alerts to the fast partner; the escalator is killed (SIGKILL) once a third
   has arrived, and started again. ``lost`` counts alerts the partner never processed; ``duplicated``
   counts alerts it processed more than once (a second delivery under a new id would count);
   ``redelivered`` counts repeated HTTP requests the partner's idempotency key absorbed.

A second table says where the fast partner's time goes in each phase kind: the recording stage (one call,
and alert raised → its outbox record confirmed by Kafka), then the escalator's own steps per partner
(``trailhound_delivery_step_seconds`` read from its ``/metrics``: queued, state_write, to_send, answer; p50
and p99 interpolated inside the histogram's buckets), and the work the slow partner adds whatever the
machine's load: the escalator's CPU seconds after warm-up and the bulk requests reaching the delivery-state
and audit indices (Elasticsearch's own count).

Run ``.venv/bin/python bench/escalation.py``. Prints the tables, then one JSON line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import yaml
from aiokafka import AIOKafkaProducer
from elasticsearch import AsyncElasticsearch
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from harness import delete_namespace  # noqa: E402  (bench/ is the script folder)
from remote_partner import RemoteReceiver  # noqa: E402

from trailhound.alerts.lifecycle import send_outbox  # noqa: E402
from trailhound.alerts.partners import load_routing  # noqa: E402
from trailhound.alerts.recorder import AlertRecorder, SilenceCache  # noqa: E402
from trailhound.config import Settings  # noqa: E402
from trailhound.provision import prepare_servers  # noqa: E402
from trailhound.stack.manager import ServerState, down, up  # noqa: E402
from trailhound.timefmt import iso  # noqa: E402

SECRETS = {"TRAILHOUND_SECRET_FAST": "f" * 40, "TRAILHOUND_SECRET_SLOW": "s" * 40}
SLOW_S = 10.0
StepBuckets = dict[str, dict[str, list[tuple[float, float]]]]  # partner → step → (upper bound, cumulative count)
WARM_UP = 5


def _alert(n: int, run: str) -> dict[str, Any]:
    now = time.time()
    post = f"bench:{run}-{n}"
    return {
        "@timestamp": iso(now), "message": f"High-risk post {post}: youth", "tags": ["trailhound", "youth"],
        "event": {"kind": "alert", "id": f"{run}-{n}", "severity": 3, "risk_score": 80.0, "created": iso(now)},
        "rule": {"id": "trailhound.content-risk", "category": "content"},
        "trailhound": {"post_ids": [post], "score": 0.8, "severity": "high", "categories": ["youth"],
                       "indicators": [], "entity": {"key": f"post:{post}"}, "posted_at": iso(now), "status": "new"},
    }


def _partners_file(fast_url: str, slow_url: str | None) -> Path:
    partners: dict[str, Any] = {"fast": {"secret_env": "TRAILHOUND_SECRET_FAST", "concurrency": 16,
                                         "webhook": {"url": fast_url, "timeout": "5s"}}}
    tier = ["fast"]
    if slow_url:
        partners["slow"] = {"secret_env": "TRAILHOUND_SECRET_SLOW", "concurrency": 500,
                            "webhook": {"url": slow_url, "timeout": "30s"}}
        tier.append("slow")
    config = {"partners": partners,
              "rules": [{"name": "all", "match": {}, "automatic": True, "tiers": [{"partners": tier}]}]}
    path = Path(tempfile.mkdtemp()) / "partners.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


class Escalator:
    """A real ``trailhound escalator`` process."""

    def __init__(self, settings: Settings, partners: Path, port: int) -> None:
        self.env = {**os.environ, **SECRETS, "TRAILHOUND_NAMESPACE": settings.namespace,
                    "TRAILHOUND_PARTNERS_FILE": str(partners), "TRAILHOUND_ESCALATOR_PORT": str(port)}
        self.port = port
        self.log = Path(tempfile.mkdtemp()) / "escalator.log"
        self.process: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([sys.executable, "-m", "trailhound", "escalator"], cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        async with httpx.AsyncClient() as client:
            for _ in range(240):
                try:
                    if (await client.get(f"http://127.0.0.1:{self.port}/healthz", timeout=2)).status_code == 200:
                        return
                except httpx.HTTPError:
                    pass
                if self.process.poll() is not None:
                    raise RuntimeError(f"escalator exited: {self.log.read_text()[-2000:]}")
                await asyncio.sleep(0.5)
        raise RuntimeError("escalator did not start")

    def cpu_s(self) -> float:
        """CPU seconds the running escalator process has used (user and system), from /proc."""
        assert self.process is not None
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self, kill: bool = False) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _p(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


async def _phase(base: Settings, alerts: int, rate: float, with_slow: bool, kill_after: int | None = None,
                 port: int = 6968) -> dict[str, Any]:
    settings = base.with_namespace(f"bench{uuid.uuid4().hex[:6]}")
    prepare_servers(settings)
    fast = await RemoteReceiver(SECRETS["TRAILHOUND_SECRET_FAST"].encode()).start()
    slow = await RemoteReceiver(SECRETS["TRAILHOUND_SECRET_SLOW"].encode(), delay_s=SLOW_S).start()
    partners = _partners_file(fast.url, slow.url if with_slow else None)
    escalator = Escalator(settings, partners, port)
    es = AsyncElasticsearch(settings.elasticsearch_url)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    raised_at: dict[str, float] = {}
    outboxed_at: dict[str, float] = {}  # when Kafka confirmed the fast partner's outbox record
    record_s: list[float] = []  # how long each call of the recording stage took
    steps: StepBuckets = {}
    kills = 0

    async def kill_once_due() -> None:
        nonlocal kills
        if kill_after is not None and kills == 0 and await fast.count() >= kill_after:
            escalator.stop(kill=True)
            kills += 1
            await escalator.start()

    try:
        await escalator.start()
        routing = load_routing(Settings.from_env({**SECRETS, "TRAILHOUND_PARTNERS_FILE": str(partners)}))

        async def outbox(record: dict[str, Any]) -> None:
            await send_outbox(producer, settings, record)
            if record["partner"] == "fast":
                outboxed_at[record["alert_id"]] = time.time()

        recorder = AlertRecorder(settings, es, routing, outbox, SilenceCache(settings, es))
        await recorder.record([_alert(n, "warmup") for n in range(WARM_UP)])  # consumer group joined, indices made
        while await fast.count() < WARM_UP or (with_slow and await slow.count() < WARM_UP):
            await asyncio.sleep(0.2)
        await fast.clear()
        await slow.clear()
        cpu_before, steps_before = escalator.cpu_s(), await _step_buckets(port)
        run = uuid.uuid4().hex[:6]
        started = time.monotonic()
        batch = max(1, int(rate / 10))
        for first in range(0, alerts, batch):
            chunk = [_alert(n, run) for n in range(first, min(alerts, first + batch))]
            for a in chunk:
                raised_at[a["event"]["id"]] = time.time()
            recording = time.monotonic()
            await recorder.record(chunk)
            record_s.append(time.monotonic() - recording)
            await kill_once_due()
            await asyncio.sleep(max(0.0, started + (first + batch) / rate - time.monotonic()))
        expected = [("fast", fast)] + ([("slow", slow)] if with_slow else [])
        deadline = time.monotonic() + 120 + (SLOW_S if with_slow else 0) + alerts / 10
        while time.monotonic() < deadline:
            await kill_once_due()
            if await fast.count() >= alerts and (not with_slow or await slow.count() >= alerts):
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(2.0)  # anything sent twice arrives now
        steps = _without(await _step_buckets(port), steps_before)  # the warm-up's steps are not counted
        escalator_cpu_s = escalator.cpu_s() - cpu_before  # the kill phase's restart makes this meaningless there
        state_indices = f"{settings.index('escalations')},{settings.index('audit')}"
        stats = await es.indices.stats(index=state_indices, metric="bulk")
        state_bulks = stats["_all"]["total"]["bulk"]["total_operations"]
    finally:
        escalator.stop()
        await producer.stop()
        await es.close()
        await fast.stop()
        await slow.stop()
        delete_namespace(settings)
    result: dict[str, Any] = {"alerts": alerts, "kills": kills, "record_s": record_s, "steps": steps,
                              "escalator_cpu_s": escalator_cpu_s, "state_bulks": state_bulks,
                              "to_outbox_s": [outboxed_at[a] - raised_at[a] for a in raised_at if a in outboxed_at]}
    if with_slow:  # how much of the fast partner's window the slow partner spent answering, not only filling up
        first_slow_answer = min((r.at for r in slow.processed.values()), default=float("inf"))
        result["raised_while_slow_answered"] = sum(1 for t in raised_at.values() if t >= first_slow_answer)
    for name, receiver in expected:
        per_alert: dict[str, int] = {}
        for r in receiver.processed.values():
            per_alert[r.event["subject"]] = per_alert.get(r.event["subject"], 0) + 1
        result[name] = {
            "alerts": alerts, "received": len(per_alert), "lost": alerts - len(per_alert),
            "duplicated": sum(1 for c in per_alert.values() if c > 1),
            "redelivered": sum(receiver.requests.values()) - len(receiver.requests),
            "refused_signatures": len(receiver.refused),
            "latencies": [r.at - raised_at[r.event["subject"]] for r in receiver.processed.values()],
        }
    return result


async def _step_buckets(port: int) -> StepBuckets:
    """The escalator's per-partner step histograms (``trailhound_delivery_step_seconds``), as
    {partner: {step: [(upper bound, cumulative count)]}}, read from its ``/metrics``."""
    async with httpx.AsyncClient() as client:
        text = (await client.get(f"http://127.0.0.1:{port}/metrics", timeout=10)).text
    found: StepBuckets = {}
    for family in text_string_to_metric_families(text):
        if family.name != "trailhound_delivery_step_seconds":
            continue
        for sample in family.samples:
            if sample.name.endswith("_bucket"):
                found.setdefault(sample.labels["partner"], {}).setdefault(sample.labels["step"], []).append(
                    (float(sample.labels["le"]), sample.value))
    return found


def _without(after: StepBuckets, before: StepBuckets) -> StepBuckets:
    """Histogram buckets counted between two reads."""
    return {partner: {step: [(upper, count - dict(before.get(partner, {}).get(step, [])).get(upper, 0.0))
                             for upper, count in buckets] for step, buckets in steps.items()}
            for partner, steps in after.items()}


def _bucket_quantile(buckets: list[tuple[float, float]], q: float) -> float:
    """A quantile from cumulative histogram buckets, interpolated linearly inside its bucket."""
    ordered = sorted(buckets)
    total = ordered[-1][1] if ordered else 0
    if not total:
        return float("nan")
    rank, lower, below = q * total, 0.0, 0.0
    for upper, count in ordered:
        if count >= rank:
            if upper == float("inf"):
                return lower
            return lower + (upper - lower) * (rank - below) / max(count - below, 1e-9)
        lower, below = upper, count
    return lower


def _step_figures(phases: list[dict[str, Any]], partner: str) -> dict[str, dict[str, float]]:
    """One partner's steps inside the escalator over several phases (buckets added): p50 and p99 in ms."""
    pooled: dict[str, dict[float, float]] = {}
    for phase in phases:
        for step, buckets in phase["steps"].get(partner, {}).items():
            for upper, count in buckets:
                pooled.setdefault(step, {})[upper] = pooled.setdefault(step, {}).get(upper, 0.0) + count
    return {step: {f"p{round(q * 100)}_ms": round(1000 * _bucket_quantile(list(b.items()), q), 1)
                   for q in (0.5, 0.99)} for step, b in pooled.items()}


def _pooled(phases: list[dict[str, Any]]) -> dict[str, Any]:
    """One receiver's figures over several phases: counts added, latency percentiles over every alert."""
    latencies = [x for p in phases for x in p["latencies"]]
    pooled = {k: sum(p[k] for p in phases) for k in ("alerts", "received", "lost", "duplicated", "redelivered",
                                                      "refused_signatures")}
    return {**pooled, "p50_s": round(_p(latencies, 0.5), 3), "p99_s": round(_p(latencies, 0.99), 3),
            "mean_s": round(statistics.fmean(latencies), 3) if latencies else None}


async def _main(args: argparse.Namespace) -> dict[str, Any]:
    base = Settings.from_env()
    alone: list[dict[str, Any]] = []
    mixed: list[dict[str, Any]] = []
    for _ in range(args.rounds):
        alone.append(await _phase(base, args.alerts, args.rate, with_slow=False))
        mixed.append(await _phase(base, args.alerts, args.rate, with_slow=True))
    killed = await _phase(base, args.kill_alerts, args.kill_rate, with_slow=False, kill_after=args.kill_alerts // 3)
    return {"alone": {"fast": _pooled([p["fast"] for p in alone])},
            "mixed": {name: _pooled([p[name] for p in mixed]) for name in ("fast", "slow")},
            "killed": {"fast": _pooled([killed["fast"]]), "kills": killed["kills"]},
            "raised_while_slow_answered": sum(p["raised_while_slow_answered"] for p in mixed),
            "steps": {"alone": _step_figures(alone, "fast"), "mixed": _step_figures(mixed, "fast")},
            "work": {name: {"escalator_cpu_s": round(sum(p["escalator_cpu_s"] for p in ps), 2),
                            "state_bulk_shard_requests": sum(p["state_bulks"] for p in ps)}
                     for name, ps in (("alone", alone), ("mixed", mixed))},
            **{key: {"alone": [x for p in alone for x in p[key]], "mixed": [x for p in mixed for x in p[key]]}
               for key in ("record_s", "to_outbox_s")},
            "by_round": {"alone": [round(_p(p["fast"]["latencies"], 0.99), 3) for p in alone],
                         "mixed": [round(_p(p["fast"]["latencies"], 0.99), 3) for p in mixed]}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--alerts", type=int, default=600, help="alerts per latency phase and round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of (alone, next to slow), alternating")
    parser.add_argument("--rate", type=float, default=20.0, help="alerts raised per second in latency phases")
    parser.add_argument("--kill-alerts", type=int, default=1000)
    parser.add_argument("--kill-rate", type=float, default=100.0)
    args = parser.parse_args()
    base = Settings.from_env()
    report = up(base)
    started = [s.name for s in report.servers if s.state is ServerState.STARTED]
    load_before = os.getloadavg()[0]
    try:
        phases = asyncio.run(_main(args))
    finally:
        if started:
            down(base, only=started)
    nan = float("nan")
    alone, mixed, killed = phases["alone"]["fast"], phases["mixed"], phases["killed"]["fast"]
    figures = {
        "benchmark": "escalation", "alerts_per_phase": args.alerts, "rounds": args.rounds, "rate_per_s": args.rate,
        "fast_alone_p50_s": alone["p50_s"], "fast_alone_p99_s": alone["p99_s"],
        "fast_p50_s": mixed["fast"]["p50_s"], "fast_p99_s": mixed["fast"]["p99_s"],
        "slow_p50_s": mixed["slow"]["p50_s"], "slow_p99_s": mixed["slow"]["p99_s"],
        "fast_p99_vs_alone": round(mixed["fast"]["p99_s"] / alone["p99_s"], 3) if alone["p99_s"] else None,
        "fast_p50_vs_alone": round(mixed["fast"]["p50_s"] / alone["p50_s"], 3) if alone["p50_s"] else None,
        "fast_share_raised_while_slow_answered": round(
            phases["raised_while_slow_answered"] / mixed["fast"]["alerts"], 3),
        "kill_alerts": args.kill_alerts, "escalator_kills": phases["killed"]["kills"],
        "lost": killed["lost"], "duplicated": killed["duplicated"], "redelivered": killed["redelivered"],
        "lost_latency_phases": alone["lost"] + mixed["fast"]["lost"] + mixed["slow"]["lost"],
        "refused_signatures": alone["refused_signatures"] + killed["refused_signatures"],
        "to_outbox_p99_ms": {k: round(1000 * _p(v, 0.99), 1) for k, v in phases["to_outbox_s"].items()},
        "record_call_p99_ms": {k: round(1000 * _p(v, 0.99), 1) for k, v in phases["record_s"].items()},
        "fast_steps_ms": phases["steps"],
        "work_per_phase_kind": phases["work"],
        "fast_alone_p99_by_round_s": phases["by_round"]["alone"],
        "fast_p99_by_round_s": phases["by_round"]["mixed"],
        "load_1m_before": round(load_before, 2), "load_1m_after": round(os.getloadavg()[0], 2), "cores": os.cpu_count(),
    }
    rows = [
        ("fast partner alone, p50 / p99 s", f"{alone['p50_s']} / {alone['p99_s']}"),
        ("fast next to a 10 s partner, p50 / p99 s", f"{mixed['fast']['p50_s']} / {mixed['fast']['p99_s']}"),
        ("slow (10 s) partner, p50 / p99 s", f"{mixed['slow']['p50_s']} / {mixed['slow']['p99_s']}"),
        ("fast p99 next to slow ÷ alone", str(figures["fast_p99_vs_alone"])),
        ("fast p50 next to slow ÷ alone", str(figures["fast_p50_vs_alone"])),
        ("… share of them raised while the slow one answered", str(figures["fast_share_raised_while_slow_answered"])),
        (f"{args.kill_alerts} alerts, escalator killed: lost", str(killed["lost"])),
        ("… processed twice by the partner", str(killed["duplicated"])),
        ("… requests repeated (absorbed by idempotency key)", str(killed["redelivered"])),
        (f"machine load (1 min) before / after, {os.cpu_count()} cores",
         f"{figures['load_1m_before']} / {figures['load_1m_after']}"),
    ]
    print(f"{'what':<52}{'figure':>20}")
    for what, value in rows:
        print(f"{what:<52}{value:>20}")
    print(f"\n{'where the fast partner waits, ms (p50 / p99)':<48}{'alone':>16}{'next to slow':>16}")
    lines = [("alert raised → outbox record confirmed", {k: (1000 * _p(v, 0.5), 1000 * _p(v, 0.99))
                                                        for k, v in phases["to_outbox_s"].items()}),
             ("recording stage, one call", {k: (1000 * _p(v, 0.5), 1000 * _p(v, 0.99))
                                            for k, v in phases["record_s"].items()})]
    lines += [(f"escalator: {step}", {k: (v.get(step, {}).get("p50_ms", nan), v.get(step, {}).get("p99_ms", nan))
                                      for k, v in phases["steps"].items()})
              for step in ("queued", "state_write", "to_send", "answer")]
    for what, cells in lines:
        print(f"{what:<48}" + "".join(f"{cells[k][0]:>9.1f} / {cells[k][1]:<6.1f}" for k in ("alone", "mixed")))
    for what, key in (("all rounds: escalator CPU s after warm-up", "escalator_cpu_s"),
                      ("all rounds: bulk requests to state indices", "state_bulk_shard_requests")):
        print(f"{what:<48}" + "".join(f"{phases['work'][k][key]:>16}" for k in ("alone", "mixed")))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""The live demo: local stack, a background worker and ingest server, and a replayed sample feed.

It is what a new user runs first, so it explains itself as it goes and ends by saying where to look.
Re-running it is safe: servers and worker already running are reused, and replayed posts map to the
same alert ids, so no alert appears twice.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from elasticsearch import AsyncElasticsearch, Elasticsearch
from rich.console import Console

from trailhound.alerts.search import list_alerts
from trailhound.background import start_background
from trailhound.config import Settings
from trailhound.console.users import UserError, UserStore
from trailhound.ingest.files import ingest_path
from trailhound.ingest.producer import PostIngestor
from trailhound.provision import prepare_stack

__all__ = ["DEMO_ANALYST", "SAMPLE_FEED", "demo_account", "run_demo"]

SAMPLE_FEED = Path(__file__).resolve().parent.parent / "samples" / "sample-feed.jsonl"
DEMO_ANALYST = "demo"


def demo_account(settings: Settings) -> str | None:
    """The demo supervisor's password (created on the first run and kept in the cache), or None if unknown."""
    saved = settings.cache_dir / f"console-{settings.namespace or 'default'}-demo-password"
    password = saved.read_text().strip() if saved.exists() else secrets.token_urlsafe(12)

    async def create() -> bool:
        async with AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30) as es:
            try:
                await UserStore(settings, es).create(DEMO_ANALYST, password, "supervisor", created_by="demo")
            except UserError:
                return False
            return True

    if asyncio.run(create()):
        saved.parent.mkdir(parents=True, exist_ok=True)
        saved.write_text(password)
        saved.chmod(0o600)
        return password
    return password if saved.exists() else None


def _wait_for_worker(settings: Settings, log_file: Path, timeout_s: float = 90.0) -> None:
    url = f"http://127.0.0.1:{settings.worker_web_port}/healthz"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    tail = "\n".join(log_file.read_text(errors="replace").splitlines()[-30:]) if log_file.exists() else ""
    raise RuntimeError(f"the worker did not answer on {url} within {timeout_s:.0f} s; log {log_file}:\n{tail}")


def _wait_for_alerts(es: Elasticsearch, settings: Settings, quiet_s: float = 6.0, timeout_s: float = 120.0) -> int:
    """Wait until the alert count stops growing (the worker has caught up with the feed)."""
    last, stable_since = -1, time.monotonic()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        es.indices.refresh(index=settings.index("alerts"))
        count = es.count(index=settings.index("alerts"))["count"]
        if count != last:
            last, stable_since = count, time.monotonic()
        elif count > 0 and time.monotonic() - stable_since >= quiet_s:
            return count
        time.sleep(1)
    return max(last, 0)


def _command() -> str:
    """How the user can call ``trailhound`` from here (the virtual environment may not be active)."""
    script = Path(sys.executable).parent / "trailhound"
    if shutil.which("trailhound") == str(script):
        return "trailhound"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def run_demo(settings: Settings, console: Console, feed: Path = SAMPLE_FEED) -> None:
    console.rule("Trailhound demo")
    console.print("1/4 starting Kafka and Elasticsearch (first run downloads them with mvn: a few minutes)…")
    console.print(prepare_stack(settings))
    console.print("2/4 starting a stream worker, the HTTP ingest server and the console in the background…")
    if DEMO_ANALYST not in settings.analysts:  # the worker learns from the demo account's labels
        os.environ["TRAILHOUND_ANALYSTS"] = ",".join((*settings.analysts, DEMO_ANALYST))
    _, worker_log = start_background(settings, "worker")
    start_background(settings, "ingest-server")
    password = demo_account(settings)
    start_background(settings, "console")
    _wait_for_worker(settings, worker_log)
    console.print(f"3/4 replaying the synthetic sample feed {feed.name}…")
    ingestor = PostIngestor(settings)
    try:
        counts = ingest_path(ingestor, str(feed), progress=False)
    finally:
        ingestor.close()
    dlq = settings.topic("posts.dlq")
    console.print(f"    accepted {counts.accepted}, rejected {counts.rejected} (see topic {dlq})")
    console.print("4/4 waiting for the worker to score the feed…")
    es = Elasticsearch(settings.elasticsearch_url)
    total = _wait_for_alerts(es, settings)
    alerts = list_alerts(es, settings, limit=500)
    by_severity = Counter(a["trailhound"]["severity"] for a in alerts)
    console.print(f"    {total} alerts: " + ", ".join(f"{n} {s}" for s, n in by_severity.most_common()))
    for alert in sorted(alerts, key=lambda a: -a["trailhound"]["score"])[:3]:
        console.print(f"  • {alert['message']}")
        for indicator in alert["trailhound"]["indicators"][:3]:
            console.print(f"      {indicator['category']}: “{' '.join(indicator['evidence'].split())}”")
    console.rule("Where to look")
    cli = _command()
    sign_in = f"user {DEMO_ANALYST}, password {password}" if password else \
        f"the {DEMO_ANALYST} account made by an earlier demo"
    console.print(f"[bold]operations console[/bold]         http://127.0.0.1:{settings.console_port}   "
                  f"(sign in: {sign_in})")
    console.print(f"alerts on the command line   {cli} alerts list --severity high")
    console.print(f"alerts in Elasticsearch      {settings.elasticsearch_url}/{settings.index('alerts')}/_search?q=*")
    console.print(f"worker metrics (Prometheus)  http://127.0.0.1:{settings.worker_web_port}/metrics")
    console.print(f"push posts over HTTP         POST http://127.0.0.1:{settings.ingest_http_port}/posts "
                  f"(Authorization: Bearer, token in {settings.cache_dir / 'ingest.token'})")
    console.print(f"logs                         {settings.cache_dir / 'logs'}")
    console.print(f"teach the models             {cli} feedback verdicts.jsonl   (see README: Learning from analysts)")
    console.print(f"stop everything              {cli} stack down   (or: make down)")

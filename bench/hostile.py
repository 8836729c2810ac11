"""What hostile input costs Trailhound, and whether any of it loses records or runs code.

Sends the inputs of the hardening review (issue 11) through the real code on the real local Kafka and
Elasticsearch, in a fresh namespace:

* **per-post work**: padded ads (87,000 × ``$1 `` after or before the message), 14,000 phone entries,
  bodies crafted for the phone and price finders, a post for a catastrophically backtracking
  expression; each goes through the worker's own ``PostProcessor`` (validate, enrich, score, document)
  and the slowest is reported, with whether the padded ads were still alerted;
* **HTTP requests** to a real ``trailhound ingest-server`` process: a 4 MiB JSON array of zeros, a body
  over the request limit, JSON lines mixing hostile and good lines, no token; the server's peak memory
  during each request (``VmHWM`` reset before it) is reported;
* **records lost**: every line sent over HTTP and from a file must end up in ``posts.raw`` or
  ``posts.dlq``, and every accepted post, processed by a real worker, in the posts index or a dead letter;
* **code executed**: a pickled checkpoint signed with the verdict key is planted in the models index
  and loaded the way a worker starts; it must not run.

Run ``.venv/bin/python bench/hostile.py`` (two to four minutes). Prints a table, then one JSON line.
"""

from __future__ import annotations

import base64
import functools
import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import uuid
import zlib
from pathlib import Path
from typing import Any

import httpx
import river
from elasticsearch import Elasticsearch, NotFoundError
from harness import delete_namespace  # noqa: E402  (bench/ is the script folder)
from kafka import KafkaConsumer, TopicPartition

from trailhound.alerts.indices import prepare_indices
from trailhound.config import Settings
from trailhound.detectors.library import LibraryError, PatternLibrary
from trailhound.detectors.library_guard import check_library
from trailhound.detectors.matcher import PatternMatcher
from trailhound.provision import prepare_servers
from trailhound.schemas import InvalidRecord
from trailhound.signing import feedback_key, ingest_token, sign
from trailhound.stack.manager import ServerState, down, up
from trailhound.streams.model_state import CHECKPOINT_ID, load_checkpoint
from trailhound.streams.pipeline import PostProcessor
from trailhound.streams.warm_start import warm_start_synthetic
from trailhound.streams.worker import BUNDLED_PATTERNS, build_detectors

ROOT = Path(__file__).resolve().parent.parent
RISKY = ("New girls just arrived, very young and sweet, fresh in town. My girls do not speak English and are "
         "available 24/7, ask for her when you call. Text five five five, zero one two three four.")
GOOD = "Farmers market this Saturday: fresh produce, new potatoes and young carrots. Open 8 to 2."


def _post(post_id: str, body: str, **extra: Any) -> dict[str, Any]:
    return {"id": post_id, "source": "hostile", "posted_at": "2026-11-20T10:00:00Z", "body": body, **extra}


def _prefixed(prefix: str, post_id: str, body: str, **extra: Any) -> dict[str, Any]:
    return _post(prefix + post_id, body, **extra)


def hostile_posts(prefix: str = "") -> dict[str, bytes]:
    """The hostile lines; ``prefix`` keeps post ids distinct between sends (a replay would overwrite)."""
    head = '{"id": "' + prefix + '%s", "source": "hostile", "posted_at": "2026-11-20T10:00:00Z", "body": "hi", "x": '
    _post = functools.partial(_prefixed, prefix)
    return {
        "padded after (87,000 x '$1 ')": json.dumps(_post("pad-after", RISKY + " " + "$1 " * 87_000)).encode(),
        "padded before": json.dumps(_post("pad-before", "$1 " * 87_000 + RISKY)).encode(),
        "14,000 phone entries": json.dumps(_post("phones", RISKY, contact={
            "phones": [f"+1312555{n:04d}" for n in range(14_000)]})).encode(),
        "phones written in words": json.dumps(_post("words", RISKY + " " + "five five five zero one two three "
                                                     * 6_500)).encode(),
        "40,000 distinct prices": json.dumps(_post("prices", (RISKY + " " + " ".join(
            f"${n}" for n in range(40_000)))[:250_000])).encode(),
        "15,000 phone numbers in the text": json.dumps(_post("in-text", RISKY + " " + " ".join(
            f"312-555-{n:04d}" for n in range(15_000)))).encode(),
        "lone surrogate": json.dumps(_post("sur", "hi")).replace('"hi"', '"hi \\ud800"').encode(),
        "JSON 1,000 deep": (head % "deep" + "[" * 1000 + "]" * 1000 + "}").encode(),
        "integer of 4,301 digits": (head % "int" + "9" * 4301 + "}").encode(),
    }


def per_post(processor: PostProcessor) -> tuple[list[tuple[str, float, str]], bool]:
    rows, padded_alerted = [], True
    for name, raw in hostile_posts().items():
        started = time.perf_counter()
        try:
            outcome = processor.process(processor.enrich(raw, time.time()))
            result = "alert" if outcome.alerts else "scored, no alert"
            if name.startswith("padded"):
                padded_alerted &= bool(outcome.alerts)
        except InvalidRecord as exc:
            result = f"refused: {exc.reason[:40]}"
        rows.append((name, time.perf_counter() - started, result))
    return rows, padded_alerted


def pathological_library() -> tuple[bool, float]:
    """Whether a library with ``(?:a|b|ab)+xy`` is refused, and the match time if it went live anyway."""
    wire = json.loads(json.dumps(PatternLibrary.load(BUNDLED_PATTERNS).to_json()))
    del wire["version"]
    wire["files"][0]["patterns"][0]["match"] = [{"regex": "(?:a|b|ab)+xy"}]
    library = PatternLibrary.from_json(wire)
    try:
        check_library(library)
        refused = False
    except LibraryError:
        refused = True
    from trailhound.detectors.extract import extract_entities
    from trailhound.detectors.normalize import normalize

    norm = normalize("ab" * 40 + "! then abxy. " + RISKY)
    matcher = PatternMatcher(library)
    started = time.perf_counter()
    matcher.match(norm, extract_entities(norm))
    return refused, time.perf_counter() - started


def _memory(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def http_requests(settings: Settings, env: dict[str, str], port: int) -> tuple[list[tuple[str, int, float]], int]:
    server = subprocess.Popen([sys.executable, "-m", "trailhound", "ingest-server"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}/posts"
    auth = {"Authorization": f"Bearer {ingest_token(settings)}"}
    hostile = list(hostile_posts("http-").values())
    lines = [json.dumps(_post(f"good-{n}", GOOD)).encode() for n in range(20)]
    mixed = b"\n".join(lines[:10] + hostile + lines[10:])
    requests = [
        ("4 MiB JSON array of zeros", b"[" + b"0," * (2 * 1024 * 1024 - 1) + b"0]", "application/json", auth),
        ("40 MiB body (over the limit)", b"[" + b"0," * (20 * 1024 * 1024) + b"0]", "application/json", auth),
        ("JSON lines: 20 good, 9 hostile", mixed, "application/x-ndjson", auth),
        ("no token", b"\n".join(lines), "application/x-ndjson", {}),
    ]
    rows, taken = [], 0
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        for name, body, content_type, headers in requests:
            before = _memory(server.pid, "VmRSS")
            Path(f"/proc/{server.pid}/clear_refs").write_text("5")  # reset the peak (VmHWM)
            response = httpx.post(url, content=body, headers={"Content-Type": content_type, **headers},
                                  timeout=300)
            peak = _memory(server.pid, "VmHWM") - before
            result = response.json()
            taken += result.get("accepted", 0) + result.get("rejected", 0)
            rows.append((name, response.status_code, max(0.0, peak)))
    finally:
        server.terminate()
        server.wait(timeout=30)
    return rows, taken


def _topic_count(settings: Settings, logical: str) -> int:
    consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap, enable_auto_commit=False)
    topic = settings.topic(logical)
    partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
    ends, starts = consumer.end_offsets(partitions), consumer.beginning_offsets(partitions)
    consumer.close()
    return sum(ends[tp] - starts[tp] for tp in partitions)


def forged_checkpoint_runs_code(settings: Settings, es: Elasticsearch) -> bool:
    marker = Path(tempfile.mkdtemp()) / "code-ran"

    class Payload:
        def __reduce__(self) -> tuple[Any, ...]:
            return (os.system, (f"touch {marker}",))

    for format_ in (2, 3):
        header = {"format": format_, "river": river.__version__, "python": "3.11", "version": "forged+0"}
        state = (b"TRAILHOUND-ONLINE-MODELS\n" + json.dumps(header).encode() + b"\n"
                 + zlib.compress(pickle.dumps(Payload())))
        offset = 10**9
        es.index(index=settings.index("models"), id=CHECKPOINT_ID, refresh=True, document={
            "state": base64.b64encode(state).decode(), "feedback_offset": offset, "version": "forged+0",
            "signature": sign(feedback_key(settings), f"{offset}\n".encode() + state).decode()})
        load_checkpoint(es, settings)
    return marker.exists()


def main() -> None:
    base = Settings.from_env()
    report = up(base)
    started = [s.name for s in report.servers if s.state is ServerState.STARTED]
    settings = base.with_namespace(f"hostile{uuid.uuid4().hex[:6]}")
    prepare_servers(settings)
    prepare_indices(settings)
    web_port, ingest_port = 6901, 8901
    env = {**os.environ, "TRAILHOUND_NAMESPACE": settings.namespace, "TRAILHOUND_WORKER_PORT": str(web_port),
           "TRAILHOUND_INGEST_PORT": str(ingest_port)}
    es = Elasticsearch(settings.elasticsearch_url)
    worker = None
    try:
        processor = PostProcessor(settings, build_detectors(settings, warm_start_synthetic(n=1000)))
        post_rows, padded_alerted = per_post(processor)
        library_refused, pathological_match_s = pathological_library()
        code_executed = forged_checkpoint_runs_code(settings, es)

        log = (Path(tempfile.mkdtemp()) / "worker.log").open("wb")
        worker = subprocess.Popen([sys.executable, "-m", "trailhound", "worker"], cwd=ROOT, env=env,
                                  stdout=log, stderr=subprocess.STDOUT)
        request_rows, http_taken = http_requests(settings, env, ingest_port)
        feed = Path(tempfile.mkdtemp()) / "hostile.jsonl"
        feed.write_bytes(b"\n".join(hostile_posts("file-").values()) + b"\n"
                         + json.dumps(_post("file-good", GOOD)).encode())
        cli = subprocess.run([sys.executable, "-m", "trailhound", "ingest", str(feed), "--no-progress"], cwd=ROOT,
                             env=env, capture_output=True, text=True)
        file_lines = len(hostile_posts()) + 1 if cli.returncode == 0 else 0
        sent = http_taken + file_lines
        raw, dlq_ingest = _topic_count(settings, "posts.raw"), _topic_count(settings, "posts.dlq")
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            try:
                es.indices.refresh(index=settings.index("posts"))
                indexed = int(es.count(index=settings.index("posts"))["count"])
            except NotFoundError:
                indexed = 0
            dead_after_ingest = _topic_count(settings, "posts.dlq") - dlq_ingest
            if indexed + dead_after_ingest >= raw:
                break
            time.sleep(1)
        lost = (sent - raw - dlq_ingest) + max(0, raw - indexed - dead_after_ingest)
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(timeout=60)
        es.close()
        delete_namespace(settings)
        if started:
            down(base, only=started)

    worst = max(post_rows, key=lambda row: row[1])
    print(f"{'hostile post (worker path: validate, enrich, score)':<52}{'seconds':>9}  result")
    for name, seconds, result in post_rows:
        print(f"{name:<52}{seconds:>9.3f}  {result}")
    print(f"{'post for (?:a|b|ab)+xy if it went live anyway':<52}{pathological_match_s:>9.3f}  "
          f"library refused before going live: {library_refused}")
    print()
    print(f"{'HTTP request to ingest-server':<52}{'status':>9}  peak memory over baseline, MiB")
    for name, status, peak in request_rows:
        print(f"{name:<52}{status:>9}  {peak:.1f}")
    print()
    print(f"lines sent {sent}, in posts.raw {raw}, dead-lettered at ingest {dlq_ingest}, indexed {indexed}, "
          f"dead-lettered by the worker {dead_after_ingest}: lost {lost}")
    print(f"forged pickled checkpoint ran code: {code_executed}")
    print("(measured on a machine shared with other jobs: times are upper bounds)")
    figures = {
        "benchmark": "hostile", "worst_post_s": round(max(worst[1], pathological_match_s), 3),
        "worst_post": worst[0] if worst[1] >= pathological_match_s else "pathological expression",
        "peak_request_mb": round(max(peak for _, _, peak in request_rows), 1), "lost": lost,
        "code_executed": code_executed, "padded_ads_alerted": padded_alerted,
        "pathological_library_refused": library_refused, "lines_sent": sent,
    }
    print(json.dumps(figures))


if __name__ == "__main__":
    main()

"""The framework's own ceilings: bare relays that copy records from one topic to another and do nothing else.

``aiokafka_relay`` runs in the calling process (``getmany`` + ``send``). The two Faust relays run as a
separate worker process (``python bench/relays.py faust event|batch ...``), because a Faust app owns
its process: *event* sends each record on as its own event, *batch* takes batches with
``stream.take_events`` and waits for each batch's deliveries, as the Trailhound agents do. Each relay
reports the seconds from its first record read to its last record delivered, so start-up and
consumer-group joining are not counted.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

ROOT = Path(__file__).resolve().parent.parent


async def aiokafka_relay(bootstrap: str, source: str, target: str, n: int) -> float:
    """Copy ``n`` records with a bare aiokafka consumer and producer; seconds from first read to last ack."""
    consumer = AIOKafkaConsumer(source, bootstrap_servers=bootstrap, group_id=f"relay-{uuid.uuid4().hex[:6]}",
                                auto_offset_reset="earliest", enable_auto_commit=False,
                                max_partition_fetch_bytes=4 * 1024 * 1024)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, max_batch_size=256 * 1024)
    await consumer.start()
    await producer.start()
    try:
        copied, first = 0, 0.0
        pending: list[asyncio.Future] = []
        while copied < n:
            batches = await consumer.getmany(timeout_ms=1000, max_records=2000)
            for records in batches.values():
                if not first:
                    first = time.monotonic()
                for record in records:
                    pending.append(await producer.send(target, record.value, key=record.key))
                copied += len(records)
            if pending:
                await asyncio.gather(*pending)
                pending.clear()
                await consumer.commit()
        return time.monotonic() - first
    finally:
        await consumer.stop()
        await producer.stop()


def faust_relay(bootstrap: str, source: str, target: str, n: int, mode: str, port: int) -> float:
    """Run the Faust relay worker until it has copied ``n`` records; its seconds from first read to last ack."""
    out = subprocess.run([sys.executable, str(Path(__file__)), "faust", mode, bootstrap, source, target, str(n),
                          str(port)], cwd=ROOT, capture_output=True, text=True, timeout=1800)
    for line in reversed((out.stdout + out.stderr).splitlines()):
        if '{"seconds"' in line:  # Faust routes print() through its logger, so the line has a prefix
            return float(json.loads(line[line.index('{"seconds"'):].strip())["seconds"])
    raise RuntimeError(f"faust relay failed:\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}")


def _run_faust(mode: str, bootstrap: str, source: str, target: str, n: int, port: int) -> None:
    import faust

    from trailhound.streams.app import PRODUCER_BATCH_BYTES, PRODUCER_LINGER_MS
    from trailhound.streams.batching import Deliveries, Outgoing, held_batches
    from trailhound.streams.worker import StreamWorker  # the worker's own logging set-up, for a fair ceiling

    app = faust.App(f"relay-{mode}-{uuid.uuid4().hex[:6]}", broker=f"kafka://{bootstrap}", value_serializer="raw",
                    key_serializer="raw", store="memory://", web_port=port, web_bind="127.0.0.1",
                    topic_allow_declare=False, topic_disable_leader=True, consumer_auto_offset_reset="earliest",
                    stream_wait_empty=False, stream_buffer_maxsize=16384, broker_commit_every=2000,
                    broker_commit_interval=1.0, producer_acks=-1, producer_linger_ms=PRODUCER_LINGER_MS,
                    producer_max_batch_size=PRODUCER_BATCH_BYTES, datadir=f"/tmp/relay-{uuid.uuid4().hex[:6]}")
    src, dst = app.topic(source), app.topic(target)
    state = {"copied": 0, "first": 0.0}

    def finished(count: int) -> None:
        if not state["first"]:
            state["first"] = time.monotonic()
        state["copied"] += count
        if state["copied"] >= n:
            print(json.dumps({"seconds": time.monotonic() - state["first"], "copied": state["copied"]}), flush=True)
            os._exit(0)  # a Faust agent cannot stop its own worker cleanly; the measurement is done

    if mode == "event":
        @app.agent(src)
        async def relay_events(stream: faust.Stream) -> None:
            async for event in stream.events():
                if not state["first"]:
                    state["first"] = time.monotonic()
                await dst.send(key=event.key, value=event.value)
                state["copied"] += 1
                if state["copied"] >= n:
                    await app.producer.flush()
                    finished(0)
    else:
        deliveries = Deliveries()

        @app.agent(src)
        async def relay_batches(stream: faust.Stream) -> None:
            async for batch in held_batches(stream, 500, 0.1):
                if not state["first"]:
                    state["first"] = time.monotonic()
                await deliveries.deliver([Outgoing(dst, event.key, event.value) for event in batch])
                finished(len(batch))

    StreamWorker(app, loglevel="warning", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    if len(sys.argv) == 8 and sys.argv[1] == "faust":
        _, _, mode, bootstrap, source, target, count, web_port = sys.argv
        _run_faust(mode, bootstrap, source, target, int(count), int(web_port))
    else:
        sys.exit("usage: relays.py faust event|batch BOOTSTRAP SOURCE TARGET N PORT")

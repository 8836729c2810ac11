"""Finding 2 on the real stack: records on the ``patterns`` topic cannot silence or hang a worker."""

from __future__ import annotations

import json

from kafka import KafkaProducer

from tests.helpers import RISKY_BODY, alerts_for, jsonl, post, run_cli, wait_for
from tests.unit.test_library_guard import _with_active_harm, _with_regex
from trailhound.streams.pattern_updates import LIBRARY_KEY, signed_envelope


def test_unsigned_silencing_and_hanging_libraries_are_refused(settings, start_worker, es, tmp_path):
    worker = start_worker(settings)
    version = worker.healthz()["versions"]["patterns"]
    silent = _with_active_harm(0)
    hanging = _with_regex(r"(?:a|b|ab)+xy")
    unsigned = json.loads(signed_envelope(settings, silent, "mallory", 1.0))
    del unsigned["signature"]
    records = [json.dumps(unsigned).encode(),  # the attack as reported: all weights 0, no key needed
               signed_envelope(settings, silent, "careless", 2.0),  # even from the publisher
               signed_envelope(settings, hanging, "careless", 3.0)]
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for value in records:
        producer.send(settings.topic("patterns"), key=LIBRARY_KEY, value=value).get(30)
    producer.close()
    wait_for(lambda: "trailhound_pattern_library_refused_total 3.0" in worker.metrics(), timeout_s=60,
             what="the worker to refuse all three libraries")
    assert worker.healthz()["versions"]["patterns"] == version

    (tmp_path / "risky.jsonl").write_bytes(jsonl(post("still-alerted", "ab" * 40 + "! then abxy. " + RISKY_BODY)))
    assert run_cli(settings, "ingest", str(tmp_path / "risky.jsonl")).returncode == 0
    wait_for(lambda: alerts_for(es, settings, "test-board:still-alerted"), what="alerting to go on")

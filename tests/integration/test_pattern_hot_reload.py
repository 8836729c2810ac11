"""Analysts publish a new pattern library and a running worker flags with it, without a restart."""

from __future__ import annotations

import shutil
from pathlib import Path

from kafka import KafkaProducer

from tests.helpers import alerts_for, jsonl, post, posts_indexed, run_cli, wait_for
from trailhound.detectors.library import BUNDLED_PATTERNS
from trailhound.streams.pattern_updates import LIBRARY_KEY

CODE_PHRASE = "bluebird parcel"
NEW_PATTERN = f"""
  - id: coercion.test_bluebird_parcel
    weight: 0.9
    description: A code phrase invented for this test.
    source: Trailhound integration test (synthetic).
    match:
      - regex: '\\bbluebird parcels?\\b'
    examples:
      positive: ["ask about the {CODE_PHRASE}"]
      negative: ["a bluebird sang on the parcel shelf"]
"""


def library_with_new_pattern(tmp_path: Path, broken_example: bool = False) -> Path:
    directory = tmp_path / ("broken" if broken_example else "library")
    shutil.copytree(BUNDLED_PATTERNS, directory)
    extra = NEW_PATTERN.replace("a bluebird sang", f"the {CODE_PHRASE} sang") if broken_example else NEW_PATTERN
    with (directory / "coercion.yaml").open("a", encoding="utf-8") as handle:
        handle.write(extra)
    return directory


def version_of(worker) -> str:
    return worker.healthz()["versions"]["patterns"]


def test_published_library_changes_what_a_running_worker_flags(settings, start_worker, es, tmp_path):
    worker = start_worker(settings)
    first_version = version_of(worker)
    body = f"Weekend special, ask about the {CODE_PHRASE}. Serious buyers only."

    (tmp_path / "before.jsonl").write_bytes(jsonl(post("before", body)))
    assert run_cli(settings, "ingest", str(tmp_path / "before.jsonl")).returncode == 0
    wait_for(lambda: posts_indexed(es, settings) == 1, what="the first post scored")
    assert alerts_for(es, settings) == []

    published = run_cli(settings, "patterns", "publish", str(library_with_new_pattern(tmp_path)))
    assert published.returncode == 0, published.stderr
    new_version = wait_for(lambda: (v := version_of(worker)) != first_version and v, timeout_s=30,
                           what="the worker to switch libraries")
    assert new_version in published.stdout

    (tmp_path / "after.jsonl").write_bytes(jsonl(post("after", body)))
    assert run_cli(settings, "ingest", str(tmp_path / "after.jsonl")).returncode == 0
    alert = wait_for(lambda: alerts_for(es, settings, "test-board:after"), what="the alert from the new pattern")[0]
    assert alert["rule"]["version"] == new_version
    assert [i["evidence"] for i in alert["trailhound"]["indicators"]
            if i["pattern_id"] == "coercion.test_bluebird_parcel"] == [CODE_PHRASE]


def test_bad_libraries_are_refused_and_the_worker_keeps_the_last_good_one(settings, start_worker, tmp_path):
    worker = start_worker(settings)
    version = version_of(worker)

    refused = run_cli(settings, "patterns", "publish", str(library_with_new_pattern(tmp_path, broken_example=True)))
    assert refused.returncode != 0
    assert "coercion.test_bluebird_parcel" in refused.stderr and "not published" in refused.stderr

    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    producer.send(settings.topic("patterns"), key=LIBRARY_KEY, value=b'{"library": {"version": "x"}}').get(30)
    producer.close()
    wait_for(lambda: "trailhound_pattern_library_refused_total 1.0" in worker.metrics(), timeout_s=30,
             what="the worker to refuse the malformed library")
    assert version_of(worker) == version
    shutil.rmtree(tmp_path / "broken")

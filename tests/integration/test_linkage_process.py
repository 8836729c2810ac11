"""A worker's linkage stages run in a process of their own, which lives and dies with the worker."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from tests.helpers import wait_for
from tests.integration.test_linkage import circuit_post, ingest, network_alerts


def _linkage_processes(worker_pid: int) -> list[int]:
    """The worker's children that run its linkage stages (a spawned multiprocessing child)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            command = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if parent == worker_pid and b"multiprocessing" in command and b"resource_tracker" not in command:
            found.append(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state not in ("Z", "X")


def _stage_batches(metrics: str, stage: str) -> float:
    found = re.search(rf'trailhound_stage_batch_seconds_count{{stage="{stage}"}} (\S+)', metrics)
    return float(found.group(1)) if found else 0.0


def test_a_network_is_found_by_the_linkage_process_and_reported_in_the_workers_metrics(settings, start_worker, es,
                                                                                     tmp_path):
    worker = start_worker(settings)
    (linkage,) = wait_for(lambda: _linkage_processes(worker.process.pid) or None, timeout_s=30,
                          what="the worker's linkage process")
    # Lower priority than the worker's own process, so content alerts go first where cores are short.
    wait_for(lambda: os.getpriority(os.PRIO_PROCESS, linkage) - os.getpriority(os.PRIO_PROCESS, worker.process.pid)
             == settings.linkage_nice > 0 or None, timeout_s=30, what="the linkage process at its lower priority")
    ingest(settings, tmp_path, "circuit.jsonl", *(circuit_post(n, n) for n in range(3)))
    (alert,) = wait_for(lambda: network_alerts(es, settings) or None, timeout_s=90, what="a network alert")
    assert alert["trailhound"]["post_ids"] == [f"linkage.example:c{n}" for n in (1, 2, 3)]
    for stage in ("link_keys", "build_clusters"):  # timed in the linkage process, served by the worker
        wait_for(lambda stage=stage: _stage_batches(worker.metrics(), stage) >= 1 or None, timeout_s=30,
                 what=f"{stage} batches in the worker's metrics")
    wait_for(lambda: f'topic="{settings.topic("linkage.links")}"' in worker.metrics() or None, timeout_s=30,
             what="the linkage process's consumer lag in the worker's metrics")

    worker.stop(kill=True)  # kill -9: the linkage process must not live on, reading partitions nobody watches
    wait_for(lambda: not _alive(linkage) or None, timeout_s=30, what="the linkage process gone with the worker")


def test_a_linkage_process_that_dies_stops_the_worker_for_its_supervisor_to_restart(settings, start_worker):
    worker = start_worker(settings)
    (linkage,) = wait_for(lambda: _linkage_processes(worker.process.pid) or None, timeout_s=30,
                          what="the worker's linkage process")
    os.kill(linkage, signal.SIGKILL)
    assert worker.process.wait(timeout=90) != 0
    assert "the linkage process exited" in worker.log_path.read_text(errors="replace")


def test_a_hung_linkage_process_is_killed_and_the_worker_stops_for_its_supervisor_to_restart(settings, start_worker):
    worker = start_worker(settings, extra_env={"TRAILHOUND_LINKAGE_SILENT_S": "10"})
    (linkage,) = wait_for(lambda: _linkage_processes(worker.process.pid) or None, timeout_s=30,
                          what="the worker's linkage process")
    time.sleep(75)  # past the start-up minute and the limit: a healthy process, alive every 5 s, is left alone
    assert worker.process.poll() is None and "killed as hung" not in worker.log_path.read_text(errors="replace")
    os.kill(linkage, signal.SIGSTOP)  # alive, but it never says anything again
    assert worker.process.wait(timeout=90) != 0
    assert "killed as hung" in worker.log_path.read_text(errors="replace")
    wait_for(lambda: not _alive(linkage) or None, timeout_s=30, what="the hung linkage process gone")


def test_switched_off_the_worker_finds_the_same_network_in_its_own_process(settings, start_worker, es, tmp_path):
    worker = start_worker(settings, extra_env={"TRAILHOUND_LINKAGE_PROCESS": "off"})
    ingest(settings, tmp_path, "circuit.jsonl", *(circuit_post(n, n) for n in range(3)))
    (alert,) = wait_for(lambda: network_alerts(es, settings) or None, timeout_s=90, what="a network alert")
    assert alert["trailhound"]["post_ids"] == [f"linkage.example:c{n}" for n in (1, 2, 3)]
    assert _linkage_processes(worker.process.pid) == []
    assert _stage_batches(worker.metrics(), "build_clusters") >= 1


def test_a_worker_told_to_stop_stops_its_linkage_process_and_exits_cleanly(settings, start_worker):
    worker = start_worker(settings)
    (linkage,) = wait_for(lambda: _linkage_processes(worker.process.pid) or None, timeout_s=30,
                          what="the worker's linkage process")
    worker.process.terminate()
    assert worker.process.wait(timeout=90) == 0, worker.log_tail()
    assert not _alive(linkage)
    assert "the linkage process exited" not in worker.log_path.read_text(errors="replace")

"""Shared fixtures: the real local stack for integration tests, and workers run as real processes.

The session's servers are started through the same ``stack.manager.up`` a user runs (reusing servers
already running, e.g. a demo) and only the ones this run started are stopped at the end. Every test
session works under its own namespace, so its topics and indices never mix with a demo's, and they are
deleted afterwards.

The whole suite runs on several pytest-xdist processes (``-n auto``, see ``pytest_xdist_auto_num_workers``)
because most integration tests wait on servers and worker processes rather than compute. Each xdist
process has its own namespace; the servers are started once for the run, under a lock, and stopped by
the controlling process after every xdist process has finished. Whole test files go to one process
(``--dist loadfile``), so module-scoped servers, workers and consoles are made once, and the slowest
files are handed out first (``SLOW_FIRST``) so that they do not start last and hold the run up.
"""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch
from kafka.admin import KafkaAdminClient

from tests.helpers import ROOT, answers, free_port
from trailhound.config import Settings
from trailhound.provision import prepare_servers

STARTED_RECORD = "stack-started-by-this-run"


def _run_folder(config: pytest.Config) -> Path:
    """A folder every process of this test run shares (an xdist process's base temp sits inside it)."""
    base = config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    return base.parent if hasattr(config, "workerinput") else base


@pytest.fixture(scope="session")
def stack_settings(request: pytest.FixtureRequest) -> Iterator[Settings]:
    """Settings for a running Kafka + Elasticsearch with a fresh namespace for this session."""
    from trailhound.stack.manager import ServerState, up

    base = Settings.from_env()
    folder = _run_folder(request.config)
    with (folder / "stack.lock").open("w") as lock:  # one process starts the servers, the others reuse them
        fcntl.flock(lock, fcntl.LOCK_EX)
        report = up(base)
        started = [server.name for server in report.servers if server.state is ServerState.STARTED]
        with (folder / STARTED_RECORD).open("a") as record:
            record.writelines(f"{name}\n" for name in started)
        _sweep_abandoned_namespaces(base)
    settings = base.with_namespace(f"t{uuid.uuid4().hex[:8]}")
    record = _namespace_records(settings) / settings.namespace
    record.write_text(f"{os.getpid()}\n")
    prepare_servers(settings)
    try:
        yield settings
    finally:
        _delete_namespace(settings)
        record.unlink(missing_ok=True)


def _namespace_records(settings: Settings) -> Path:
    """The folder whose files say which test namespaces on these servers are in use, and by which process."""
    folder = settings.cache_dir / "test-namespaces" / settings.kafka_bootstrap.replace(":", "_")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _sweep_abandoned_namespaces(base: Settings) -> None:
    """Delete the topics and indices of earlier test runs that were killed before they could clean up.

    Left behind, they pile up run after run, and a Kafka holding thousands of dead partitions takes
    minutes to start. A namespace is abandoned when the process that recorded it is gone.
    """
    for record in _namespace_records(base).iterdir():
        try:
            os.kill(int(record.read_text().split()[0]), 0)
            continue  # its run is still going
        except ProcessLookupError:
            pass
        except (ValueError, IndexError, PermissionError):
            continue
        _delete_namespace(base.with_namespace(record.name))
        record.unlink(missing_ok=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    """Stop the servers this run started, once every test (on every xdist process) is done."""
    if hasattr(session.config, "workerinput"):
        return
    record = _run_folder(session.config) / STARTED_RECORD
    started = sorted(set(record.read_text().split())) if record.exists() else []
    if started:
        from trailhound.stack.manager import down

        down(Settings.from_env(), only=started)


def _delete_namespace(settings: Settings) -> None:
    try:
        admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap)
        mine = [t for t in admin.list_topics() if t.startswith(settings.namespace)]  # and per-test namespaces
        if mine:
            admin.delete_topics(mine)
        admin.close()
    except Exception as exc:  # cleanup must not hide the test result
        print(f"could not delete test topics: {exc}", file=sys.stderr)
    es = Elasticsearch(settings.elasticsearch_url)
    try:
        es.options(ignore_status=404).indices.delete(index=f"trailhound-{settings.namespace}*", expand_wildcards="all")
        es.options(ignore_status=404).indices.delete_index_template(name=f"trailhound-{settings.namespace}*")
    finally:
        es.close()


class WorkerProcess:
    """A real ``trailhound worker`` process for one test module or test."""

    def __init__(self, settings: Settings, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.log_path = log_path
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "ELASTICSEARCH_URL": settings.elasticsearch_url,
            "TRAILHOUND_NAMESPACE": settings.namespace,
            "TRAILHOUND_WORKER_PORT": str(self.port),
            "TRAILHOUND_PARTITIONS": str(settings.partitions),
            **(extra_env or {}),
        }
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "trailhound", "worker"], env=env, cwd=ROOT,
            stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        self.base_url = f"http://127.0.0.1:{self.port}"

    def wait_ready(self, timeout_s: float = 240.0) -> None:
        """Wait for ``/healthz``; generous, because on two busy cores with the suite's processes running side
        by side a worker's start (imports, pattern compile, group join) can take minutes."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"worker exited with {self.process.returncode}:\n{self.log_tail()}")
            if answers(self.base_url + "/healthz"):
                return
            time.sleep(0.5)
        raise RuntimeError(f"worker not ready after {timeout_s}s:\n{self.log_tail()}")

    def healthz(self) -> dict:
        return httpx.get(self.base_url + "/healthz", timeout=5).json()

    def metrics(self) -> str:
        return httpx.get(self.base_url + "/metrics", timeout=5).text

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self, kill: bool = False) -> None:
        if self.process.poll() is None:
            if kill:
                self.process.kill()
            else:
                self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
    """A failed test that ran workers shows the end of each worker's log: CI keeps nothing else."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.when == "call" and report.failed:
        for number, worker in enumerate(getattr(item, "trailhound_workers", [])):
            report.sections.append((f"worker {number} log, last lines", worker.log_tail(120)))


@pytest.fixture
def start_worker(stack_settings: Settings, tmp_path: Path,
                 request: pytest.FixtureRequest) -> Iterator[Callable[..., WorkerProcess]]:
    """Start workers for one test; all are stopped when the test ends."""
    workers: list[WorkerProcess] = []
    request.node.trailhound_workers = workers

    def start(settings: Settings | None = None, extra_env: dict[str, str] | None = None) -> WorkerProcess:
        worker = WorkerProcess(settings or stack_settings, tmp_path / f"worker-{len(workers)}.log", extra_env)
        workers.append(worker)
        worker.wait_ready()
        return worker

    yield start
    for worker in workers:
        worker.stop()


@pytest.fixture
def settings(stack_settings: Settings) -> Settings:
    """A namespace of its own for one test (topics and indices prepared), so its counts are exact."""
    own = stack_settings.with_namespace(f"{stack_settings.namespace}x{uuid.uuid4().hex[:8]}")
    prepare_servers(own)
    return own


@pytest.fixture
def es(stack_settings: Settings) -> Iterator[Elasticsearch]:
    client = Elasticsearch(stack_settings.elasticsearch_url)
    yield client
    client.close()


# The files that take longest, slowest first: handed out before the rest so that the run does not wait
# on one of them started last (measured with ``--durations``; every other file keeps its place).
SLOW_FIRST = (
    "integration/test_faults.py",
    "integration/test_linkage.py",
    "integration/test_console_browser.py",
    "unit/test_layers.py",
    "integration/test_escalation.py",
    "integration/test_feedback_learning.py",
    "integration/test_stack_lifecycle.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)

    def rank(item: pytest.Item) -> int:
        path = item.nodeid.split("::")[0]
        return next((n for n, slow in enumerate(SLOW_FIRST) if path.endswith(slow)), len(SLOW_FIRST))

    items.sort(key=rank)  # stable: tests keep their order inside a file and the other files theirs


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """How many xdist processes ``-n auto`` (set in pyproject.toml) starts.

    Folders (the whole suite, ``tests/unit``) get ``TRAILHOUND_TEST_PROCESSES`` (default 4: on two cores
    most integration tests wait on servers, so more processes than cores pay); a run of chosen files or
    tests stays in one process, where starting several would cost more than it saves.
    """
    chosen = [arg for arg in config.args if not (config.invocation_params.dir / arg.split("::")[0]).is_dir()]
    return 0 if chosen else int(os.environ.get("TRAILHOUND_TEST_PROCESSES", "4"))

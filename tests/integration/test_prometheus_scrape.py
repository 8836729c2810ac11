"""Debian's real Prometheus scrapes a running worker with the shipped scrape configuration.

``dashboards/prometheus/prometheus.yml`` finds workers through Docker's DNS, which does not exist here,
so the test keeps everything else of that file (job names, metrics paths, rule files) and only swaps the
DNS discovery for the address of a worker started for the test. Prometheus must then report the target
up, answer a query for a worker metric through its HTTP API, evaluate a Grafana panel's query, and have
loaded the alerting rules.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.helpers import RISKY_BODY, free_port, post, send_posts, wait_for
from tests.unit.test_dashboards import PROMETHEUS_CONFIG, grafana_queries
from trailhound.config import Settings

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"

pytestmark = pytest.mark.skipif(not Path(PROMETHEUS).exists(), reason="needs Debian's prometheus (make system-tools)")


def local_config(targets: dict[str, str]) -> dict[str, Any]:
    """The shipped configuration with each job's DNS discovery replaced by a local target."""
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    config["global"].update({"scrape_interval": "1s", "evaluation_interval": "1s", "scrape_timeout": "1s"})
    config["rule_files"] = [str(PROMETHEUS_CONFIG.parent / pattern) for pattern in config["rule_files"]]
    for job in config["scrape_configs"]:
        if job["job_name"] in targets:
            job.pop("dns_sd_configs", None)
            job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Any]:
    started: list[subprocess.Popen[bytes]] = []

    def start(targets: dict[str, str]) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(yaml.safe_dump(local_config(targets)))
        log = (tmp_path / "prometheus.log").open("ab")
        started.append(subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={tmp_path / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"], stdout=log, stderr=subprocess.STDOUT))
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def query(base: str, expr: str) -> list[dict[str, Any]]:
    try:
        answer = httpx.get(base + "/api/v1/query", params={"query": expr}, timeout=5).json()
    except (httpx.HTTPError, ValueError):
        return []
    return answer.get("data", {}).get("result", []) if answer.get("status") == "success" else []


def test_prometheus_scrapes_a_worker_with_the_shipped_configuration(settings: Settings, start_worker,
                                                                     prometheus) -> None:
    worker = start_worker(settings)
    base = prometheus({"trailhound-worker": f"127.0.0.1:{worker.port}"})
    send_posts(settings, post("p-1", RISKY_BODY), post("p-2", RISKY_BODY + " Today only."))

    up = wait_for(lambda: query(base, 'up{job="trailhound-worker"} == 1'), timeout_s=60, what="the worker target up")
    assert up[0]["metric"]["instance"] == f"127.0.0.1:{worker.port}"
    consumed = wait_for(lambda: query(base, 'sum(trailhound_posts_consumed_total{stage="detect"}) >= 2'),
                        timeout_s=90, what="two detected posts counted in Prometheus")
    assert float(consumed[0]["value"][1]) >= 2
    # a Grafana panel's own query, with the dashboard variables filled in as Grafana would
    where, expr = next((w, e) for w, e in grafana_queries() if "trailhound_alerts_raised_total" in e and "24h" in e)
    send_posts(settings, post("p-3", RISKY_BODY + " Call now."))  # a series' first sample is no increase yet

    def raised() -> float:
        return sum(float(series["value"][1]) for series in query(base, expr.replace("$instance", ".*")))

    assert wait_for(raised, timeout_s=90, what=where) > 0
    groups = httpx.get(base + "/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert {rule["name"] for group in groups for rule in group["rules"]} >= {"TrailhoundWorkerDown"}

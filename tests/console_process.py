"""A real ``trailhound console`` process for browser and API tests, and accounts made for it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
from elasticsearch import AsyncElasticsearch

from tests.helpers import ROOT, free_port
from trailhound.config import Settings
from trailhound.console.users import UserStore


def create_account(settings: Settings, username: str, password: str, role: str) -> None:
    async def create() -> None:
        async with AsyncElasticsearch(settings.elasticsearch_url) as es:
            await UserStore(settings, es).create(username, password, role, created_by="test")

    asyncio.run(create())


class ConsoleProcess:
    """``python -m trailhound console`` on free ports, against one namespace."""

    def __init__(self, settings: Settings, log_path: Path, worker_port: int | None = None,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port, self.metrics_port = free_port(), free_port()
        env = {**os.environ, "KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
               "ELASTICSEARCH_URL": settings.elasticsearch_url, "TRAILHOUND_NAMESPACE": settings.namespace,
               "TRAILHOUND_CONSOLE_PORT": str(self.port), "TRAILHOUND_CONSOLE_METRICS_PORT": str(self.metrics_port),
               **({"TRAILHOUND_WORKER_PORT": str(worker_port)} if worker_port else {}), **(extra_env or {})}
        self.log_path = log_path
        self._log = log_path.open("ab")
        self.process = subprocess.Popen([sys.executable, "-m", "trailhound", "console"], env=env, cwd=ROOT,
                                        stdout=self._log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        # Chromium keeps Secure cookies over plain HTTP only for "localhost".
        self.url = f"http://localhost:{self.port}"

    def wait_ready(self, timeout_s: float = 180.0) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"console exited with {self.process.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + "/login", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"console not ready after {timeout_s}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        self._log.close()

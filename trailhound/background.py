"""Start and stop Trailhound's own long-running processes (demo worker, ingest server) in the background.

The demo leaves them running after the command returns, so they are detached into their own session,
log to the cache folder, and are found again through PID files; ``trailhound stack down`` stops them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from trailhound.config import Settings

__all__ = ["pid_of", "start_background", "stop_background"]


def _paths(settings: Settings, name: str) -> tuple[Path, Path]:
    run = settings.cache_dir / "run"
    logs = settings.cache_dir / "logs"
    run.mkdir(parents=True, exist_ok=True)
    logs.mkdir(parents=True, exist_ok=True)
    return run / f"{name}.pid", logs / f"{name}.log"


def pid_of(settings: Settings, name: str) -> int | None:
    """The PID of a running background process of ours, or None."""
    pid_file, _ = _paths(settings, name)
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (FileNotFoundError, ValueError, ProcessLookupError):
        return None
    except PermissionError:
        return pid
    return pid


def start_background(settings: Settings, name: str, args: list[str],
                     env: dict[str, str] | None = None) -> tuple[int, Path]:
    """Run ``python -m trailhound ARGS`` detached unless already running; return (pid, log path)."""
    pid_file, log_file = _paths(settings, name)
    existing = pid_of(settings, name)
    if existing is not None:
        return existing, log_file
    with log_file.open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "trailhound", *args],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True, env={**os.environ, **(env or {})},
        )
    pid_file.write_text(str(process.pid))
    return process.pid, log_file


def stop_background(settings: Settings, name: str, timeout_s: float = 20.0) -> bool:
    """Stop a background process (TERM, then KILL); return whether one was running."""
    pid_file, _ = _paths(settings, name)
    pid = pid_of(settings, name)
    if pid is None:
        pid_file.unlink(missing_ok=True)
        return False
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.2)
    else:
        os.killpg(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return True

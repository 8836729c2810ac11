"""Start and stop Trailhound's own long-running processes (demo worker, ingest server) in the background.

The demo leaves them running after the command returns, so they are detached into their own session,
log to the cache folder, and are found again through PID files (one per process name and namespace);
``trailhound stack down`` stops them. Process handling is the stack's own (:mod:`trailhound.stack.processes`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from trailhound.config import Settings
from trailhound.stack.processes import owned_pid, remove_pid, spawn_detached, stop_group, write_pid

__all__ = ["pid_of", "start_background", "stop_background"]


def _paths(settings: Settings, name: str) -> tuple[Path, Path]:
    label = f"{name}-{settings.namespace}" if settings.namespace else name
    run = settings.cache_dir / "run"
    run.mkdir(parents=True, exist_ok=True)
    return run / f"{label}.pid", settings.cache_dir / "logs" / f"{label}.log"


def _marker(name: str) -> str:
    return f"-m trailhound {name}"


def pid_of(settings: Settings, name: str) -> int | None:
    """The PID of our running background process ``name`` (e.g. ``worker``), or None."""
    return owned_pid(_paths(settings, name)[0], _marker(name))


def start_background(settings: Settings, name: str) -> tuple[int, Path]:
    """Run ``python -m trailhound NAME`` detached unless it already runs; return (pid, log path)."""
    pid_file, log_file = _paths(settings, name)
    existing = pid_of(settings, name)
    if existing is not None:
        return existing, log_file
    pid = spawn_detached([sys.executable, "-m", "trailhound", name], cwd=Path.cwd(), env=os.environ,
                         log_path=log_file)
    write_pid(pid_file, pid)
    return pid, log_file


def stop_background(settings: Settings, name: str) -> bool:
    """Stop a background process and its children; return whether one was running."""
    pid_file = _paths(settings, name)[0]
    pid = pid_of(settings, name)
    if pid is not None:
        stop_group(pid, grace=30.0)
    remove_pid(pid_file)
    return pid is not None

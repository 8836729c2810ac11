"""Starts a server so it outlives the caller, and finds and stops it again later by its PID file.

Each server is started as the leader of a new session (``start_new_session``), so it survives the
CLI or test process that launched it, and so its whole process tree (the Elasticsearch launcher
and its server JVM) shares one process group that can be signalled at once. A PID file alone can
go stale, so a recorded PID only counts when that process's command line still names the server's
own run folder. Process lookups read ``/proc``, so this module is Linux-only.
"""

from __future__ import annotations

import contextlib
import os
import resource
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

__all__ = ["group_alive", "owned_pid", "remove_pid", "spawn_detached", "stop_group", "write_pid"]

# Popen objects of servers started by this Python process, kept so they get reaped (no zombies).
_children: dict[int, subprocess.Popen[bytes]] = {}

# A server's console log is rotated once at start when it has grown past this size.
_ROTATE_BYTES = 20 * 1024 * 1024

# Both servers keep many segment files open; Elasticsearch warns below 65535 descriptors.
_WANTED_OPEN_FILES = 65535


def _raise_open_files_limit() -> None:
    """Runs in the child before exec: lift the soft open-files limit as far as the hard one allows."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = _WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, _WANTED_OPEN_FILES)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def spawn_detached(argv: Sequence[str], *, cwd: Path, env: Mapping[str, str], log_path: Path,
                   user: str | None = None) -> int:
    """Start ``argv`` in its own session with stdout and stderr appended to ``log_path``.

    A log larger than 20 MB is first moved to ``<name>.1``, so a long-lived cache stays small.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if log_path.is_file() and log_path.stat().st_size > _ROTATE_BYTES:
        os.replace(log_path, log_path.with_name(log_path.name + ".1"))
    with log_path.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(argv)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            list(argv), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True,
            user=user, group=user, extra_groups=[] if user else None,
            preexec_fn=_raise_open_files_limit,
        )
    _children[process.pid] = process
    return process.pid


def write_pid(path: Path, pid: int) -> None:
    scratch = path.with_name(path.name + ".tmp")
    scratch.write_text(f"{pid}\n", encoding="ascii")
    os.replace(scratch, path)


def remove_pid(path: Path) -> None:
    path.unlink(missing_ok=True)


def _cmdline(pid: int) -> str | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return raw.replace(b"\0", b" ").decode(errors="replace")


def _reap(pid: int) -> None:
    child = _children.get(pid)
    if child is not None and child.poll() is not None:
        del _children[pid]


def _stat_fields(stat_path: Path) -> list[str]:
    """The fields of a ``/proc`` stat file after the command name (state first), or none if it is gone."""
    try:
        stat = stat_path.read_text()
    except OSError:
        return []
    return stat[stat.rfind(")") + 2:].split()


def _still_running(process: Path) -> bool:
    """Whether a zombie-looking process still has a live thread.

    A JVM exits from one of its own threads, so its main thread can be a zombie while the others are
    still closing the process's files, sockets included: the process is gone only when every thread is.
    """
    try:
        tasks = list((process / "task").iterdir())
    except OSError:
        return False
    return any(_stat_fields(task / "stat")[:1] not in ([], ["Z"], ["X"]) for task in tasks)


def _live_group_members(pgid: int) -> list[int]:
    """PIDs in process group ``pgid`` that have not exited (Linux /proc scan)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry / "stat")
        if len(fields) > 2 and int(fields[2]) == pgid and (fields[0] != "Z" or _still_running(entry)):
            members.append(int(entry.name))
    return members


def group_alive(pgid: int) -> bool:
    """Whether any live process is left in the group that ``pgid`` leads."""
    _reap(pgid)
    return bool(_live_group_members(pgid))


def owned_pid(pid_path: Path, marker: str) -> int | None:
    """The group leader's PID in ``pid_path`` if a live process of that group names ``marker``.

    The whole group is searched because the Elasticsearch launcher (the leader) may be gone while
    its server JVM still runs.
    """
    try:
        pid = int(pid_path.read_text().strip())
    except (OSError, ValueError):
        return None
    _reap(pid)
    for member in _live_group_members(pid):
        command = _cmdline(member)
        if command is not None and marker in command:
            return pid
    return None


def _signal_group(pgid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signum)


def _wait_gone(pgid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_alive(pgid):
            return True
        time.sleep(0.1)
    return not group_alive(pgid)


def stop_group(pgid: int, grace: float = 30.0) -> bool:
    """SIGTERM the whole group, wait up to ``grace`` seconds, then SIGKILL; True if it had to kill."""
    _signal_group(pgid, signal.SIGTERM)
    if _wait_gone(pgid, grace):
        return False
    _signal_group(pgid, signal.SIGKILL)
    _wait_gone(pgid, 10.0)
    return True

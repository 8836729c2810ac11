"""The one error the local stack raises, carrying what a user needs to fix the problem.

A server that will not start is usually explained in the last lines of its own log, so the error
quotes them instead of sending the user hunting through the cache folder.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path

__all__ = ["StackError", "first_error", "log_tail"]

TAIL_LINES = 30


def log_tail(path: Path | None, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines of a log file, or an empty string when there is none."""
    if path is None or not path.is_file():
        return ""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        return "".join(deque(handle, maxlen=lines)).rstrip()


def first_error(path: Path | None) -> str:
    """The first ERROR/FATAL line after the last start marker (``=== ``) of a server log."""
    if path is None or not path.is_file():
        return ""
    with path.open("r", encoding="utf-8", errors="replace") as handle:
        recent = deque(handle, maxlen=5000)
    lines = list(recent)
    starts = [i for i, line in enumerate(lines) if line.startswith("=== ")]
    for line in lines[starts[-1] if starts else 0:]:
        if " ERROR " in line or " FATAL " in line or line.startswith(("ERROR", "FATAL", "Exception")):
            return line.strip()
    return ""


class StackError(Exception):
    """A local server could not be fetched, started or reached.

    The message names the server and its address, says what went wrong and, when a log exists,
    ends with its last lines.
    """

    def __init__(self, server: str, address: str, problem: str, log_path: Path | None = None) -> None:
        self.server = server
        self.address = address
        self.problem = problem
        self.log_path = log_path
        message = f"{server} at {address}: {problem}"
        tail = log_tail(log_path)
        cause = first_error(log_path)
        if cause and cause not in tail:
            message += f"\nfirst error in the log: {cause}"
        if tail:
            message += f"\n--- last {TAIL_LINES} lines of {log_path} ---\n{tail}"
        elif log_path is not None:
            message += f"\n(log: {log_path})"
        super().__init__(message)

"""Finds the Java runtime both servers need and checks it is new enough.

Neither the Kafka jars nor the minimal Elasticsearch distribution bring a JDK, so the ``java``
on PATH is used; Elasticsearch additionally needs its home as ``ES_JAVA_HOME``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from trailhound.stack.versions import MIN_JAVA

__all__ = ["JavaRuntime", "find_java", "heap_flags"]


@dataclass(frozen=True)
class JavaRuntime:
    """A usable ``java`` executable, its home folder and its major version."""

    executable: Path
    home: Path
    major: int


def _major(version_output: str) -> int | None:
    match = re.search(r'version "(\d+)(?:\.(\d+))?', version_output)
    if match is None:
        return None
    first = int(match.group(1))
    return int(match.group(2) or 0) if first == 1 else first


@cache
def find_java() -> JavaRuntime | str:
    """The Java on PATH, or a sentence saying why there is no usable one."""
    found = shutil.which("java")
    if found is None:
        return f"no 'java' on PATH; install a Java {MIN_JAVA}+ runtime (Debian: openjdk-17-jre-headless)"
    executable = Path(found).resolve()
    try:
        result = subprocess.run([str(executable), "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"could not run {executable} -version: {exc}"
    major = _major(result.stderr + result.stdout)
    if major is None or major < MIN_JAVA:
        return f"{executable} is Java {major or 'unknown'}; Java {MIN_JAVA} or newer is needed"
    return JavaRuntime(executable=executable, home=executable.parent.parent, major=major)


_HEAP = re.compile(r"^\d+[kKmMgG]?$")


def heap_flags(size: str, variable: str) -> list[str]:
    """``-Xms``/``-Xmx`` for a heap size such as ``512m``; a fixed heap avoids resize pauses."""
    if not _HEAP.match(size):
        raise ValueError(f"{variable}={size!r} is not a Java heap size such as 512m or 1g")
    return [f"-Xms{size}", f"-Xmx{size}"]

"""Ingest a JSON-lines file (or standard input) line by line, with a progress bar on large files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from trailhound.ingest.producer import IngestCounts, PostIngestor

__all__ = ["ingest_stream", "ingest_path"]

PROGRESS_MIN_BYTES = 1024 * 1024


def ingest_stream(ingestor: PostIngestor, stream: BinaryIO, name: str, total_bytes: int | None = None,
                  progress: bool = True) -> IngestCounts:
    """Submit every non-blank line of ``stream``; returns the counts after Kafka confirmed them all."""
    counts = IngestCounts()
    show = progress and total_bytes is not None and total_bytes >= PROGRESS_MIN_BYTES and sys.stderr.isatty()
    with tqdm(total=total_bytes, unit="B", unit_scale=True, desc=f"ingest {name}", disable=not show) as bar:
        for line_no, line in enumerate(stream, start=1):
            bar.update(len(line))
            if line.strip():
                ingestor.submit(line, f"{name}:{line_no}", counts)
    ingestor.flush()
    return counts


def ingest_path(ingestor: PostIngestor, path: str, progress: bool = True) -> IngestCounts:
    """Ingest a file by path, or standard input when ``path`` is ``-``."""
    if path == "-":
        return ingest_stream(ingestor, sys.stdin.buffer, "stdin", progress=False)
    file = Path(path)
    with file.open("rb") as stream:
        return ingest_stream(ingestor, stream, file.name, os.fstat(stream.fileno()).st_size, progress)

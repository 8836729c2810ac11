"""Downloads the servers from Maven Central once, so the cache never holds half an artifact.

Maven is used because both projects publish there and ``mvn`` resolves Kafka's dozens of
dependency jars (and reuses ``~/.m2``) without us re-implementing a resolver. Every download goes
into a hidden ``.partial-*`` folder that is renamed into place only when complete; a file lock
keeps two processes from fetching at once, and leftovers of an interrupted fetch are removed.
"""

from __future__ import annotations

import fcntl
import logging
import os
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

from trailhound.stack.errors import StackError
from trailhound.stack.layout import StackLayout
from trailhound.stack.versions import DEPENDENCY_PLUGIN, ELASTICSEARCH_ARTIFACT, ELASTICSEARCH_VERSION, KAFKA_VERSION

__all__ = ["ensure_elasticsearch", "ensure_kafka", "extract_zip", "file_lock", "install_atomically"]

_log = logging.getLogger(__name__)
_MVN_TIMEOUT = 900.0


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) for the ``with`` block."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def install_atomically(final: Path, build: Callable[[Path], None]) -> None:
    """Run ``build(scratch)`` in a sibling scratch folder, then rename the result to ``final``.

    ``build`` must create ``scratch / final.name``. A failure leaves nothing at ``final``.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".partial-{final.name}-", dir=final.parent))
    try:
        build(scratch)
        os.rename(scratch / final.name, final)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _remove_leftovers(folder: Path) -> None:
    for stale in folder.glob(".partial-*"):
        shutil.rmtree(stale, ignore_errors=True)


def _mvn(args: list[str], what: str, log_path: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError(what, "Maven Central", "'mvn' is not on PATH; install Maven "
                         "(Debian: apt-get install maven) or point the settings at running servers")
    command = [mvn, "-q", "-B", *args]
    with log_path.open("a", encoding="utf-8") as log:
        log.write(f"\n$ {' '.join(command)}\n")
        log.flush()
        try:
            result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, timeout=_MVN_TIMEOUT,
                                    stdin=subprocess.DEVNULL, check=False)
        except subprocess.TimeoutExpired:
            raise StackError(what, "Maven Central", f"mvn took longer than {_MVN_TIMEOUT:.0f} s",
                             log_path) from None
    if result.returncode != 0:
        raise StackError(what, "Maven Central", f"mvn failed with exit code {result.returncode}", log_path)


def ensure_kafka(layout: StackLayout) -> Path:
    """The folder of Kafka runtime jars, fetched first if missing (about 45 MB)."""
    final = layout.kafka_lib
    if final.is_dir():
        return final
    with file_lock(layout.artifacts / ".fetch.lock"):
        if final.is_dir():
            return final
        _remove_leftovers(final.parent)
        _log.info("fetching Kafka %s from Maven Central into %s (once)", KAFKA_VERSION, final)

        def build(scratch: Path) -> None:
            pom = scratch / "pom.xml"
            pom.write_bytes(resources.files("trailhound.stack").joinpath("kafka-pom.xml").read_bytes())
            _mvn(["-f", str(pom), f"{DEPENDENCY_PLUGIN}:copy-dependencies",
                  f"-DoutputDirectory={scratch / final.name}", "-DincludeScope=runtime"],
                 "kafka", layout.fetch_log)

        install_atomically(final, build)
    return final


def extract_zip(archive: Path, destination: Path) -> None:
    """Unpack ``archive`` keeping the executable bits that ``zipfile`` alone would drop."""
    with zipfile.ZipFile(archive) as bundle:
        for member in bundle.infolist():
            target = bundle.extract(member, destination)
            mode = (member.external_attr >> 16) & 0o777
            if mode:
                os.chmod(target, mode)


def ensure_elasticsearch(layout: StackLayout) -> Path:
    """The unpacked Elasticsearch home, fetched first if missing (107 MB download)."""
    final = layout.elasticsearch_home
    if (final / "bin" / "elasticsearch").is_file():
        return final
    with file_lock(layout.artifacts / ".fetch.lock"):
        if (final / "bin" / "elasticsearch").is_file():
            return final
        _remove_leftovers(final.parent)
        _log.info("fetching Elasticsearch %s from Maven Central into %s (once)", ELASTICSEARCH_VERSION, final)

        def build(scratch: Path) -> None:
            download = scratch / "download"
            _mvn([f"{DEPENDENCY_PLUGIN}:copy", f"-Dartifact={ELASTICSEARCH_ARTIFACT}",
                  f"-DoutputDirectory={download}"], "elasticsearch", layout.fetch_log)
            archives = list(download.glob("*.zip"))
            if len(archives) != 1:
                raise StackError("elasticsearch", "Maven Central", f"expected one zip in {download}, "
                                 f"found {len(archives)}", layout.fetch_log)
            extract_zip(archives[0], scratch)
            if not (scratch / final.name / "bin" / "elasticsearch").is_file():
                raise StackError("elasticsearch", "Maven Central",
                                 f"the zip has no {final.name}/bin/elasticsearch", layout.fetch_log)

        install_atomically(final, build)
    return final

"""Runs Elasticsearch from the cached distribution: node folders, configuration, launch.

Elasticsearch keeps its configuration, data and logs in a *node folder* outside its home, so one
read-only copy of the distribution serves every port. Normally the node folder sits in the run
folder (``run/elasticsearch-9200/node``). When the stack runs as root, Elasticsearch must run
under the service account (see :mod:`trailhound.stack.service_user`), which cannot enter root's private home;
then both a hard-linked copy of the distribution and the node folder live in that account's home.
The console log and PID file always stay in the run folder.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

from trailhound.config import Settings
from trailhound.stack.addresses import Endpoint, elasticsearch_endpoint
from trailhound.stack.errors import StackError
from trailhound.stack.es_config import elasticsearch_jvm_options, elasticsearch_log4j2_properties, elasticsearch_yml
from trailhound.stack.fetch import ensure_elasticsearch, file_lock, install_atomically
from trailhound.stack.health import elasticsearch_ready, port_open
from trailhound.stack.java import JavaRuntime
from trailhound.stack.layout import StackLayout
from trailhound.stack.processes import spawn_detached
from trailhound.stack.service_user import SERVICE_USER, chown_tree, ensure_service_user, running_as_root

__all__ = ["ElasticsearchServer"]

_WRITTEN = ("elasticsearch.yml", "jvm.options", "log4j2.properties")


def _link_or_copy(source: str, target: str) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


@dataclass(frozen=True)
class ElasticsearchServer:
    """The local Elasticsearch for ``settings.elasticsearch_url``."""

    settings: Settings
    layout: StackLayout
    name: str = "elasticsearch"
    startup_timeout: float = 120.0

    @property
    def endpoint(self) -> Endpoint:
        return elasticsearch_endpoint(self.settings.elasticsearch_url)

    @property
    def run_dir(self) -> Path:
        return self.layout.run_dir(self.name, self.endpoint.port)

    @property
    def log_path(self) -> Path:
        return self.run_dir / "elasticsearch.log"

    @property
    def pid_path(self) -> Path:
        return self.run_dir / "elasticsearch.pid"

    @property
    def _service_home(self) -> Path:
        try:
            return Path(pwd.getpwnam(SERVICE_USER).pw_dir)
        except KeyError:
            return Path("/var/lib") / SERVICE_USER

    @property
    def node_dir(self) -> Path:
        """Configuration, data and logs of this node (see the module docstring for where)."""
        if not running_as_root():
            return self.run_dir / "node"
        cache_key = hashlib.sha256(str(self.layout.cache_dir.resolve()).encode()).hexdigest()[:10]
        return self._service_home / "nodes" / f"{cache_key}-{self.endpoint.port}"

    @property
    def marker(self) -> str:
        return str(self.node_dir / "config")

    @property
    def extra_ports(self) -> dict[int, str]:
        return {}  # the transport port is a range; Elasticsearch skips taken ones

    def healthy(self, timeout: float = 3.0) -> bool:
        endpoint = self.endpoint
        if endpoint.startable and not port_open(endpoint.host, endpoint.port):
            return False
        return elasticsearch_ready(self.settings.elasticsearch_url, timeout)

    def _home(self) -> Path:
        """The distribution this node runs from, readable by the account that runs it."""
        cached = ensure_elasticsearch(self.layout)
        if not running_as_root():
            return cached
        account = ensure_service_user(self.endpoint.display)
        mirror = Path(account.pw_dir) / cached.name
        if not (mirror / "bin" / "elasticsearch").is_file():
            with file_lock(Path(account.pw_dir) / ".mirror.lock"):
                if not (mirror / "bin" / "elasticsearch").is_file():
                    shutil.rmtree(mirror, ignore_errors=True)
                    install_atomically(mirror, lambda scratch: shutil.copytree(
                        cached, scratch / cached.name, symlinks=True, copy_function=_link_or_copy))
        return mirror

    def provision(self, java: JavaRuntime) -> None:
        home = self._home()
        node, config = self.node_dir, self.node_dir / "config"
        for folder in (self.run_dir, config, node / "data", node / "logs", node / "tmp"):
            folder.mkdir(parents=True, exist_ok=True)
        for source in (home / "config").iterdir():
            if source.is_file() and source.name not in _WRITTEN and not (config / source.name).exists():
                shutil.copy2(source, config / source.name)
        try:
            (config / "jvm.options").write_text(elasticsearch_jvm_options(self.settings, node))
        except ValueError as exc:
            raise StackError(self.name, self.endpoint.display, str(exc)) from None
        (config / "elasticsearch.yml").write_text(elasticsearch_yml(self.settings, node))
        (config / "log4j2.properties").write_text(elasticsearch_log4j2_properties())
        if running_as_root():
            chown_tree(node, ensure_service_user(self.endpoint.display))

    def spawn(self, java: JavaRuntime) -> int:
        home = self._home()
        node = self.node_dir
        env = {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "HOME": str(node),
            "ES_JAVA_HOME": str(java.home),
            "ES_PATH_CONF": str(node / "config"),
            "ES_TMPDIR": str(node / "tmp"),
        }
        user = SERVICE_USER if running_as_root() else None
        return spawn_detached([str(home / "bin" / "elasticsearch")], cwd=node, env=env,
                              log_path=self.log_path, user=user)

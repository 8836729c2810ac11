"""The local stack's generated configuration, fetch safety, process handling and compose file."""

from __future__ import annotations

import base64
import os
import re
import shutil
import subprocess
import sys
import time
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from trailhound.config import Settings
from trailhound.stack.addresses import elasticsearch_endpoint, kafka_endpoint
from trailhound.stack.errors import StackError
from trailhound.stack.es_config import elasticsearch_jvm_options, elasticsearch_yml
from trailhound.stack.fetch import ensure_kafka, extract_zip, install_atomically
from trailhound.stack.health import port_open
from trailhound.stack.kafka_config import kafka_jvm_options, kafka_server_properties, new_cluster_id
from trailhound.stack.layout import StackLayout
from trailhound.stack.processes import group_alive, owned_pid, spawn_detached, stop_group, write_pid
from trailhound.stack.versions import KAFKA_VERSION

ROOT = Path(__file__).resolve().parents[2]


def _properties(text: str) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    return {key: value for key, value in pairs}


# --- Kafka ---------------------------------------------------------------------------------------

def test_kafka_listens_on_the_configured_port_with_the_controller_one_above(tmp_path: Path) -> None:
    props = _properties(kafka_server_properties(Settings(kafka_bootstrap="127.0.0.1:19092"), tmp_path))
    assert props["listeners"] == "PLAINTEXT://127.0.0.1:19092,CONTROLLER://127.0.0.1:19093"
    assert props["advertised.listeners"] == "PLAINTEXT://127.0.0.1:19092"
    assert props["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert props["process.roles"] == "broker,controller"
    assert props["log.dirs"] == str(tmp_path)


def test_kafka_named_localhost_binds_loopback_only(tmp_path: Path) -> None:
    props = _properties(kafka_server_properties(Settings(kafka_bootstrap="localhost:9092"), tmp_path))
    assert props["listeners"].startswith("PLAINTEXT://127.0.0.1:9092,")


def test_kafka_is_tuned_for_one_node_and_never_invents_topics(tmp_path: Path) -> None:
    props = _properties(kafka_server_properties(Settings(partitions=6), tmp_path))
    for key in ("offsets.topic.replication.factor", "transaction.state.log.replication.factor",
                "share.coordinator.state.topic.replication.factor", "default.replication.factor"):
        assert props[key] == "1", key
    assert props["group.initial.rebalance.delay.ms"] == "0"
    assert props["auto.create.topics.enable"] == "false"
    assert props["num.partitions"] == "6"


def test_kafka_heap_comes_from_settings_and_nonsense_is_refused(tmp_path: Path) -> None:
    options = kafka_jvm_options(Settings(kafka_heap="768m"), tmp_path / "log4j2.properties")
    assert "-Xmx768m" in options and "-Xms768m" in options
    assert f"-Dlog4j2.configurationFile={tmp_path / 'log4j2.properties'}" in options
    with pytest.raises(ValueError, match="TRAILHOUND_KAFKA_HEAP"):
        kafka_jvm_options(Settings(kafka_heap="lots"), tmp_path / "log4j2.properties")


def test_cluster_ids_are_valid_kafka_uuids() -> None:
    ids = {new_cluster_id() for _ in range(200)}
    assert len(ids) == 200
    for cluster_id in ids:
        assert len(cluster_id) == 22 and not cluster_id.startswith("-")
        assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_pom_fetches_the_pinned_kafka_and_a_logging_backend() -> None:
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    pom = ET.parse(ROOT / "stack" / "kafka-pom.xml").getroot()
    deps = {d.findtext("m:artifactId", namespaces=ns): d.findtext("m:version", namespaces=ns)
            for d in pom.iterfind("m:dependencies/m:dependency", ns)}
    assert deps["kafka_2.13"] == KAFKA_VERSION
    assert "log4j-slf4j-impl" in deps


# --- Elasticsearch -------------------------------------------------------------------------------

# Settings the minimal integ-test-zip distribution knows (server core + x-pack security). Anything
# else makes Elasticsearch refuse to start.
_KNOWN_PREFIXES = ("cluster.", "node.", "path.", "network.", "http.", "transport.", "discovery.",
                   "xpack.security.", "action.")


def test_elasticsearch_serves_the_url_port_as_a_single_open_node(tmp_path: Path) -> None:
    yml = yaml.safe_load(elasticsearch_yml(Settings(elasticsearch_url="http://127.0.0.1:19200"), tmp_path))
    assert yml["http.port"] == "19200"
    assert yml["network.host"] == "127.0.0.1"
    assert yml["discovery.type"] == "single-node"
    assert yml["xpack.security.enabled"] == "false"
    assert yml["cluster.routing.allocation.disk.threshold_enabled"] == "false"
    assert yml["path.data"] == str(tmp_path / "data")
    assert yml["path.logs"] == str(tmp_path / "logs")
    assert not yml["transport.port"].startswith("19200")
    assert all(key.startswith(_KNOWN_PREFIXES) for key in yml), sorted(yml)


def test_elasticsearch_heap_comes_from_settings(tmp_path: Path) -> None:
    lines = elasticsearch_jvm_options(Settings(elasticsearch_heap="1g"), tmp_path).splitlines()
    assert "-Xms1g" in lines and "-Xmx1g" in lines
    assert not any(line.startswith("-Xlog:gc") for line in lines)  # no GC log in the read-only home
    with pytest.raises(ValueError, match="TRAILHOUND_ES_HEAP"):
        elasticsearch_jvm_options(Settings(elasticsearch_heap="1 GB"), tmp_path)


# --- addresses and layout ------------------------------------------------------------------------

@pytest.mark.parametrize(("bootstrap", "startable"), [
    ("127.0.0.1:9092", True), ("localhost:9092", True),
    ("kafka.example.org:9092", False), ("127.0.0.1:9092,127.0.0.1:9095", False),
])
def test_only_a_single_loopback_kafka_is_started_locally(bootstrap: str, startable: bool) -> None:
    assert kafka_endpoint(bootstrap).startable is startable


@pytest.mark.parametrize(("url", "startable"), [
    ("http://127.0.0.1:9200", True), ("https://127.0.0.1:9200", False),
    ("http://search.example.org:9200", False), ("http://elastic:secret@127.0.0.1:9200", False),
])
def test_only_a_plain_loopback_elasticsearch_is_started_locally(url: str, startable: bool) -> None:
    assert elasticsearch_endpoint(url).startable is startable


def test_credentials_never_appear_in_the_displayed_address() -> None:
    endpoint = elasticsearch_endpoint("https://trailhound:s3cret-pw@search.example.org:9243")
    assert "s3cret" not in endpoint.display
    assert endpoint.display == "https://search.example.org:9243"


def test_stacks_on_other_ports_share_downloads_but_not_data(tmp_path: Path) -> None:
    layout = StackLayout(tmp_path)
    assert layout.run_dir("kafka", 9092) != layout.run_dir("kafka", 19092)
    assert not layout.run_dir("kafka", 19092).is_relative_to(layout.artifacts)
    assert layout.kafka_lib.is_relative_to(layout.artifacts)
    assert layout.elasticsearch_home.is_relative_to(layout.artifacts)


# --- errors and fetching -------------------------------------------------------------------------

def test_stack_error_names_the_server_and_quotes_the_end_of_its_log(tmp_path: Path) -> None:
    log = tmp_path / "kafka.log"
    log.write_text("".join(f"line {n}\n" for n in range(1, 51)))
    message = str(StackError("kafka", "127.0.0.1:9092", "port 9092 is taken", log))
    assert message.startswith("kafka at 127.0.0.1:9092: port 9092 is taken")
    assert "line 50" in message and "line 21\n" in message
    assert "line 20\n" not in message


def test_missing_maven_is_a_clear_error_and_leaves_no_half_download(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    layout = StackLayout(tmp_path / "cache")
    with pytest.raises(StackError, match="'mvn' is not on PATH"):
        ensure_kafka(layout)
    assert not layout.kafka_lib.exists()
    assert not list(layout.kafka_lib.parent.glob(".partial-*"))


def test_a_fresh_cache_asks_maven_for_the_pinned_kafka_from_the_installed_package(tmp_path: Path) -> None:
    """On a fresh machine the Kafka POM is read from the installed package (a wrong package name broke it)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    seen = tmp_path / "seen-pom.xml"
    fake_mvn = bin_dir / "mvn"
    fake_mvn.write_text(
        "#!/bin/sh\n"
        'for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac; done\n'
        f'while [ "$1" != "-f" ]; do shift; done; cp "$2" {seen}\n'
        'mkdir -p "$out" && touch "$out/kafka.jar"\n')
    fake_mvn.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    env.pop("PYTHONPATH", None)
    layout = StackLayout(tmp_path / "cache")
    # In a process of its own started elsewhere, as the ``trailhound`` command is: the project folder
    # is not on its import path there.
    subprocess.run([sys.executable, "-c", "import sys; from pathlib import Path; "
                    "from trailhound.stack.fetch import ensure_kafka; from trailhound.stack.layout import StackLayout; "
                    "ensure_kafka(StackLayout(Path(sys.argv[1])))", str(tmp_path / "cache")],
                   cwd=tmp_path, env=env, check=True, timeout=60)
    assert (layout.kafka_lib / "kafka.jar").is_file()
    pom = seen.read_text()
    assert "<artifactId>kafka_2.13</artifactId>" in pom and f"<version>{KAFKA_VERSION}</version>" in pom


def test_an_interrupted_install_leaves_nothing_behind(tmp_path: Path) -> None:
    final = tmp_path / "artifacts" / "thing"

    def build(scratch: Path) -> None:
        (scratch / "thing").mkdir()
        (scratch / "thing" / "half.jar").write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        install_atomically(final, build)
    assert not final.exists()
    assert list(final.parent.iterdir()) == []


def test_unzipped_scripts_stay_executable(tmp_path: Path) -> None:
    archive = tmp_path / "dist.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        info = zipfile.ZipInfo("dist/bin/run")
        info.external_attr = 0o755 << 16
        bundle.writestr(info, "#!/bin/sh\necho ok\n")
    extract_zip(archive, tmp_path / "out")
    assert os.access(tmp_path / "out" / "dist" / "bin" / "run", os.X_OK)


# --- processes -----------------------------------------------------------------------------------

_SPAWN_AND_EXIT = """
import sys, time
from pathlib import Path
from trailhound.stack.processes import spawn_detached
marker, log = sys.argv[1], Path(sys.argv[2])
pid = spawn_detached([sys.executable, "-c", "import time; time.sleep(60)", marker],
                     cwd=log.parent, env={"PATH": "/usr/bin:/bin"}, log_path=log)
print(pid)
"""


def test_a_server_outlives_the_process_that_started_it_and_stops_on_request(tmp_path: Path) -> None:
    marker = str(tmp_path / "marker")
    launcher = subprocess.run([sys.executable, "-c", _SPAWN_AND_EXIT, marker, str(tmp_path / "s.log")],
                              capture_output=True, text=True, check=True, cwd=ROOT, timeout=60)
    pid = int(launcher.stdout.strip())
    try:
        assert group_alive(pid)
        assert os.getsid(pid) == pid  # its own session: a closing terminal does not take it down
        write_pid(tmp_path / "s.pid", pid)
        assert owned_pid(tmp_path / "s.pid", marker) == pid
        assert owned_pid(tmp_path / "s.pid", str(tmp_path / "someone-else")) is None
        assert stop_group(pid, grace=10) is False  # SIGTERM was enough
        assert not group_alive(pid)
        assert owned_pid(tmp_path / "s.pid", marker) is None
    finally:
        if group_alive(pid):
            stop_group(pid, grace=1)


def test_a_server_ignoring_sigterm_is_killed(tmp_path: Path) -> None:
    stubborn = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(60)"
    pid = spawn_detached([sys.executable, "-c", stubborn], cwd=tmp_path, env={"PATH": "/usr/bin:/bin"},
                         log_path=tmp_path / "s.log")
    try:
        time.sleep(0.5)  # let it install its handler
        assert stop_group(pid, grace=0.5) is True
        assert not group_alive(pid)
    finally:
        if group_alive(pid):
            stop_group(pid, grace=0)


_MAIN_THREAD_EXITS_FIRST = """
import ctypes, socket, sys, threading, time
listener = socket.create_server(("127.0.0.1", 0))
print(listener.getsockname()[1], flush=True)
threading.Thread(target=time.sleep, args=(float(sys.argv[1]),)).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_server_whose_main_thread_is_gone_counts_as_running_until_its_last_thread_is(tmp_path: Path) -> None:
    """A JVM exits from another thread: its main thread is a zombie while the rest still hold its port."""
    log = tmp_path / "s.log"
    pid = spawn_detached([sys.executable, "-c", _MAIN_THREAD_EXITS_FIRST, "2"], cwd=tmp_path,
                         env={"PATH": "/usr/bin:/bin"}, log_path=log)
    try:
        deadline = time.monotonic() + 10
        while not log.read_text().strip().splitlines()[-1].isdigit() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(log.read_text().strip().splitlines()[-1])
        time.sleep(0.3)  # its main thread has exited by now
        assert Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        assert port_open("127.0.0.1", port)
        assert group_alive(pid)
        assert stop_group(pid, grace=10) is False
        assert not group_alive(pid)
        assert not port_open("127.0.0.1", port)
    finally:
        if group_alive(pid):
            stop_group(pid, grace=0)


# --- docker-compose for partners -----------------------------------------------------------------

def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _compose_client() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True).returncode == 0:
        return [docker, "compose"]
    return None


COMPOSE_SECRETS = ("ELASTIC_PASSWORD", "KIBANA_PASSWORD", "TRAILHOUND_ES_PASSWORD", "GRAFANA_ADMIN_PASSWORD",
                   "KIBANA_ENCRYPTION_KEY", "KAFKA_ADMIN_PASSWORD", "KAFKA_WORKER_PASSWORD", "KAFKA_INGEST_PASSWORD",
                   "KAFKA_PUBLISHER_PASSWORD", "KAFKA_FEEDBACK_PASSWORD", "TRAILHOUND_FEEDBACK_KEY",
                   "TRAILHOUND_WORKER_KEY", "TRAILHOUND_PUBLISHER_KEY", "TRAILHOUND_INGEST_TOKEN",
                   "TRAILHOUND_WORKER_TOKEN")


def _compose_config(env_file: Path | None) -> subprocess.CompletedProcess[str]:
    client = _compose_client()
    if client is None:
        pytest.skip("neither docker-compose nor the docker compose plugin is installed")
    env_args = ["--env-file", str(env_file)] if env_file else []
    environment = {k: v for k, v in os.environ.items() if k not in COMPOSE_SECRETS}
    return subprocess.run([*client, *env_args, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, env=environment)


def test_compose_file_is_valid_for_docker_compose_once_env_sets_the_secrets(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("".join(f"{name}=test-{n}-0123456789abcdef0123456789abcdef\n"
                                for n, name in enumerate(COMPOSE_SECRETS)))
    result = _compose_config(env_file)
    assert result.returncode == 0, result.stderr


def test_compose_refuses_to_start_with_any_secret_unset(tmp_path: Path) -> None:
    for missing in ("TRAILHOUND_WORKER_KEY", "KAFKA_INGEST_PASSWORD", "ELASTIC_PASSWORD"):
        env_file = tmp_path / ".env"
        env_file.write_text("".join(f"{name}=test-0123456789abcdef0123456789abcdef\n"
                                    for name in COMPOSE_SECRETS if name != missing))
        result = _compose_config(env_file)
        assert result.returncode != 0 and f"set {missing} in .env" in result.stderr


def test_compose_ships_no_working_default_secret() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    for name in COMPOSE_SECRETS:  # compose interpolations only ($$ escapes a shell variable in a container)
        uses = re.findall(r"(?<!\$)\$\{" + name + r"(:?[-?]|\})", text)
        assert uses and set(uses) == {":?"}, (name, uses)


def test_compose_kafka_authenticates_everyone_and_denies_by_default() -> None:
    services = _compose()["services"]
    script = services["kafka"]["command"][-1]
    assert "allow.everyone.if.no.acl.found=false" in script and "StandardAuthorizer" in script
    assert "PLAINTEXT://" not in script and "CONTROLLER://localhost:9093" in script
    acls = services["kafka-setup"]["command"][-1]
    assert "User:ingest --operation Write --operation Describe $$(topics posts.raw posts.dlq)" in acls
    assert "User:publisher --operation Write --operation Describe $$(topics patterns)" in acls
    writers_of_alerts = [line for line in acls.splitlines() if "--operation Write" in line and "alerts" in line]
    assert len(writers_of_alerts) == 1 and "User:worker" in writers_of_alerts[0]
    assert services["ingest"]["environment"]["KAFKA_SASL_USERNAME"] == "ingest"
    assert not any(k.endswith("_KEY") for k in services["ingest"]["environment"])  # ingest holds no key
    assert services["worker"]["environment"]["ELASTICSEARCH_URL"].startswith("https://trailhound:")
    assert services["elasticsearch"]["environment"]["xpack.security.http.ssl.enabled"] == "true"


def test_compose_has_every_service_partners_need() -> None:
    services = _compose()["services"]
    assert {"kafka", "elasticsearch", "setup", "kibana", "prometheus", "grafana", "ingest",
            "worker"} <= set(services)
    assert services["elasticsearch"]["environment"]["xpack.security.enabled"] == "true"
    assert services["kafka"]["image"].startswith("apache/kafka:")


def test_compose_workers_scale_and_find_kafka_and_elasticsearch() -> None:
    worker = _compose()["services"]["worker"]
    assert "container_name" not in worker and "ports" not in worker  # else --scale collides
    assert worker["command"] == ["worker"]
    env = worker["environment"]
    assert env["KAFKA_BOOTSTRAP"] == "kafka:9092"
    assert "@elasticsearch:9200" in env["ELASTICSEARCH_URL"]  # credentials included
    assert env["TRAILHOUND_WORKER_PORT"] == "6066" and "6066" in worker["expose"]


def test_prometheus_scrapes_every_worker_replica() -> None:
    compose = _compose()
    mounts = compose["services"]["prometheus"]["volumes"]
    assert "./dashboards/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in mounts
    config = yaml.safe_load((ROOT / "dashboards" / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    discovery = jobs["trailhound-worker"]["dns_sd_configs"][0]
    assert discovery["names"] == ["worker"] and discovery["port"] == 6066
    assert jobs["trailhound-worker"]["metrics_path"] == "/metrics"



def test_the_image_contains_every_package_the_project_installs() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = {"trailhound", *project["tool"]["setuptools"]["package-dir"].values()}
    dockerfile = (ROOT / "Dockerfile").read_text()
    missing = [name for name in sorted(folders) if f"COPY {name}/ {name}/" not in dockerfile]
    assert missing == [], f"Dockerfile does not copy {missing}"


# --- start-up wait -------------------------------------------------------------------------------

@dataclass
class _SlowServer:
    """A stand-in server that turns healthy at ``ready_at`` and writes its log every ``log_every`` s."""

    log_path: Path
    ready_at: float
    log_every: float | None
    name: str = "slow"
    startup_timeout: float = 0.6

    @property
    def endpoint(self):  # type: ignore[no-untyped-def]
        return kafka_endpoint("127.0.0.1:1")

    def healthy(self, timeout: float = 3.0) -> bool:
        if self.log_every is not None:
            with self.log_path.open("a") as log:
                log.write("loading partitions\n")
        return time.monotonic() >= self.ready_at


def _waited(tmp_path: Path, server: _SlowServer) -> float:
    from trailhound.stack import manager
    from trailhound.stack.report import ServerState

    started = time.monotonic()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"], start_new_session=True)
    try:
        manager._wait([manager._Pending(server, sleeper.pid, ServerState.STARTED, started)])  # type: ignore[list-item]
    finally:
        sleeper.kill()
        sleeper.wait()
    return time.monotonic() - started


def test_a_server_still_writing_its_log_is_waited_for_past_the_start_up_timeout(tmp_path: Path) -> None:
    """Kafka recovering thousands of partitions takes minutes but keeps logging: it must not be killed."""
    server = _SlowServer(tmp_path / "busy.log", ready_at=time.monotonic() + 2.0, log_every=0.25)
    assert _waited(tmp_path, server) >= 2.0


def test_a_server_whose_log_stays_silent_is_reported_after_the_start_up_timeout(tmp_path: Path) -> None:
    server = _SlowServer(tmp_path / "silent.log", ready_at=time.monotonic() + 30.0, log_every=None)
    with pytest.raises(StackError, match="log silent for 1 s"):
        _waited(tmp_path, server)

"""The files a local single-node Elasticsearch runs from, as pure functions of the Settings.

The stack uses the minimal ``integ-test-zip`` distribution from Maven Central: it has the server,
the HTTP transport and x-pack core and security, nothing else. Elasticsearch aborts on settings of
modules it does not have, so only core and security settings appear here. Locally there is one
node on loopback, no security (nothing leaves the machine), no disk-watermark checks (a nearly
full laptop disk must not turn indices read-only) and wildcard index deletion allowed so tests can
clean up their namespaced indices in one call.
"""

from __future__ import annotations

from pathlib import Path

from trailhound.config import Settings
from trailhound.stack.addresses import elasticsearch_endpoint
from trailhound.stack.java import heap_flags

__all__ = ["elasticsearch_jvm_options", "elasticsearch_log4j2_properties", "elasticsearch_yml"]


def elasticsearch_yml(settings: Settings, node_dir: Path) -> str:
    """``elasticsearch.yml`` for a single node serving ``settings.elasticsearch_url``."""
    endpoint = elasticsearch_endpoint(settings.elasticsearch_url)
    port = endpoint.port
    values = {
        "cluster.name": "trailhound-local",
        "node.name": f"trailhound-{port}",
        "path.data": str(node_dir / "data"),
        "path.logs": str(node_dir / "logs"),
        "network.host": endpoint.bind_host,
        "http.port": str(port),
        "transport.port": f"{port + 100}-{port + 199}",
        "discovery.type": "single-node",
        "xpack.security.enabled": "false",
        "cluster.routing.allocation.disk.threshold_enabled": "false",
        "action.destructive_requires_name": "false",
    }
    header = "# Written by Trailhound's local stack (stack/es_config.py); rewritten at every start.\n"
    return header + "".join(f'{key}: "{value}"\n' for key, value in values.items())


def elasticsearch_jvm_options(settings: Settings, node_dir: Path) -> str:
    """``jvm.options``: the configured heap; crash files go to the node's own logs folder.

    Written in full rather than copied, because the distribution's file points GC and crash logs
    at paths relative to the Elasticsearch home, which the service account may not write to.
    """
    lines = [
        *heap_flags(settings.elasticsearch_heap, "TRAILHOUND_ES_HEAP"),
        "-XX:+UseG1GC",
        "-Djava.io.tmpdir=${ES_TMPDIR}",
        "-XX:+ExitOnOutOfMemoryError",
        f"-XX:ErrorFile={node_dir / 'logs'}/hs_err_pid%p.log",
        "20-:--add-modules=jdk.incubator.vector",
    ]
    return "\n".join(lines) + "\n"


def elasticsearch_log4j2_properties() -> str:
    """Log4j 2 configuration: INFO to stdout (captured into the run folder's log), deprecation
    notices returned to clients as HTTP ``Warning`` headers instead of extra files."""
    return "\n".join([
        "status = error",
        "appender.out.type = Console",
        "appender.out.name = out",
        "appender.out.layout.type = PatternLayout",
        "appender.out.layout.pattern = %d{ISO8601} %-5p [%c{1.}] %m%n",
        "rootLogger.level = info",
        "rootLogger.appenderRef.out.ref = out",
        "appender.header_warning.type = HeaderWarningAppender",
        "appender.header_warning.name = header_warning",
        "logger.deprecation.name = org.elasticsearch.deprecation",
        "logger.deprecation.level = warn",
        "logger.deprecation.appenderRef.header_warning.ref = header_warning",
        "logger.deprecation.additivity = false",
        "",
    ])

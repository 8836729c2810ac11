"""The monitoring and analyst views shipped in dashboards/: Grafana, Prometheus rules, Kibana objects.

None of these files is code, so nothing else notices when one of them drifts from the worker or the
indices: a panel querying a renamed metric shows "No data", an alert on it never fires, a saved search
on an unmapped field shows empty columns. These tests tie each file to its source of truth: metric
names come from a fresh ``PipelineMetrics`` registry, field names from the index mappings, mount paths
from docker-compose.yml. PromQL is parsed with ``promql-parser`` (bindings to the Rust parser that
follows Prometheus's grammar), so a syntax error in a panel or rule fails here instead of in Grafana.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry

from trailhound.alerts.indices import templates
from trailhound.config import Settings
from trailhound.console.live import AlertFeed
from trailhound.console.sessions import SessionStore
from trailhound.streams.escalator import EscalatorMetrics
from trailhound.streams.metrics import PipelineMetrics

ROOT = Path(__file__).resolve().parents[2]
DASHBOARDS = ROOT / "dashboards"
GRAFANA_DASHBOARD = DASHBOARDS / "grafana" / "dashboards" / "trailhound-pipeline.json"
DATASOURCES = DASHBOARDS / "grafana" / "provisioning" / "datasources" / "prometheus.yml"
PROVIDERS = DASHBOARDS / "grafana" / "provisioning" / "dashboards" / "trailhound.yml"
PROMETHEUS_CONFIG = DASHBOARDS / "prometheus" / "prometheus.yml"
RULES = DASHBOARDS / "prometheus" / "rules" / "trailhound.rules.yml"
RULE_TESTS = DASHBOARDS / "prometheus" / "rules" / "trailhound.rules.test.yml"
KIBANA = DASHBOARDS / "kibana" / "trailhound.ndjson"

# Series Prometheus makes itself: scrape health and the state of its own alerting rules.
PROMETHEUS_OWN_SERIES = {"up", "ALERTS", "ALERTS_FOR_STATE"}
# Grafana replaces these before sending a query; any valid duration stands in for parsing.
GRAFANA_DURATIONS = re.compile(r"\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}")


# --- sources of truth ----------------------------------------------------------------------------

def trailhound_registries() -> list[CollectorRegistry]:
    """Fresh registries of every Trailhound process Prometheus scrapes: workers, escalator and console."""
    console = CollectorRegistry()
    SessionStore(3600, console)
    AlertFeed(Settings(), None, console)  # type: ignore[arg-type]  # only its metrics are read
    return [PipelineMetrics().registry, EscalatorMetrics().registry, console]


def exposed_metrics() -> dict[str, str]:
    """Every series name a worker's or the console's /metrics can carry, mapped to its metric family."""
    suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_sum", "_count", "_created"),
                "summary": ("", "_sum", "_count", "_created"), "gauge": ("",), "info": ("_info",)}
    names: dict[str, str] = {}
    for family in (family for registry in trailhound_registries() for family in registry.collect()):
        for suffix in suffixes.get(family.type, ("",)):
            names[family.name + suffix] = family.name
    return names


def referenced_metrics(expr: str) -> set[str]:
    """Metric names an expression selects (parsing fails the test on invalid PromQL)."""
    names: set[str] = set()

    def visit(node: Any) -> None:
        if isinstance(node, promql_parser.VectorSelector):
            if node.name:
                names.add(node.name)
            for matcher in node.matchers.matchers:
                if matcher.name == "__name__":
                    names.add(matcher.value)

    promql_parser.walk(promql_parser.parse(GRAFANA_DURATIONS.sub("5m", expr)), visit)
    return names


def mapped_fields(mapping: dict[str, Any]) -> dict[str, str]:
    """``dotted.field -> type`` for every field of an index mapping, multi-fields included."""
    fields: dict[str, str] = {}

    def add(properties: dict[str, Any], prefix: str) -> None:
        for name, spec in properties.items():
            path = prefix + name
            if "properties" in spec:
                add(spec["properties"], path + ".")
            else:
                fields[path] = spec.get("type", "object")
            for sub, sub_spec in spec.get("fields", {}).items():
                fields[f"{path}.{sub}"] = sub_spec["type"]

    add(mapping["properties"], "")
    return fields


def mappings_by_alias() -> dict[str, dict[str, str]]:
    """Fields of each index the workers write, keyed by the alias analysts query."""
    settings = Settings()
    return {settings.index(name): mapped_fields(templates(settings)[settings.index(name)]["template"]["mappings"])
            for name in ("alerts", "posts", "feedback")}


def compose_volumes(service: str) -> dict[str, str]:
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    pairs = (volume.split(":") for volume in compose["services"][service]["volumes"])
    return {parts[0]: parts[1] for parts in pairs if parts[0].startswith("./")}


# --- Grafana -------------------------------------------------------------------------------------

def grafana_dashboard() -> dict[str, Any]:
    return json.loads(GRAFANA_DASHBOARD.read_text())


def grafana_panels() -> Iterator[dict[str, Any]]:
    for panel in grafana_dashboard()["panels"]:
        yield panel
        yield from panel.get("panels", [])


def grafana_queries() -> Iterator[tuple[str, str]]:
    """(where, PromQL) for every panel target and every query variable."""
    for panel in grafana_panels():
        for target in panel.get("targets", []):
            yield f"panel {panel['title']!r} {target['refId']}", target["expr"]
    for variable in grafana_dashboard()["templating"]["list"]:
        if variable["type"] == "query":
            match = re.fullmatch(r"label_values\((.+),\s*\w+\)", variable["definition"])
            assert match, f"variable {variable['name']}: expected label_values(<selector>, <label>)"
            yield f"variable {variable['name']}", match.group(1)


def test_every_dashboard_file_parses() -> None:
    checked = 0
    for path in DASHBOARDS.rglob("*"):
        if path.suffix == ".json":
            json.loads(path.read_text())
        elif path.suffix == ".ndjson":
            for number, line in enumerate(path.read_text().splitlines(), start=1):
                assert line.strip(), f"{path.name}:{number} is empty (Kibana rejects blank lines)"
                json.loads(line)
        elif path.suffix in {".yml", ".yaml"}:
            yaml.safe_load(path.read_text())
        else:
            continue
        checked += 1
    assert checked >= 7


def test_grafana_panels_query_only_metrics_the_worker_exposes() -> None:
    known = set(exposed_metrics()) | PROMETHEUS_OWN_SERIES
    unknown = {where: sorted(referenced_metrics(expr) - known) for where, expr in grafana_queries()}
    assert {where: names for where, names in unknown.items() if names} == {}


def test_grafana_dashboard_shows_every_worker_metric() -> None:
    families = exposed_metrics()
    shown = {families[name] for _, expr in grafana_queries() for name in referenced_metrics(expr)
             if name in families}
    assert shown == set(families.values())


def test_grafana_panels_use_the_provisioned_prometheus() -> None:
    [source] = yaml.safe_load(DATASOURCES.read_text())["datasources"]
    assert source["type"] == "prometheus" and source["url"] == "http://prometheus:9090"
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert "9090:9090" in compose["services"]["prometheus"]["ports"][0]
    expected = {"type": "prometheus", "uid": source["uid"]}
    for panel in grafana_panels():
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == expected, panel["title"]
        assert all(target["datasource"] == expected for target in panel["targets"]), panel["title"]
    for variable in grafana_dashboard()["templating"]["list"]:
        assert variable["datasource"] == expected, variable["name"]


def test_grafana_panels_fit_the_grid_without_overlapping() -> None:
    panels = list(grafana_panels())
    ids = [panel["id"] for panel in panels]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    cells: dict[tuple[int, int], str] = {}
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["w"] > 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']!r} overlaps {cells[(x, y)]!r}"
                cells[(x, y)] = panel["title"]
        refs = [target["refId"] for target in panel.get("targets", [])]
        assert len(refs) == len(set(refs)), panel["title"]


def test_grafana_loads_the_dashboard_folder_that_compose_mounts() -> None:
    [provider] = yaml.safe_load(PROVIDERS.read_text())["providers"]
    assert provider["type"] == "file"
    mounts = compose_volumes("grafana")
    assert mounts["./dashboards/grafana/dashboards"] == provider["options"]["path"]
    assert mounts["./dashboards/grafana/provisioning"] == "/etc/grafana/provisioning"
    assert GRAFANA_DASHBOARD.parent == DASHBOARDS / "grafana" / "dashboards"


# --- Prometheus rules ----------------------------------------------------------------------------

def alerting_rules() -> list[dict[str, Any]]:
    return [rule for group in yaml.safe_load(RULES.read_text())["groups"] for rule in group["rules"]]


def test_prometheus_loads_the_rules_from_where_compose_mounts_them() -> None:
    config = yaml.safe_load(PROMETHEUS_CONFIG.read_text())
    mounts = compose_volumes("prometheus")
    config_in_container = PurePosixPath(mounts["./dashboards/prometheus/prometheus.yml"])
    rules_in_container = PurePosixPath(mounts["./dashboards/prometheus/rules"])
    patterns = config["rule_files"]
    # Prometheus resolves relative rule paths against the config file's folder.
    in_container = [config_in_container.parent / pattern for pattern in patterns]
    assert any(PurePosixPath(rules_in_container / RULES.name).match(str(p)) for p in in_container)
    assert any(RULES.match(str(PROMETHEUS_CONFIG.parent / pattern)) for pattern in patterns)
    assert not any(RULE_TESTS.match(str(PROMETHEUS_CONFIG.parent / pattern)) for pattern in patterns), \
        "the promtool test file must not be loaded as rules"


def test_alert_rules_watch_only_metrics_that_exist() -> None:
    known = set(exposed_metrics()) | PROMETHEUS_OWN_SERIES
    unknown = {rule["alert"]: sorted(referenced_metrics(rule["expr"]) - known) for rule in alerting_rules()}
    assert {name: names for name, names in unknown.items() if names} == {}


def test_alert_rules_tell_the_operations_center_what_to_do() -> None:
    rules = alerting_rules()
    names = [rule["alert"] for rule in rules]
    assert len(names) == len(set(names))
    for rule in rules:
        assert rule.get("for"), f"{rule['alert']} fires on a single bad scrape"
        assert rule["labels"]["severity"] in {"critical", "warning"}, rule["alert"]
        assert rule["annotations"]["summary"].strip(), rule["alert"]
        assert "What to do:" in rule["annotations"]["description"], rule["alert"]


def test_the_rule_tests_cover_firing_and_quiet_cases_for_most_rules() -> None:
    cases = yaml.safe_load(RULE_TESTS.read_text())["tests"]
    fired = {check["alertname"] for case in cases for check in case["alert_rule_test"] if check["exp_alerts"]}
    quiet = {check["alertname"] for case in cases for check in case["alert_rule_test"] if not check["exp_alerts"]}
    covered = fired & quiet
    assert len(covered) >= 3 and covered <= {rule["alert"] for rule in alerting_rules()}


def _promtool(*args: str) -> subprocess.CompletedProcess[str]:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package `prometheus`)")
    return subprocess.run([promtool, *args], capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_promtool_accepts_the_prometheus_config_and_rules() -> None:
    config = _promtool("check", "config", str(PROMETHEUS_CONFIG))
    assert config.returncode == 0, config.stdout + config.stderr
    assert "1 rule files found" in config.stdout
    rules = _promtool("check", "rules", str(RULES))
    assert rules.returncode == 0, rules.stdout + rules.stderr


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    result = _promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr


# --- Kibana --------------------------------------------------------------------------------------

def kibana_objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in KIBANA.read_text().splitlines()]


def kibana_by_key() -> dict[tuple[str, str], dict[str, Any]]:
    return {(obj["type"], obj["id"]): obj for obj in kibana_objects()}


def reference_names(obj: dict[str, Any]) -> set[str]:
    """The reference names an object's attributes rely on (Kibana swaps them for ids on import)."""
    attributes = obj["attributes"]
    needed: set[str] = set()
    meta = attributes.get("kibanaSavedObjectMeta", {}).get("searchSourceJSON")
    if meta and "indexRefName" in json.loads(meta):
        needed.add(json.loads(meta)["indexRefName"])
    if obj["type"] == "dashboard":
        for panel in json.loads(attributes["panelsJSON"]):
            if "panelRefName" in panel:
                needed.add(f"{panel['panelIndex']}:{panel['panelRefName']}")
        controls = json.loads(attributes.get("controlGroupInput", {}).get("panelsJSON", "{}"))
        needed |= {f"controlGroup_{control_id}:optionsListDataView" for control_id in controls}
    if obj["type"] == "lens":
        layers = attributes["state"]["datasourceStates"]["formBased"]["layers"]
        needed |= {f"indexpattern-datasource-layer-{layer}" for layer in layers}
    return needed


def test_kibana_objects_are_stamped_and_unique() -> None:
    objects = kibana_objects()
    assert len(kibana_by_key()) == len(objects), "duplicate (type, id)"
    for obj in objects:
        assert obj["coreMigrationVersion"].startswith("8.") and obj.get("typeMigrationVersion"), obj["id"]
        assert obj["attributes"]["title"], obj["id"]
    kinds = {obj["type"] for obj in objects}
    assert {"index-pattern", "search", "lens", "dashboard"} <= kinds


def test_every_kibana_reference_resolves_inside_the_file() -> None:
    objects = kibana_by_key()
    for (kind, object_id), obj in objects.items():
        names = [reference["name"] for reference in obj["references"]]
        assert len(names) == len(set(names)), f"{kind} {object_id}: duplicate reference names"
        for reference in obj["references"]:
            assert (reference["type"], reference["id"]) in objects, f"{kind} {object_id} -> {reference}"
        missing = reference_names(obj) - set(names)
        assert not missing, f"{kind} {object_id} uses references it does not declare: {missing}"


def test_kibana_dashboard_panels_point_at_objects_of_their_own_type() -> None:
    objects = kibana_by_key()
    dashboards = [obj for (kind, _), obj in objects.items() if kind == "dashboard"]
    assert dashboards
    for dashboard in dashboards:
        references = {reference["name"]: reference for reference in dashboard["references"]}
        panels = json.loads(dashboard["attributes"]["panelsJSON"])
        assert len({panel["panelIndex"] for panel in panels}) == len(panels)
        for panel in panels:
            target = references[f"{panel['panelIndex']}:{panel['panelRefName']}"]
            assert target["type"] == panel["type"]
            assert panel["gridData"]["i"] == panel["panelIndex"]
            assert panel["gridData"]["x"] + panel["gridData"]["w"] <= 48


def _kql_fields(query: str) -> set[str]:
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    return set(re.findall(r"([A-Za-z_@][\w.@]*)\s*:", without_strings))


def _lucene_fields(query: str) -> set[str]:
    """Fields a Lucene query names: ``field:value`` and ``_exists_:field``."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', query)
    named = set(re.findall(r"([A-Za-z_@][\w.@*]*)\s*:", without_strings)) - {"_exists_"}
    return named | set(re.findall(r"_exists_\s*:\s*([\w.@]+)", without_strings))


def saved_search_query(obj: dict[str, Any]) -> dict[str, str]:
    return json.loads(obj["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"])["query"]


def fields_used(obj: dict[str, Any]) -> dict[str, set[str]]:
    """``{"shown": …, "aggregated": …}`` field names an object reads from its data view's index."""
    attributes = obj["attributes"]
    shown: set[str] = set()
    aggregated: set[str] = set()
    if obj["type"] == "index-pattern":
        shown |= {attributes["timeFieldName"]} | set(json.loads(attributes["fieldAttrs"]))
        shown |= set(json.loads(attributes["fieldFormatMap"]))
    if obj["type"] == "search":
        shown |= set(attributes["columns"])
        aggregated |= {field for field, _ in attributes["sort"]}
        query = saved_search_query(obj)
        shown |= (_lucene_fields if query["language"] == "lucene" else _kql_fields)(query["query"])
    if obj["type"] == "lens":
        state = attributes["state"]
        shown |= _kql_fields(state["query"]["query"])
        for layer in state["datasourceStates"]["formBased"]["layers"].values():
            for column in layer["columns"].values():
                if column.get("sourceField") not in (None, "___records___"):
                    aggregated.add(column["sourceField"])
                if "filter" in column:
                    shown |= _kql_fields(column["filter"]["query"])
    if obj["type"] == "dashboard":
        controls = json.loads(attributes.get("controlGroupInput", {}).get("panelsJSON", "{}"))
        aggregated |= {control["explicitInput"]["fieldName"] for control in controls.values()}
    return {"shown": shown, "aggregated": aggregated}


def data_view_title(obj: dict[str, Any], objects: dict[tuple[str, str], dict[str, Any]]) -> str:
    if obj["type"] == "index-pattern":
        return obj["attributes"]["title"]
    views = {reference["id"] for reference in obj["references"] if reference["type"] == "index-pattern"}
    assert len(views) == 1, f"{obj['id']} reads several data views: {views}"
    return objects[("index-pattern", views.pop())]["attributes"]["title"]


CLUSTER_FIELDS = {"trailhound.cluster.city_count", "trailhound.cluster.cities", "trailhound.cluster.post_count"}
"""Fields of cluster (network) alerts, mapped once entity linkage (issue 9) is in: until then the
"Clusters spanning many cities" search may name them, and is checked in full as soon as they are mapped."""


def clusters_mapped() -> bool:
    return set(mappings_by_alias()[Settings().index("alerts")]) >= CLUSTER_FIELDS


def test_kibana_objects_use_only_fields_the_indices_map() -> None:
    objects = kibana_by_key()
    mappings = mappings_by_alias()
    checked = 0
    for obj in objects.values():
        if obj["type"] not in {"index-pattern", "search", "lens", "dashboard"}:
            continue
        fields = mappings[data_view_title(obj, objects)]
        used = fields_used(obj)
        unmapped = (used["shown"] | used["aggregated"]) - set(fields) - (set() if clusters_mapped() else CLUSTER_FIELDS)
        assert not unmapped, f"{obj['type']} {obj['id']} uses unmapped fields {sorted(unmapped)}"
        text_only = {field for field in used["aggregated"] if fields.get(field) == "text"}
        assert not text_only, f"{obj['type']} {obj['id']} sorts or aggregates on text fields {text_only}"
        checked += len(used["shown"] | used["aggregated"])
    assert checked > 20


def test_kibana_data_views_read_what_the_workers_write_by_time() -> None:
    mappings = mappings_by_alias()
    views = [obj for obj in kibana_objects() if obj["type"] == "index-pattern"]
    titles = {view["attributes"]["title"] for view in views}
    assert {Settings().index("alerts"), Settings().index("posts")} <= titles <= set(mappings)
    for view in views:
        time_field = view["attributes"]["timeFieldName"]
        assert mappings[view["attributes"]["title"]][time_field] == "date", view["id"]


def test_saved_searches_are_written_in_lucene_for_the_searches_analysts_asked_for() -> None:
    searches = {obj["attributes"]["title"]: saved_search_query(obj) for obj in kibana_objects()
                if obj["type"] == "search"}
    assert {query["language"] for query in searches.values()} == {"lucene"}
    assert {"Critical alerts today", "Alerts involving minors", "Labour-trafficking alerts", "Posts by a phone number",
            "Clusters spanning many cities", "Alerts by language"} <= set(searches)


def test_lucene_field_parser_reads_exists_ranges_and_groups() -> None:
    assert _lucene_fields('a.b:(x OR y) AND _exists_:c.d AND @timestamp:[now/d TO *] AND e:"f: g"') == {
        "a.b", "c.d", "@timestamp", "e"}

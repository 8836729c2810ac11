"""The ``trailhound`` command: one entry point for operators, analysts and CI.

Typer turns typed functions into commands with help texts, so every command documents itself
(``trailhound --help``). Commands are thin: each parses its options, loads :class:`Settings` from the
environment and calls the module that does the work.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from trailhound import commands_alert, commands_escalations
from trailhound.commands_common import err, fail, out, settings
from trailhound.commands_connect import app as connect_app
from trailhound.commands_console import app as console_app
from trailhound.commands_linkage import evidence_app, watchlist_app
from trailhound.ingest.producer import IngestCounts

__all__ = ["main"]

app = typer.Typer(help="Trailhound: streaming alerts for anti-trafficking analysts.", no_args_is_help=True,
                  add_completion=False)
stack_app = typer.Typer(help="Run the local Kafka + Elasticsearch stack.", no_args_is_help=True)
alerts_app = typer.Typer(help="Read alerts.", no_args_is_help=True)
patterns_app = typer.Typer(help="Check and publish pattern libraries.", no_args_is_help=True)
app.add_typer(stack_app, name="stack")
app.add_typer(alerts_app, name="alerts")
app.add_typer(patterns_app, name="patterns")
app.add_typer(commands_alert.app, name="alert")
app.add_typer(commands_escalations.app, name="escalations")
app.command("escalator")(commands_escalations.escalator)
app.add_typer(watchlist_app, name="watchlist")
app.add_typer(evidence_app, name="evidence")
app.add_typer(console_app, name="console")
app.add_typer(connect_app, name="connect")



def show_reasons(counts: IngestCounts, most: int = 10) -> None:
    """Why lines were rejected, most frequent first, each with where it first happened."""
    ranked = sorted(counts.reasons.items(), key=lambda item: -item[1])
    for reason, count in ranked[:most]:
        out.print(f"  {count} × {reason} (first: {counts.first_seen[reason]})")
    if len(ranked) > most:
        out.print(f"  … and {len(ranked) - most} more reasons (the reason header of each dead letter says it)")


@stack_app.command("up")
def stack_up() -> None:
    """Fetch (first time), start and wait for Kafka and Elasticsearch; create topics and indices."""
    from trailhound.provision import prepare_stack

    try:
        report = prepare_stack(settings())
    except Exception as exc:  # StackError and client errors carry their own explanation
        raise fail(str(exc)) from None
    out.print(report)


@stack_app.command("down")
def stack_down() -> None:
    """Stop the demo worker, the ingest server, the console, Kafka and Elasticsearch started by this stack."""
    from trailhound.background import stop_background
    from trailhound.stack.manager import down

    config = settings()
    for name in ("worker", "ingest-server", "console"):
        if stop_background(config, name):
            out.print(f"stopped {name}")
    down(config)
    out.print("stack stopped")


@stack_app.command("status")
def stack_status() -> None:
    """Say what is running and where."""
    from trailhound.background import pid_of
    from trailhound.stack.manager import status

    config = settings()
    out.print(str(status(config)))
    for name in ("worker", "ingest-server", "console"):
        pid = pid_of(config, name)
        out.print(f"{name}: {'running, pid ' + str(pid) if pid else 'not running'}")


@app.command()
def worker(loglevel: Annotated[str, typer.Option(help="debug, info, warning")] = "info") -> None:
    """Run a stream worker in the foreground (several may run against the same topics)."""
    from trailhound.alerts.partners import RoutingError
    from trailhound.detectors.library import LibraryError
    from trailhound.streams.worker import run_worker

    try:
        run_worker(settings(), loglevel)
    except LibraryError as exc:
        raise fail(f"the starting pattern library is invalid: {exc}") from None
    except RoutingError as exc:
        raise fail(str(exc), 2) from None


@app.command()
def ingest(
    path: Annotated[str, typer.Argument(help="A JSON-lines file of posts, or - for standard input")],
    progress: Annotated[bool, typer.Option(help="Show a progress bar on large files")] = True,
) -> None:
    """Validate posts and send them to posts.raw; invalid lines go to posts.dlq with the reason."""
    from trailhound.ingest.files import ingest_path
    from trailhound.ingest.producer import IngestError, PostIngestor

    config = settings()
    if path != "-" and not Path(path).is_file():
        raise fail(f"no such file: {path}", 2)
    try:
        ingestor = PostIngestor(config)
        try:
            counts = ingest_path(ingestor, path, progress)
        finally:
            ingestor.close()
    except IngestError as exc:
        raise fail(str(exc)) from None
    except Exception as exc:  # kafka-python raises NoBrokersAvailable etc. when Kafka is unreachable
        raise fail(f"cannot reach Kafka at {config.kafka_bootstrap}: {exc}") from None
    out.print(f"accepted {counts.accepted}, rejected {counts.rejected} (sent to {config.topic('posts.dlq')})")
    show_reasons(counts)


@app.command("ingest-server")
def ingest_server() -> None:
    """Serve POST /posts (JSON or JSON lines) for scrapers and partner feeds."""
    from trailhound.ingest.http import run_ingest_server

    run_ingest_server(settings())


@alerts_app.command("list")
def alerts_list(
    since: Annotated[str | None, typer.Option(help="e.g. now-1h or 2026-11-28T00:00:00Z")] = None,
    severity: Annotated[str | None, typer.Option(help="minimum: low, medium, high, critical")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line")] = False,
) -> None:
    """Newest alerts first, with their evidence."""
    from elasticsearch import Elasticsearch

    from trailhound.alerts.search import SEVERITY_NUMBER, checked_since, list_alerts
    from trailhound.connections import es_options

    if severity and severity not in SEVERITY_NUMBER:
        raise fail(f"--severity must be one of {', '.join(SEVERITY_NUMBER)}", 2)
    try:
        since = checked_since(since) if since else None
    except ValueError as exc:
        raise fail(f"--since: {exc}", 2) from None
    config = settings()
    found = list_alerts(Elasticsearch(config.elasticsearch_url, **es_options(config)), config, since, severity, limit)
    if as_json:
        for alert in found:
            sys.stdout.write(json.dumps(alert, ensure_ascii=False) + "\n")
        return
    more = " (newest; --limit for more)" if len(found) == limit else ""
    table = Table(title=f"{len(found)} alerts{more}")
    for column in ("time", "id (for alert show)", "severity", "score", "post", "evidence"):
        table.add_column(column, overflow="fold")
    for alert in found:
        th = alert["trailhound"]
        evidence = "; ".join(f"{i['category']}: “{' '.join(i['evidence'].split())}”" for i in th["indicators"][:4])
        table.add_row(alert["@timestamp"][:19], alert["event"]["id"], th["severity"], f"{th['score']:.2f}",
                      ", ".join(th["post_ids"]),
                      evidence or next(iter(th.get("explanations", {}).values()), ""))
    out.print(table)


@patterns_app.command("validate")
def patterns_validate(directory: Path) -> None:
    """Load a pattern library, check what it may do, and run every pattern's examples."""
    from trailhound.detectors.library import LibraryError, PatternLibrary
    from trailhound.detectors.library_guard import check_library
    from trailhound.detectors.matcher import PatternMatcher

    try:
        library = PatternLibrary.load(directory)
        check_library(library, settings().match_budget_ms / 1000)
        failures = PatternMatcher(library).check_examples()
    except LibraryError as exc:
        raise fail(str(exc)) from None
    for failure in failures:
        err.print(f"  - {failure}")
    if failures:
        raise fail(f"{len(failures)} examples fail")
    out.print(f"library {library.version}: {len(library.patterns)} patterns, all examples pass")


@patterns_app.command("publish")
def patterns_publish(
    directory: Path,
    publisher: Annotated[str, typer.Option(help="Who publishes (kept with the version)")] = "cli",
) -> None:
    """Validate a library and publish it; running workers switch to it within seconds."""
    from trailhound.detectors.library import LibraryError, PatternLibrary
    from trailhound.streams.pattern_updates import publish_library

    try:
        result = publish_library(settings(), PatternLibrary.load(directory), publisher)
    except LibraryError as exc:
        raise fail(str(exc)) from None
    out.print(f"published library {result['version']} ({result['patterns']} patterns)")


@patterns_app.command("stats")
def patterns_stats(
    worker: Annotated[str | None, typer.Option(help="Worker URL (default: the local worker)")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="Also patterns without verdicts")] = False,
) -> None:
    """How analysts' verdicts have changed each pattern's weight (noisiest patterns first)."""
    import httpx

    from trailhound.signing import worker_token

    config = settings()
    url = (worker or f"http://127.0.0.1:{config.worker_web_port}").rstrip("/") + "/patterns"
    try:
        auth = {"Authorization": f"Bearer {worker_token(config)}"}
        data = httpx.get(url, headers=auth, timeout=10).raise_for_status().json()
    except httpx.HTTPError as exc:
        raise fail(f"cannot read pattern statistics from {url}: {exc}") from None
    rows = [r for r in data["patterns"] if show_all or r["verdicts"]]
    rows.sort(key=lambda r: (r["precision"] if r["precision"] is not None else 2.0, r["pattern_id"]))
    table = Table(title=f"library {data['library']}: {len(rows)} patterns" + ("" if show_all else " with verdicts"))
    table.add_column("pattern", overflow="fold")
    for column in ("category", "weight", "learned weight", "verdicts", "precision"):
        table.add_column(column)
    for r in rows:
        precision = "" if r["precision"] is None else f"{r['precision']:.2f}"
        table.add_row(r["pattern_id"], r["category"], f"{r['weight']:.2f}", f"{r['learned_weight']:.2f}",
                      str(r["verdicts"]), precision)
    out.print(table)


@app.command()
def feedback(path: Annotated[Path, typer.Argument(help="JSON lines of verdicts (see feedback.schema.json)")]) -> None:
    """Send analysts' verdicts to the models; malformed lines go to feedback.dlq with the reason."""
    from trailhound.ingest.verdicts import send_verdicts

    if not path.is_file():
        raise fail(f"no such file: {path}", 2)
    config = settings()
    try:
        counts = send_verdicts(config, path)
    except Exception as exc:
        raise fail(f"cannot send verdicts to Kafka at {config.kafka_bootstrap}: {exc}") from None
    out.print(f"sent {counts.accepted} verdicts, rejected {counts.rejected} (sent to "
              f"{config.topic('feedback.dlq')})")
    show_reasons(counts)


@app.command()
def synth(
    n: Annotated[int, typer.Option("--n", min=1, help="How many posts")] = 1000,
    seed: Annotated[int, typer.Option(help="Same seed, same posts")] = 7,
    out_path: Annotated[str, typer.Option("--out", help="File to write, or - for stdout")] = "-",
) -> None:
    """Write synthetic labelled posts (JSON lines) for demos, tests and warm starts."""
    from trailhound import synth as generator

    if out_path == "-":
        for post in generator.generate(n, seed):
            sys.stdout.write(json.dumps(post, ensure_ascii=False) + "\n")
    else:
        generator.write_jsonl(Path(out_path), n, seed)
        err.print(f"wrote {n} posts to {out_path}")


@app.command("warm-start")
def warm_start(
    n: Annotated[int | None, typer.Option(
        "--n", min=100, help="Synthetic posts to learn from (default: as many as a worker warm-starts from)")] = None,
    seed: Annotated[int | None, typer.Option(help="Generator seed (default: the worker's)")] = None,
    replace: Annotated[bool, typer.Option(help="Replace models that already learned verdicts")] = False,
) -> None:
    """Train the initial online models on synthetic labelled posts and store them for every worker."""
    from elasticsearch import Elasticsearch

    from trailhound.alerts.indices import prepare_indices
    from trailhound.connections import es_options
    from trailhound.streams.model_state import save_warm_start
    from trailhound.streams.warm_start import WARM_START_POSTS, WARM_START_SEED, warm_start_synthetic

    config = settings()
    models = warm_start_synthetic(n=WARM_START_POSTS if n is None else n,
                                  seed=WARM_START_SEED if seed is None else seed)
    prepare_indices(config)  # the models index takes its mapping from the templates
    es = Elasticsearch(config.elasticsearch_url, request_timeout=60, **es_options(config))
    try:
        saved = save_warm_start(es, config, models, replace=replace)
    finally:
        es.close()
    if not saved:
        raise fail("models that learned from verdicts are already stored; use --replace to start over")
    out.print(f"stored models {models.version}; workers started from now on begin with them")


@app.command()
def demo() -> None:
    """Start the local stack and a worker, replay the sample feed, and show the alerts it raised."""
    from trailhound.demo import run_demo

    try:
        run_demo(settings(), out)
    except Exception as exc:
        raise fail(str(exc)) from None


def main() -> None:
    app()

"""``trailhound alert …``: move one alert through its lifecycle, look at it, silence what it is about.

Each command is a thin wrapper over :class:`trailhound.alerts.lifecycle.AlertActions`, the same API the
console uses, so the CLI and the console cannot disagree about what a move means. An invalid move
exits with status 1 and says why.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from trailhound.commands_common import err, out
from trailhound.commands_common import settings as _settings
from trailhound.config import Settings

if TYPE_CHECKING:
    from trailhound.alerts.lifecycle import AlertActions

__all__ = ["app", "lifecycle_session"]

app = typer.Typer(help="Acknowledge, escalate, dismiss, resolve, show or silence alerts.", no_args_is_help=True)

By = Annotated[str, typer.Option("--by", help="Who does it (recorded with the move and in the audit log)")]
Note = Annotated[str, typer.Option("--note", help="Why (recorded with the move)")]



@asynccontextmanager
async def lifecycle_session(settings: Settings) -> AsyncIterator[AlertActions]:
    """An :class:`AlertActions` with its own Elasticsearch client and Kafka producer, closed afterwards."""
    from aiokafka import AIOKafkaProducer
    from elasticsearch import AsyncElasticsearch

    from trailhound.alerts.lifecycle import AlertActions

    es = AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    producer = AIOKafkaProducer(bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        yield AlertActions(settings, es, producer)
    finally:
        await producer.stop()
        await es.close()


def _run(step: Callable[[Any], Awaitable[dict[str, Any]]]) -> dict[str, Any]:
    from trailhound.alerts.lifecycle import AlertNotFound, InvalidTransition
    from trailhound.alerts.partners import RoutingError

    async def go() -> dict[str, Any]:
        async with lifecycle_session(_settings()) as actions:
            return await step(actions)

    try:
        return asyncio.run(go())
    except (InvalidTransition, AlertNotFound, RoutingError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _report(alert: dict[str, Any]) -> None:
    details = alert["trailhound"]
    last = (details.get("lifecycle") or [{}])[-1]
    out.print(f"alert {alert['event']['id']}: {details['status']}"
              + (f" (by {last.get('by')}{', to ' + ', '.join(last['partners']) if last.get('partners') else ''})"
                 if last else ""))


@app.command("ack")
def acknowledge(alert_id: str, by: By, note: Note = "") -> None:
    """Take an alert on (new → acknowledged)."""
    _report(_run(lambda a: a.acknowledge(alert_id, by, note)))


@app.command("escalate")
def escalate(alert_id: str, by: By, note: Note = "",
             partner: Annotated[list[str] | None, typer.Option(help="Partner id (repeat); default: the rules")] = None,
             ) -> None:
    """Send an alert to partners (those its routing rules name, or --partner) and mark it escalated."""
    _report(_run(lambda a: a.escalate(alert_id, by, note, partners=partner or None)))


@app.command("dismiss")
def dismiss(alert_id: str, by: By,
            note: Annotated[str, typer.Option("--note", help="Why it is a false alarm (required)")],
            label: Annotated[str, typer.Option(help="Verdict for the models")] = "benign") -> None:
    """Close a false alarm; the models learn the verdict and partners holding it are told it is withdrawn."""
    _report(_run(lambda a: a.dismiss(alert_id, by, note, label)))


@app.command("resolve")
def resolve(alert_id: str, by: By, note: Note = "") -> None:
    """Close an alert that was dealt with; partners holding it are told."""
    _report(_run(lambda a: a.resolve(alert_id, by, note)))


@app.command("show")
def show(alert_id: str, by: By) -> None:
    """Print an alert in full, personal data in clear; the view is written to the audit log."""
    from trailhound.alerts.policy import FIELDS

    async def step(actions: Any) -> dict[str, Any]:
        alert, _ = await actions.get(alert_id)
        shown = [name for name, get in FIELDS.items() if get(alert) not in (None, "", [])]
        await actions.audit.record_view(by, alert_id, shown, "trailhound alert show")
        return alert

    print(json.dumps(_run(step), ensure_ascii=False, indent=2))


@app.command("silence")
def silence(kind: Annotated[str, typer.Argument(help="contact, pattern or cluster")],
            value: Annotated[str, typer.Argument(help="e.g. phone:+15550123456, a pattern id, a cluster id")],
            by: By, note: Annotated[str, typer.Option("--note", help="Why (required)")],
            hours: Annotated[float, typer.Option(help="How long", min=0.01)] = 24.0) -> None:
    """Stop raising alerts about a contact, pattern or cluster for a while (matches are still recorded)."""
    import time

    from trailhound.timefmt import iso

    result = _run(lambda a: a.silence(kind, value, by, note, time.time() + hours * 3600))
    out.print(f"silenced {kind} {value} until {iso(result['until'])} (id {result['id']})")

"""``trailhound escalations list|retry`` and ``trailhound escalator``: deliveries to partners.

``list`` shows each delivery's state from ``trailhound-escalations``; ``retry`` puts parked deliveries
back to pending so the running escalator sends them again (its sweeper picks them up within seconds).
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any

import typer
from rich.table import Table

from trailhound.alerts.deliveries import STATES
from trailhound.commands_common import err, fail, out
from trailhound.commands_common import settings as _settings

__all__ = ["app", "escalator"]

app = typer.Typer(help="See and retry deliveries to partners.", no_args_is_help=True)



def _query(state: str | None, partner: str | None, alert: str | None) -> dict[str, Any]:
    filters = [{"term": {name: value}} for name, value in (("state", state), ("partner", partner),
                                                         ("alert_id", alert)) if value]
    return {"bool": {"filter": filters}}


@app.command("list")
def list_deliveries(
    state: Annotated[str | None, typer.Option(help=", ".join(STATES))] = None,
    partner: Annotated[str | None, typer.Option(help="Only this partner")] = None,
    alert: Annotated[str | None, typer.Option(help="Only this alert id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON document per line")] = False,
) -> None:
    """Each delivery with its state, attempts and last error, newest first."""
    from elasticsearch import Elasticsearch, NotFoundError

    from trailhound.timefmt import iso

    if state and state not in STATES:
        raise fail(f"--state must be one of {', '.join(STATES)}", 2)
    config = _settings()
    with Elasticsearch(config.elasticsearch_url) as es:
        try:
            hits = es.search(index=config.index("escalations"), query=_query(state, partner, alert), size=limit,
                             sort=[{"created": "desc"}])["hits"]["hits"]
        except NotFoundError:
            hits = []
    found = [h["_source"] for h in hits]
    if as_json:
        for delivery in found:
            sys.stdout.write(json.dumps({k: v for k, v in delivery.items() if k != "record"}) + "\n")
        return
    table = Table(title=f"{len(found)} deliveries")
    for column in ("created", "delivery", "alert", "partner", "kind", "tier", "state", "attempts", "last error"):
        table.add_column(column)
    for d in found:
        table.add_row(iso(d["created"])[:19], d["delivery_id"], d["alert_id"], d["partner"], d["kind"],
                      str(d.get("tier", 0) + 1), d["state"], str(d.get("attempts", 0)),
                      (d.get("last_error") or "")[:60])
    out.print(table)


@app.command("retry")
def retry(
    delivery_ids: Annotated[list[str] | None, typer.Argument(help="Delivery ids (default: all parked)")] = None,
    partner: Annotated[str | None, typer.Option(help="Only parked deliveries to this partner")] = None,
) -> None:
    """Send parked deliveries again: they go back to pending and the escalator retries them."""
    import asyncio

    from elasticsearch import AsyncElasticsearch

    from trailhound.alerts.delivery_store import DeliveryStore

    config = _settings()
    filters: list[dict[str, Any]] = [{"term": {"state": "parked"}}]
    if delivery_ids:
        filters.append({"ids": {"values": delivery_ids}})
    if partner:
        filters.append({"term": {"partner": partner}})

    async def again() -> int:
        async with AsyncElasticsearch(config.elasticsearch_url) as es:
            store = DeliveryStore(config, es)
            await es.options(ignore_status=404).indices.refresh(index=store.index)
            parked = await store.search({"bool": {"filter": filters}}, size=10000)
            return await store.send_again([d["delivery_id"] for d in parked])

    updated = asyncio.run(again())
    out.print(f"{updated} parked deliveries will be sent again by the escalator")
    if delivery_ids and updated < len(delivery_ids):
        err.print("some ids were not parked deliveries (see trailhound escalations list --state parked)")
        raise typer.Exit(1)


def escalator(loglevel: Annotated[str, typer.Option(help="debug, info, warning")] = "info") -> None:
    """Deliver escalations to partners (outbox → webhooks and e-mail), serving acknowledgement links."""
    import logging

    from trailhound.alerts.partners import RoutingError
    from trailhound.streams.escalator import run_escalator

    logging.basicConfig(level=loglevel.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for chatty in ("elastic_transport", "httpx", "aiohttp.access", "kafka", "aiokafka"):
        # a line per request would be written on the event loop and, measured, triples delivery latency
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        run_escalator(_settings())
    except RoutingError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None

"""``trailhound watchlist …`` and ``trailhound evidence …``: partners' watchlists and kept evidence.

``watchlist load FILE`` checks every line (a bad line stops the load, with its number and why) and
publishes the entries on the compacted ``watchlist`` topic that every worker follows, so a match alerts
within seconds on all workers and survives their restarts. ``evidence verify ALERT_ID`` re-computes the
SHA-256 of every post an alert covers from the evidence index and says, post by post, whether what is
kept is what was captured.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from trailhound.commands_common import err, out
from trailhound.commands_common import settings as _settings

__all__ = ["evidence_app", "watchlist_app"]

watchlist_app = typer.Typer(help="Load partners' watchlists (phones, e-mails, handles, image hashes).",
                            no_args_is_help=True)
evidence_app = typer.Typer(help="Check the evidence kept for alerted posts.", no_args_is_help=True)



@watchlist_app.command("load")
def load(path: Annotated[Path, typer.Argument(help="JSON lines: kind, value, case_ref, partner, visible_to")]) -> None:
    """Check a watchlist file and publish its entries to every worker."""
    from trailhound.detectors.linkage.watchlist import WatchlistError, parse_entries
    from trailhound.topics import ensure_topics, kafka_producer

    config = _settings()
    try:
        entries = parse_entries(path.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError) as exc:
        err.print(f"[red]error:[/red] cannot read {path}: {exc}")
        raise typer.Exit(1) from None
    except WatchlistError as exc:
        err.print(f"[red]error:[/red] {path}: {exc}; nothing was loaded")
        raise typer.Exit(1) from None
    ensure_topics(config)
    producer = kafka_producer(config, "trailhound-watchlist")
    try:
        for entry in entries:
            producer.send(config.topic("watchlist"), key=entry.entry_id.encode("ascii"),
                          value=json.dumps(entry.to_json(), ensure_ascii=False).encode("utf-8"))
        producer.flush(timeout=30)
    finally:
        producer.close()
    kinds: dict[str, int] = {}
    for entry in entries:
        kinds[entry.kind] = kinds.get(entry.kind, 0) + 1
    summary = ", ".join(f"{n} {kind}{'s' if n > 1 else ''}" for kind, n in sorted(kinds.items()))
    out.print(f"loaded {len(entries)} watchlist entries ({summary or 'none'})")


@evidence_app.command("verify")
def verify(alert_id: Annotated[str, typer.Argument(help="The alert's event.id")]) -> None:
    """Check that the evidence kept for every post of an alert still matches its SHA-256."""
    from elasticsearch import Elasticsearch, NotFoundError

    from trailhound.alerts.linkage_alerts import evidence_id, verify_evidence

    config = _settings()
    with Elasticsearch(config.elasticsearch_url, request_timeout=30) as es:
        try:
            hits = es.search(index=config.index("alerts"), query={"term": {"event.id": alert_id}}, size=1)
        except NotFoundError:
            hits = {"hits": {"hits": []}}
        found = hits["hits"]["hits"]
        if not found:
            err.print(f"[red]error:[/red] no alert {alert_id}")
            raise typer.Exit(1)
        post_ids = found[0]["_source"]["trailhound"].get("post_ids", [])
        response = es.options(ignore_status=404).mget(index=config.index("evidence"),
                                                       ids=[evidence_id(p) for p in post_ids]) if post_ids else {}
    records = {d["_source"]["post_key"]: d["_source"] for d in response.get("docs", []) if d.get("found")}
    bad = 0
    for post_key in post_ids:
        record = records.get(post_key)
        if record is None:
            out.print(f"MISSING   {post_key}: no evidence kept")
            bad += 1
        elif verify_evidence(record):
            out.print(f"OK        {post_key}: sha256 {record['sha256'][:16]}… captured {record['captured_at']}")
        else:
            out.print(f"MISMATCH  {post_key}: the kept bytes no longer match sha256 {record['sha256'][:16]}…")
            bad += 1
    out.print(f"{len(post_ids) - bad} of {len(post_ids)} posts verified")
    if bad:
        raise typer.Exit(1)

"""``trailhound connect``: connectors that bring real feeds into the pipeline on a schedule."""

from __future__ import annotations

import logging
from typing import Annotated

import typer
from rich.console import Console

from trailhound.config import Settings, SettingsError

__all__ = ["app"]

app = typer.Typer(help="Poll external feeds into posts.raw.", no_args_is_help=True)
out = Console()


@app.command("feed")
def feed(
    url: Annotated[str, typer.Argument(help="An RSS, Atom or JSON feed (http or https)")],
    every: Annotated[str, typer.Option(help="Time between polls: 60s, 5m, 1h")] = "60s",
    source: Annotated[str | None, typer.Option(help="The posts' source name (default: the feed's host)")] = None,
    once: Annotated[bool, typer.Option(help="Poll once and exit")] = False,
) -> None:
    """Poll a feed, sending each entry not seen before as a post (remembered across restarts)."""
    from trailhound.ingest.feeds import FeedPoller, parse_duration

    try:
        settings = Settings.from_env()
        every_s = parse_duration(every)
    except (SettingsError, ValueError) as exc:
        out.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from None
    if not url.startswith(("http://", "https://")):
        out.print("[red]error:[/red] the feed URL must start with http:// or https://")
        raise typer.Exit(2)
    logging.basicConfig(level=logging.WARNING)
    poller = FeedPoller(settings, url, every_s, source)
    try:
        poller.run(polls=1 if once else None, report=out.print)
    except KeyboardInterrupt:
        pass
    finally:
        poller.close()
    if once and poller.failures:
        raise typer.Exit(1)

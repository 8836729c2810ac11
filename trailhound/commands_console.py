"""``trailhound console``: serve the operations-center console, and create its accounts.

The first admin has to come from somewhere the console cannot be reached without: this command, run by
whoever runs the servers. Further accounts are made by an admin in the console (Accounts) or here.
"""

from __future__ import annotations

import asyncio
import getpass
from typing import Annotated

import typer
from elasticsearch import AsyncElasticsearch

from trailhound.commands_common import err, out
from trailhound.commands_common import settings as _settings
from trailhound.config import Settings

__all__ = ["app"]

app = typer.Typer(help="The operations-center console (web).", invoke_without_command=True)



@app.callback()
def serve(ctx: typer.Context) -> None:
    """Serve the console (TRAILHOUND_CONSOLE_PORT) until interrupted."""
    if ctx.invoked_subcommand is not None:
        return
    from trailhound.console.server import run_console

    settings = _settings()
    out.print(f"console on http://{settings.bind_host}:{settings.console_port}  "
              f"(metrics on :{settings.console_metrics_port}/metrics)")
    run_console(settings)


def _password(given: str | None) -> str:
    if given:
        return given
    first = getpass.getpass("password (12+ characters): ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the passwords differ")
    return first


async def _create(settings: Settings, username: str, password: str, role: str) -> None:
    from trailhound.console.users import UserStore

    async with AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30) as es:
        await UserStore(settings, es).create(username, password, role, created_by="cli")


def create_account(settings: Settings, username: str, password: str, role: str) -> None:
    from trailhound.console.users import UserError

    try:
        asyncio.run(_create(settings, username.strip().lower(), password, role))
    except UserError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None
    out.print(f"created {role} {username.strip().lower()}")


PasswordOption = Annotated[str | None, typer.Option(help="Prompted for when not given")]


@app.command("create-admin")
def create_admin(username: Annotated[str, typer.Argument()] = "admin", password: PasswordOption = None) -> None:
    """Create the first admin account (who can then create the others in the console)."""
    create_account(_settings(), username, _password(password), "admin")


@app.command("create-user")
def create_user(username: str, role: Annotated[str, typer.Option(help="analyst, supervisor or admin")] = "analyst",
                password: PasswordOption = None) -> None:
    """Create an analyst, supervisor or admin account."""
    create_account(_settings(), username, _password(password), role)

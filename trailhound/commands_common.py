"""What every command module shares: where it prints, how it reads the settings and how it fails.

One place, so every ``trailhound`` command reports a bad environment variable the same way (exit 2)
and piped output is never cut to 80 columns.
"""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from trailhound.config import Settings, SettingsError

__all__ = ["err", "fail", "out", "settings"]

out = Console(width=None if sys.stdout.isatty() else 200)  # piped output is not cut to 80 columns
err = Console(stderr=True)


def settings() -> Settings:
    """The settings from the environment, or exit 2 with the reason."""
    try:
        return Settings.from_env()
    except SettingsError as exc:
        err.print(f"[red]configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def fail(message: str, code: int = 1) -> typer.Exit:
    """The exit to raise after printing ``message`` as an error."""
    err.print(f"[red]error:[/red] {message}")
    return typer.Exit(code)

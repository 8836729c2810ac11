"""Console accounts on the real Elasticsearch: the first admin from the CLI, hashes, the demo sign-in."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

from elasticsearch import AsyncElasticsearch, Elasticsearch

from tests.helpers import run_cli
from trailhound.config import Settings
from trailhound.console.users import User, UserStore
from trailhound.demo import DEMO_ANALYST, demo_account


def authenticate(settings: Settings, username: str, password: str) -> User | None:
    async def check() -> User | None:
        async with AsyncElasticsearch(settings.elasticsearch_url) as es:
            return await UserStore(settings, es).authenticate(username, password)

    return asyncio.run(check())


def test_the_cli_creates_the_first_admin_with_a_hashed_password(settings: Settings, es: Elasticsearch) -> None:
    made = run_cli(settings, "console", "create-admin", "Boss", "--password", "correct horse battery")
    assert made.returncode == 0, made.stdout + made.stderr
    stored = es.get(index=settings.index("users"), id="boss")["_source"]
    assert stored["role"] == "admin" and stored["password_hash"].startswith("$argon2id$")
    assert "correct horse" not in str(stored)
    assert authenticate(settings, "boss", "correct horse battery") == User("boss", "admin")
    assert authenticate(settings, "boss", "correct horse batterY") is None
    assert authenticate(settings, "nobody", "correct horse battery") is None

    again = run_cli(settings, "console", "create-admin", "boss", "--password", "another long password")
    assert again.returncode == 1 and "exists already" in again.stderr
    short = run_cli(settings, "console", "create-user", "ana", "--password", "short")
    assert short.returncode == 1 and "12 characters" in short.stderr
    role = run_cli(settings, "console", "create-user", "ana", "--role", "root", "--password", "long enough password")
    assert role.returncode == 1 and "role must be one of" in role.stderr
    assert authenticate(settings, "boss", "another long password") is None


def test_the_demo_sign_in_is_made_once_and_shown_again(settings: Settings, tmp_path: Path) -> None:
    settings = replace(settings, cache_dir=tmp_path)
    password = demo_account(settings)
    assert password and authenticate(settings, DEMO_ANALYST, password) == User(DEMO_ANALYST, "supervisor")
    assert demo_account(settings) == password  # a second demo run prints the same sign-in
    (tmp_path / f"console-{settings.namespace}-demo-password").unlink()
    assert demo_account(settings) is None  # made earlier, password no longer known: not invented

"""Console accounts in Elasticsearch (``trailhound-users``), with argon2 password hashes and roles.

Accounts live beside the alerts so every console instance and the ``trailhound console create-admin``
command see the same users without another database. Passwords are hashed with argon2id through
argon2-cffi (the reference implementation's bindings, with its recommended parameters and automatic
re-hashing when they change), so a leaked index does not reveal them.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from elasticsearch import AsyncElasticsearch, NotFoundError

from trailhound.config import Settings
from trailhound.timefmt import iso

__all__ = ["ROLES", "User", "UserError", "UserStore", "role_allows"]

ROLES = ("analyst", "supervisor", "admin")
"""Each role can do everything the roles before it can."""

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,62}$")
MIN_PASSWORD = 12

USERS_MAPPING: dict[str, Any] = {
    "dynamic": "false",
    "properties": {
        "username": {"type": "keyword"}, "role": {"type": "keyword"}, "disabled": {"type": "boolean"},
        "password_hash": {"type": "keyword", "index": False}, "created_at": {"type": "date"},
        "created_by": {"type": "keyword"},
    },
}

_hasher = PasswordHasher()
# Verifying against this keeps a sign-in with an unknown name as slow as one with a wrong password.
_DUMMY_HASH = _hasher.hash("not a password of anyone")


class UserError(ValueError):
    """An account cannot be created as asked (bad name, weak password, unknown role, exists)."""


def role_allows(role: str, needed: str) -> bool:
    """Whether ``role`` includes the rights of ``needed``."""
    return role in ROLES and ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class User:
    """A signed-in person: who, and what they may do."""

    username: str
    role: str

    def can(self, needed: str) -> bool:
        return role_allows(self.role, needed)


class UserStore:
    """Create and check console accounts."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch) -> None:
        self.es = es
        self.index = settings.index("users")

    async def ensure_index(self) -> None:
        if not await self.es.indices.exists(index=self.index):
            try:
                await self.es.indices.create(index=self.index, mappings=USERS_MAPPING,
                                             settings={"number_of_shards": 1, "number_of_replicas": 0})
            except Exception as exc:  # another console instance created it first
                if "resource_already_exists" not in str(exc):
                    raise

    async def create(self, username: str, password: str, role: str, created_by: str) -> User:
        """A new account; refuses an existing name, an unknown role or a short password."""
        if not USERNAME.match(username):
            raise UserError("user names are 2-63 lower-case letters, digits, '.', '_' or '-'")
        if role not in ROLES:
            raise UserError(f"role must be one of {', '.join(ROLES)}")
        if len(password) < MIN_PASSWORD:
            raise UserError(f"passwords need at least {MIN_PASSWORD} characters")
        await self.ensure_index()
        document = {"username": username, "role": role, "disabled": False, "password_hash": _hasher.hash(password),
                    "created_at": iso(time.time()), "created_by": created_by}
        try:
            await self.es.create(index=self.index, id=username, document=document, refresh="wait_for")
        except Exception as exc:
            if "version_conflict" in str(exc):
                raise UserError(f"user {username!r} exists already") from None
            raise
        return User(username, role)

    async def authenticate(self, username: str, password: str) -> User | None:
        """The user if the password is right and the account is active, else None (same cost either way)."""
        try:
            source = (await self.es.get(index=self.index, id=username))["_source"]
        except NotFoundError:
            source = None
        stored = source["password_hash"] if source else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if source is None or source.get("disabled"):
            return None
        if _hasher.check_needs_rehash(stored):
            await self.es.update(index=self.index, id=username, doc={"password_hash": _hasher.hash(password)})
        return User(username, source["role"])

    async def get(self, username: str) -> User | None:
        """The active account ``username`` (sessions re-check it, so disabling takes effect at once)."""
        try:
            source = (await self.es.get(index=self.index, id=username))["_source"]
        except NotFoundError:
            return None
        return None if source.get("disabled") else User(username, source["role"])

    async def list(self) -> list[dict[str, Any]]:
        await self.ensure_index()
        hits = (await self.es.search(index=self.index, size=1000, sort=[{"username": "asc"}],
                                     source_excludes=["password_hash"]))["hits"]["hits"]
        return [hit["_source"] for hit in hits]

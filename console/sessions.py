"""Signed-in sessions: an unguessable cookie, a CSRF token and the analyst's verdict-signing key.

Sessions are held in the console process (a restart signs everyone out, which suits one console per
operations center; the cookie alone is worthless without the server-side record). Only a hash of the
cookie value is kept, so a memory dump does not hand out live sessions. The count of live sessions is
the ``trailhound_console_sessions`` gauge operators watch in Grafana.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Gauge

from trailhound.clock import Clock, system_clock
from trailhound.console.users import User

__all__ = ["COOKIE", "Session", "SessionStore"]

COOKIE = "trailhound_session"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass
class Session:
    """One signed-in browser."""

    user: User
    csrf_token: str
    expires_at: float
    revealed: set[str] = field(default_factory=set)

    def csrf_matches(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(self.csrf_token.encode(), token.encode())


class SessionStore:
    """Creates, finds and ends sessions; expired ones vanish on their own."""

    def __init__(self, lifetime_s: float, registry: CollectorRegistry, clock: Clock = system_clock) -> None:
        self.lifetime_s = lifetime_s
        self.clock = clock
        self._sessions: dict[str, Session] = {}
        self.gauge = Gauge("trailhound_console_sessions", "Signed-in console sessions", registry=registry)
        self.gauge.set_function(self.count)

    def start(self, user: User) -> tuple[str, Session]:
        """A new session for ``user``; returns the cookie value (shown once, never stored) and the session."""
        token = secrets.token_urlsafe(32)
        session = Session(user, secrets.token_urlsafe(32), self.clock() + self.lifetime_s)
        self._sessions[_digest(token)] = session
        return token, session

    def find(self, token: str | None) -> Session | None:
        if not token:
            return None
        key = _digest(token)
        session = self._sessions.get(key)
        if session is not None and session.expires_at <= self.clock():
            del self._sessions[key]
            return None
        return session

    def end(self, token: str | None) -> None:
        if token:
            self._sessions.pop(_digest(token), None)

    def end_all_of(self, username: str) -> None:
        for key in [k for k, s in self._sessions.items() if s.user.username == username]:
            del self._sessions[key]

    def count(self) -> int:
        now = self.clock()
        for key in [k for k, s in self._sessions.items() if s.expires_at <= now]:
            del self._sessions[key]
        return len(self._sessions)

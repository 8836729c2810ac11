"""The append-only audit log: who disclosed or changed what, when, about which alert.

Every escalation to a partner (with the fields disclosed and how), every lifecycle change and every
view of clear-text personal data is one document in ``trailhound-audit``, written with ``create`` so
an entry is never overwritten. Entries about one event carry a deterministic id, so a retry after a
crash finds the entry already there instead of writing a second one.
"""

from __future__ import annotations

import contextlib
import uuid
from typing import Any

from elasticsearch import AsyncElasticsearch, ConflictError

from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.timefmt import iso

__all__ = ["AuditLog"]


class AuditLog:
    """Writes audit entries; never updates or deletes one."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, clock: Clock = system_clock) -> None:
        self.index = settings.index("audit")
        self.es = es
        self.clock = clock

    def entry(self, action: str, actor: str, alert_id: str | None, *, fields: dict[str, str] | None = None,
              partner: str | None = None, detail: str = "", entry_id: str | None = None,
              extra: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """The id and document of one entry, for :meth:`record` or a caller's own bulk request (``create``)."""
        document = {"@timestamp": iso(self.clock()), "action": action, "actor": actor, "alert_id": alert_id,
                    "partner": partner, "fields_disclosed": sorted(fields or {}), "disclosure": fields or {},
                    "detail": detail, **(extra or {})}
        return entry_id or uuid.uuid4().hex, document

    async def record(self, action: str, actor: str, alert_id: str | None, **details: Any) -> str:
        """Append one entry (see :meth:`entry`); an ``entry_id`` makes the write idempotent. Returns its id."""
        doc_id, document = self.entry(action, actor, alert_id, **details)
        await self.write(doc_id, document)
        return doc_id

    async def write(self, doc_id: str, document: dict[str, Any]) -> None:
        with contextlib.suppress(ConflictError):  # written before a crash or by a retry: already in the log
            await self.es.create(index=self.index, id=doc_id, document=document)

    async def record_view(self, actor: str, alert_id: str, fields: list[str], where: str) -> str:
        """A person saw these fields of an alert in clear (console, CLI)."""
        return await self.record("view", actor, alert_id, fields={f: "clear" for f in fields}, detail=where)

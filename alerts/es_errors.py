"""What an Elasticsearch failure means for the data: wait it out, split the request, or give up on it.

Why it exists: retrying everything stalls the stream forever on an error that can never go away (a
request too large, a document the client cannot serialise), and giving up on everything loses data
whenever Elasticsearch is briefly away or its credentials are being rotated. Each failure is sorted
into one :class:`ErrorKind`, and every caller (bulk sink, verdict learning, start-up) acts on the kind:

* ``TRANSIENT`` — connection refused or cut, timeout, 429, 5xx: wait and retry;
* ``CREDENTIALS`` — 401/403: an operator must fix the credentials or roles; nothing else can be done
  meanwhile, so wait too (the stream stalls and lag alerts fire), never drop and never mark handled;
* ``TOO_LARGE`` — 413: the same request will always fail; send it in smaller parts;
* ``PERMANENT`` — any other 4xx, a serialisation error in the client, a malformed response: the
  request itself is wrong; narrow it down to the documents at fault and dead-letter those.
"""

from __future__ import annotations

import enum

from elasticsearch import ApiError, SerializationError, TransportError

__all__ = ["ErrorKind", "classify", "worth_waiting"]

TRANSIENT_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


class ErrorKind(enum.Enum):
    TRANSIENT = "transient"
    CREDENTIALS = "credentials"
    TOO_LARGE = "too large"
    PERMANENT = "permanent"


def classify(exc: BaseException) -> ErrorKind:
    """The kind of an exception raised by the Elasticsearch client (anything else is permanent)."""
    if isinstance(exc, ApiError):
        status = exc.meta.status
        if status in TRANSIENT_STATUSES:
            return ErrorKind.TRANSIENT
        if status in (401, 403):
            return ErrorKind.CREDENTIALS
        if status == 413:
            return ErrorKind.TOO_LARGE
        return ErrorKind.PERMANENT
    if isinstance(exc, SerializationError):  # a TransportError subclass, but raised before anything is sent
        return ErrorKind.PERMANENT
    if isinstance(exc, TransportError):
        return ErrorKind.TRANSIENT
    return ErrorKind.PERMANENT


def worth_waiting(exc: BaseException) -> bool:
    """Whether to wait and retry the same request (transient trouble or credentials being fixed)."""
    return classify(exc) in (ErrorKind.TRANSIENT, ErrorKind.CREDENTIALS)

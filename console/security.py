"""Nothing without sign-in, no state change without the session's CSRF token, and safe response headers.

One aiohttp middleware guards every route, so a new page or API call is protected by default: only
the sign-in page and static files are public. Browsers send the session cookie (HTTP-only, Secure,
SameSite=Strict) by themselves; a state-changing request must also carry the session's CSRF token (the
``X-CSRF-Token`` header from the page's JavaScript, or a ``csrf`` form field) and, when the browser says
where it comes from, come from the console's own origin.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web

from trailhound.console.sessions import COOKIE, Session, SessionStore
from trailhound.console.users import UserStore

__all__ = ["LOGIN_COOKIE", "guard", "new_login_token", "set_cookie"]

LOGIN_COOKIE = "trailhound_login"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
PUBLIC = ("/login",)
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def set_cookie(response: web.StreamResponse, name: str, value: str, max_age: int | None = None) -> None:
    response.set_cookie(name, value, max_age=max_age, path="/", httponly=True, secure=True, samesite="Strict")


def new_login_token() -> str:
    return secrets.token_urlsafe(24)


def _same_origin(request: web.Request) -> bool:
    origin = request.headers.get("Origin")
    if origin is None or origin == "null":
        return origin is None
    return urlsplit(origin).netloc == request.host


async def _form_token(request: web.Request) -> str | None:
    if request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await request.post()).get("csrf")
        return value if isinstance(value, str) else None
    return None


def _refuse(request: web.Request, status: int, message: str) -> web.StreamResponse:
    if request.path.startswith("/api/"):
        return web.json_response({"error": message}, status=status)
    if status == 401:
        raise web.HTTPSeeOther("/login")
    return web.Response(status=status, text=message)


def guard(sessions: SessionStore, users: UserStore) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        public = request.path in PUBLIC or request.path.startswith("/static/")
        session: Session | None = sessions.find(request.cookies.get(COOKIE))
        if session is not None and await users.get(session.user.username) is None:  # disabled since sign-in
            sessions.end(request.cookies.get(COOKIE))
            session = None
        if session is None and not public:
            return _refuse(request, 401, "sign in first")
        request["session"] = session
        if request.method not in SAFE_METHODS:
            if not _same_origin(request):
                return _refuse(request, 403, "cross-origin request refused")
            token = request.headers.get("X-CSRF-Token") or await _form_token(request)
            if request.path == "/login":
                expected = request.cookies.get(LOGIN_COOKIE)
                valid = bool(expected and token and hmac.compare_digest(expected.encode(), token.encode()))
            else:
                valid = session is not None and session.csrf_matches(token)
            if not valid:
                return _refuse(request, 403, "missing or wrong CSRF token: reload the page")
        response = await handler(request)
        if response.prepared:  # a stream (server-sent events) has sent its headers already
            return response
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if not request.path.startswith("/static/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware

"""The console's aiohttp application: pages, the JSON API the pages and scripts share, and start-up.

aiohttp serves it because the whole stack is asyncio already (the Faust worker and the ingest server
use it), so the console talks to Elasticsearch and Kafka with the same async clients. Pages are rendered
on the server with Jinja2 (auto-escaping on: post texts are untrusted input) and a small script per page
adds the live queue and the actions; every action is a JSON API call that scripts can make too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import jinja2
from aiohttp import web
from elasticsearch import AsyncElasticsearch, NotFoundError
from prometheus_client import CollectorRegistry, generate_latest

from trailhound.clock import Clock, system_clock
from trailhound.config import Settings
from trailhound.console.actions import AlertLifecycle, InvalidTransition, lifecycle_actions
from trailhound.console.evidence import contact_spans, mask, pieces
from trailhound.console.live import QUEUE_FILTERS, QUEUE_SORT, AlertFeed, queue_query, sse_stream, summary
from trailhound.console.records import LABELS, Records
from trailhound.console.security import LOGIN_COOKIE, guard, new_login_token, set_cookie
from trailhound.console.sessions import COOKIE, Session, SessionStore
from trailhound.console.users import ROLES, User, UserError, UserStore
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.library import BUNDLED_PATTERNS, LibraryError, PatternLibrary
from trailhound.detectors.matcher import PatternMatcher
from trailhound.detectors.normalize import normalize
from trailhound.schemas import post_text
from trailhound.signing import worker_token

__all__ = ["Console", "build_console", "run_console"]

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8"


class Console:
    """Everything a request handler needs, created once per application."""

    def __init__(self, settings: Settings, es: AsyncElasticsearch, clock: Clock = system_clock) -> None:
        self.settings = settings
        self.es = es
        self.clock = clock
        self.registry = CollectorRegistry()
        self.users = UserStore(settings, es)
        self.sessions = SessionStore(settings.console_session_hours * 3600, self.registry, clock)
        self.records = Records(settings, es, clock)
        self.lifecycle: AlertLifecycle = lifecycle_actions(settings, es, self.records.sender, clock)
        self.feed = AlertFeed(settings, es, self.registry)
        self.templates = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"),
                                            autoescape=True)
        self.library = _starting_library(settings)
        self.category_labels = ({c.id: c.label for c in self.library.categories.values()} if self.library else {}) \
            | {"learned_text": "learned wording", "network": "network", "watchlist": "watchlist"}
        self._matcher: PatternMatcher | None = None

    def matcher(self) -> PatternMatcher | None:
        """The compiled library (compiled on first use: only alerts covering several posts need it)."""
        if self._matcher is None and self.library is not None:
            self._matcher = PatternMatcher(self.library)
        return self._matcher

    def page(self, request: web.Request, template: str, **context: Any) -> web.Response:
        session: Session | None = request.get("session")
        html = self.templates.get_template(template).render(
            user=session.user if session else None, csrf=session.csrf_token if session else "",
            path=request.path, **context)
        return web.Response(text=html, content_type="text/html")

    @property
    def worker_url(self) -> str:
        return self.settings.worker_url or f"http://127.0.0.1:{self.settings.worker_web_port}"


def _starting_library(settings: Settings) -> PatternLibrary | None:
    """The library workers start with: readable category names, and evidence for a cluster's posts."""
    try:
        return PatternLibrary.load(settings.patterns_dir or BUNDLED_PATTERNS)
    except LibraryError:  # labels and cluster highlights are niceties; the alert's own evidence still shows
        log.warning("pattern library could not be loaded; showing raw category names", exc_info=True)
        return None


def _user(request: web.Request, needed: str = "analyst") -> User:
    session: Session = request["session"]
    if not session.user.can(needed):
        raise web.HTTPForbidden(text=f"this needs the {needed} role")
    return session.user


# --- sign-in ---------------------------------------------------------------------------------------

async def login_page(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    if request.get("session") is not None:
        raise web.HTTPSeeOther("/")
    token = request.cookies.get(LOGIN_COOKIE) or new_login_token()  # two tabs (or a favicon fetch) share one
    response = console.page(request, "login.html", login_csrf=token, error=request.query.get("error", ""))
    set_cookie(response, LOGIN_COOKIE, token, max_age=3600)
    return response


async def login(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    form = await request.post()
    user = await console.users.authenticate(str(form.get("username", "")).strip().lower(),
                                            str(form.get("password", "")))
    if user is None:
        await asyncio.sleep(0.5)  # a little friction for guessing
        raise web.HTTPSeeOther("/login?" + urlencode({"error": "Wrong user name or password."}))
    token, _ = console.sessions.start(user)
    response = web.HTTPSeeOther("/")
    set_cookie(response, COOKIE, token, max_age=int(console.settings.console_session_hours * 3600))
    response.del_cookie(LOGIN_COOKIE, path="/")
    raise response


async def logout(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    console.sessions.end(request.cookies.get(COOKIE))
    response = web.HTTPSeeOther("/login")
    response.del_cookie(COOKIE, path="/")
    raise response


# --- the queue -------------------------------------------------------------------------------------

def _filters(request: web.Request) -> dict[str, str]:
    return {name: request.query[name] for name in QUEUE_FILTERS if request.query.get(name)}


async def _queue(console: Console, filters: dict[str, str], size: int = 200) -> list[dict[str, Any]]:
    try:
        hits = (await console.es.search(index=console.settings.index("alerts"), query=queue_query(filters),
                                        sort=QUEUE_SORT, size=size))["hits"]["hits"]
    except NotFoundError:
        return []
    return [summary(hit["_source"]) for hit in hits]


async def _facets(console: Console) -> dict[str, list[str]]:
    """The values each filter can take, from the alerts themselves."""
    try:
        response = await console.es.search(index=console.settings.index("alerts"), size=0, aggs={
            name: {"terms": {"field": field, "size": 100, "order": {"_key": "asc"}}}
            for name, field in QUEUE_FILTERS.items()})
    except NotFoundError:
        return {name: [] for name in QUEUE_FILTERS}
    return {name: [b["key"] for b in response["aggregations"][name]["buckets"]] for name in QUEUE_FILTERS}


async def queue_page(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    filters = _filters(request)
    rows, facets = await asyncio.gather(_queue(console, filters), _facets(console))
    return console.page(request, "queue.html", rows=rows, facets=facets, filters=filters,
                        labels=console.category_labels)


async def api_alerts(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    return web.json_response({"alerts": await _queue(console, _filters(request))})


async def api_stream(request: web.Request) -> web.StreamResponse:
    console: Console = request.app["console"]
    return await sse_stream(request, console.feed)


# --- one alert -------------------------------------------------------------------------------------

async def _alert_or_404(console: Console, alert_id: str) -> dict[str, Any]:
    alert = await console.records.alert(alert_id)
    if alert is None:
        raise web.HTTPNotFound(text=f"no alert {alert_id}")
    return alert


def _contacts(alert: dict[str, Any]) -> list[dict[str, str]]:
    entity = alert["trailhound"].get("entity") or {}
    return [{"kind": kind, "value": value} for kind, field in (("phone", "phones"), ("email", "emails"),
                                                               ("handle", "handles"))
            for value in entity.get(field) or []]


def _route(alert: dict[str, Any], posts: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Where and when the cluster's posts appeared, oldest first: the cluster's own route if the alert has
    one, else one stop per change of city among its posts."""
    route = ((alert["trailhound"].get("cluster") or {}).get("route")) or []
    if route:
        return [{"city": stop.get("city", "?"), "at": str(stop.get("first_seen", ""))[:16].replace("T", " "),
                 "posts": str(stop.get("posts", ""))} for stop in route]
    stops: list[dict[str, str]] = []
    for post in sorted(posts, key=lambda p: p.get("posted_at", "")):
        city = (post.get("location") or {}).get("city") or (post.get("location") or {}).get("region")
        if city and (not stops or stops[-1]["city"] != city):
            stops.append({"city": city, "at": post.get("posted_at", "")[:16].replace("T", " ")})
    return stops


async def _shown_posts(console: Console, alert: dict[str, Any]) -> list[dict[str, Any]]:
    """The alert's posts with their text cut into evidence and contact pieces (same cut for page and reveal)."""
    th = alert["trailhound"]
    post_ids = list(th.get("post_ids") or [])
    if len(post_ids) > 1:  # compiling the library takes a moment: not on the event loop
        await asyncio.get_running_loop().run_in_executor(None, console.matcher)
    shown = []
    for post in await console.records.posts(post_ids):
        text = post_text(post)
        spans = contact_spans(text, {"location": post.get("location") or {}})
        # a one-post alert's indicators are offsets into that post; a cluster's posts are matched again here
        indicators = th.get("indicators") or [] if len(post_ids) == 1 else _matched(console, text, post)
        shown.append({"post": post, "pieces": pieces(text, indicators, spans, console.category_labels)})
    return shown


def _matched(console: Console, text: str, post: dict[str, Any]) -> list[dict[str, Any]]:
    matcher = console.matcher()
    if matcher is None:
        return []
    norm = normalize(text)
    entities = extract_entities(norm, {"location": post.get("location") or {}, "contact": post.get("contact") or {}})
    return [indicator.to_json() for indicator in matcher.match(norm, entities)]


async def alert_page(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    alert = await _alert_or_404(console, request.match_info["alert_id"])
    th = alert["trailhound"]
    shown, audit, escalations = await asyncio.gather(
        _shown_posts(console, alert), console.records.audit_trail(alert["event"]["id"]),
        console.records.escalations(alert["event"]["id"]))
    contacts = [{**c, "masked": mask(c["value"])} for c in _contacts(alert)]
    return console.page(request, "alert.html", alert=alert, th=th, shown=shown, contacts=contacts, audit=audit,
                        escalations=escalations, route=_route(alert, [s["post"] for s in shown]), labels=LABELS,
                        category_labels=console.category_labels, row=summary(alert), mask=mask)


async def api_alert(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    alert = await _alert_or_404(console, request.match_info["alert_id"])
    return web.json_response({"alert": summary(alert), "indicators": alert["trailhound"].get("indicators", []),
                              "detectors": alert["trailhound"].get("detectors", {}),
                              "explanations": alert["trailhound"].get("explanations", {})})


async def api_reveal(request: web.Request) -> web.Response:
    """The personal data of an alert's posts and contacts, for the analyst who asked; audited first."""
    console: Console = request.app["console"]
    user = _user(request)
    alert = await _alert_or_404(console, request.match_info["alert_id"])
    body = await _json(request)
    kinds = sorted({c["kind"] for c in _contacts(alert)} | {"contacts written in the post"})
    await console.records.audit(alert["event"]["id"], "view", user.username,
                                str(body.get("why") or "console: contacts shown"), fields_disclosed=kinds)
    pieces_written = {f"{n}-{i}": piece.text for n, shown in enumerate(await _shown_posts(console, alert))
                      for i, piece in enumerate(shown["pieces"]) if piece.contact_kind}
    return web.json_response({"pieces": pieces_written, "contacts": _contacts(alert)})


async def _json(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise web.HTTPBadRequest(text="the body must be JSON") from None
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(text="the body must be a JSON object")
    return body


async def api_action(request: web.Request) -> web.Response:
    """acknowledge, escalate, dismiss (with a reason and a label), resolve, or label alone."""
    console: Console = request.app["console"]
    action = request.match_info["action"]
    alert_id = request.match_info["alert_id"]
    body = await _json(request)
    note = str(body.get("note", "")).strip()
    label = body.get("label")
    if label is not None and label not in LABELS:
        return web.json_response({"error": f"label must be one of {', '.join(LABELS)}"}, status=400)
    user = _user(request, "supervisor" if action == "resolve" else "analyst")
    alert = await _alert_or_404(console, alert_id)
    verdict = None
    try:
        if action == "acknowledge":
            alert = await console.lifecycle.acknowledge(alert_id, user.username, note)
        elif action == "escalate":
            partners = body.get("partners")
            alert = await console.lifecycle.escalate(alert_id, user.username, note,
                                                     partners if isinstance(partners, list) else None)
        elif action == "dismiss":  # the lifecycle sends the dismissal's verdict (signed as this analyst's)
            if not note:
                return web.json_response({"error": "say why the alert is dismissed"}, status=400)
            alert = await console.lifecycle.dismiss(alert_id, user.username, note, label or "benign")
            verdict = {"label": label or "benign", "analyst": user.username}
        elif action == "resolve":
            alert = await console.lifecycle.resolve(alert_id, user.username, note)
        elif action == "label":
            if label is None:
                return web.json_response({"error": "choose a label"}, status=400)
            verdict = await console.records.send_verdict(alert, label, user.username, note)
            await console.records.audit(alert_id, "label", user.username, note, label=label,
                                        verdict_id=verdict["verdict_id"])
        else:
            raise web.HTTPNotFound(text=f"no action {action}")
    except InvalidTransition as exc:
        return web.json_response({"error": str(exc)}, status=409)
    except LookupError:
        raise web.HTTPNotFound(text=f"no alert {alert_id}") from None
    console.feed.publish(alert)
    return web.json_response({"alert": summary(alert), "verdict": verdict})


# --- patterns, users, metrics ----------------------------------------------------------------------

async def patterns_page(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    hits = await console.records.pattern_hits()
    problem = ""
    try:
        async with httpx.AsyncClient(timeout=5) as client:
            answer = await client.get(console.worker_url + "/patterns",
                                      headers={"Authorization": f"Bearer {worker_token(console.settings)}"})
            data = answer.raise_for_status().json()
        rows, library = data["patterns"], data["library"]
    except (httpx.HTTPError, KeyError, ValueError) as exc:
        problem = f"The worker at {console.worker_url} did not answer ({exc.__class__.__name__}); hits only."
        rows = [{"pattern_id": p, "category": p.split(".")[0], "weight": None, "learned_weight": None,
                 "verdicts": 0, "precision": None} for p in hits]
        library = "unknown"
    for row in rows:
        row["hits"] = hits.get(row["pattern_id"], 0)
    rows.sort(key=lambda r: (r["precision"] if r["precision"] is not None else 2.0, -r["hits"], r["pattern_id"]))
    return console.page(request, "patterns.html", rows=rows, library=library, problem=problem,
                        category_labels=console.category_labels)


async def users_page(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    _user(request, "admin")
    return console.page(request, "users.html", accounts=await console.users.list(), roles=ROLES,
                        message=request.query.get("message", ""))


async def create_user(request: web.Request) -> web.Response:
    console: Console = request.app["console"]
    admin = _user(request, "admin")
    form = await request.post()
    try:
        await console.users.create(str(form.get("username", "")).strip().lower(), str(form.get("password", "")),
                                   str(form.get("role", "analyst")), admin.username)
        message = f"Account {form.get('username')} created."
    except UserError as exc:
        message = str(exc)
    raise web.HTTPSeeOther("/admin/users?" + urlencode({"message": message}))


def build_console(settings: Settings, es: AsyncElasticsearch | None = None,
                  clock: Clock = system_clock) -> web.Application:
    """The console application (the Elasticsearch client is closed with it)."""
    es = es or AsyncElasticsearch(settings.elasticsearch_url, request_timeout=30)
    console = Console(settings, es, clock)
    app = web.Application(middlewares=[guard(console.sessions, console.users)], client_max_size=1024 * 1024)
    app["console"] = console
    app.router.add_get("/login", login_page)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
    app.router.add_get("/", queue_page)
    app.router.add_get("/alerts/{alert_id}", alert_page)
    app.router.add_get("/patterns", patterns_page)
    app.router.add_get("/admin/users", users_page)
    app.router.add_post("/admin/users", create_user)
    app.router.add_get("/api/alerts", api_alerts)
    app.router.add_get("/api/stream", api_stream)
    app.router.add_get("/api/alerts/{alert_id}", api_alert)
    app.router.add_post("/api/alerts/{alert_id}/reveal", api_reveal)
    app.router.add_post("/api/alerts/{alert_id}/{action}", api_action)
    app.router.add_static("/static/", HERE / "static")

    async def start(app: web.Application) -> None:
        await console.users.ensure_index()
        await console.records.start()
        app["feed_task"] = asyncio.create_task(console.feed.run())

    async def stop(app: web.Application) -> None:
        app["feed_task"].cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await app["feed_task"]
        await console.records.stop()
        await es.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    return app


def build_metrics_app(console: Console) -> web.Application:
    """``/metrics`` on its own port, for Prometheus (the console itself answers only signed-in users)."""
    app = web.Application()

    async def metrics(_: web.Request) -> web.Response:
        return web.Response(body=generate_latest(console.registry), headers={"Content-Type": PROMETHEUS_TEXT})

    app.router.add_get("/metrics", metrics)
    return app


async def _serve(settings: Settings) -> None:
    app = build_console(settings)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, settings.bind_host, settings.console_port).start()
    metrics_runner = web.AppRunner(build_metrics_app(app["console"]))
    await metrics_runner.setup()
    await web.TCPSite(metrics_runner, settings.bind_host, settings.console_metrics_port).start()
    log.info("console on http://%s:%s (metrics on :%s)", settings.bind_host, settings.console_port,
             settings.console_metrics_port)
    try:
        while True:
            await asyncio.sleep(3600)
    finally:
        await metrics_runner.cleanup()
        await runner.cleanup()


def run_console(settings: Settings) -> None:
    """Serve the console until interrupted."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("elastic_transport").setLevel(logging.WARNING)  # one line per poll otherwise
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(settings))


"""The console in a real headless Chromium, against a real worker, Kafka and Elasticsearch.

An analyst signs in, watches a live alert arrive without reloading, opens it, sees the evidence
highlighted and labelled, reveals the contacts (audited), acknowledges, escalates, labels, dismisses
with a label, and the labels reach the ``feedback`` topic signed with that analyst's own key, where the
worker learns them. Requests without a session or without the CSRF token are refused. The screenshots
in the README are taken here (``TRAILHOUND_REFRESH_SCREENSHOTS=1`` writes them to ``docs/screenshots``).
"""

from __future__ import annotations

import json
import os
import re
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from elasticsearch import Elasticsearch

from tests.conftest import WorkerProcess
from tests.console_process import ConsoleProcess, create_account
from tests.helpers import RISKY_BODY, ROOT, alerts_for, post, read_topic, send_posts, wait_for
from trailhound import synth
from trailhound.config import Settings
from trailhound.provision import prepare_servers

CHROMIUM = Path("/usr/bin/chromium")
# The README's screenshots are refreshed only on request, so a test run leaves the work tree as it was.
README_SCREENSHOTS = ROOT / "docs" / "screenshots"
PASSWORD = "a long test password"
FEEDBACK_KEY = "k" * 48

pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium (make system-tools)")


def risky(post_id: str, city: str, phone: str = "312-555-0147") -> dict:
    """A risky post; posts with one phone are one contact, and so grouped into one alert."""
    return post(post_id, RISKY_BODY + f" Call {phone} or write sweetjo@example.org.", lang="en",
                location={"city": city, "region": "IL", "country": "US"})


@pytest.fixture(scope="module")
def keyed(stack_settings: Settings) -> Settings:
    """This module's own namespace (the tests share one worker and console, each with its own posts)."""
    own = replace(stack_settings.with_namespace(f"{stack_settings.namespace}c{uuid.uuid4().hex[:6]}"),
                  feedback_key=FEEDBACK_KEY)
    prepare_servers(own)
    return own


PARTNERS = """
partners:
  test-hotline:
    name: Test hotline
    secret_env: TRAILHOUND_SECRET_TEST_HOTLINE
    webhook: {url: "http://127.0.0.1:9/events"}
    policy: {city: clear}
rules:
  - name: youth-by-hand
    match: {categories: [youth]}
    automatic: false
    tiers:
      - partners: [test-hotline]
"""


@pytest.fixture(scope="module")
def stack(keyed: Settings, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[WorkerProcess, ConsoleProcess]]:
    logs = tmp_path_factory.mktemp("console")
    worker = WorkerProcess(keyed, logs / "worker.log", {"TRAILHOUND_ANALYSTS": "ana",
                                                        "TRAILHOUND_FEEDBACK_KEY": FEEDBACK_KEY})
    (logs / "partners.yaml").write_text(PARTNERS)  # the console escalates by hand; the worker routes nothing
    console = ConsoleProcess(keyed, logs / "console.log", worker.port, {
        "TRAILHOUND_FEEDBACK_KEY": FEEDBACK_KEY, "TRAILHOUND_PARTNERS_FILE": str(logs / "partners.yaml"),
        "TRAILHOUND_SECRET_TEST_HOTLINE": "h" * 40})
    try:
        create_account(keyed, "ana", PASSWORD, "analyst")
        worker.wait_ready()
        console.wait_ready()
        yield worker, console
    finally:
        console.stop()
        worker.stop()


@pytest.fixture
def browser() -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


def new_page(browser, **options):
    """A page whose test probes may evaluate JavaScript (the console's CSP forbids eval, rightly)."""
    return browser.new_page(bypass_csp=True, **options)


def sign_in(page, console: ConsoleProcess, username: str = "ana", password: str = PASSWORD) -> None:
    page.goto(console.url + "/")
    assert page.url.endswith("/login"), "the queue must not show without sign-in"
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("#queue")


def post_alerts(es: Elasticsearch, settings: Settings, post_key: str) -> list[dict]:
    """The alerts about a post itself; the network alert of the cluster it joined (same e-mail) is another."""
    return [a for a in alerts_for(es, settings, post_key) if a["rule"].get("category") != "network"]


def status_of(es: Elasticsearch, settings: Settings, post_key: str) -> str:
    [alert] = post_alerts(es, settings, post_key)
    return alert["trailhound"]["status"]


def test_an_analyst_works_an_alert_from_arrival_to_verdict(stack, browser, keyed: Settings, es: Elasticsearch,
                                                         tmp_path: Path) -> None:
    shots = README_SCREENSHOTS if os.environ.get("TRAILHOUND_REFRESH_SCREENSHOTS") else tmp_path
    worker, console = stack
    page = new_page(browser, viewport={"width": 1366, "height": 768})
    sign_in(page, console)
    page.wait_for_function("document.getElementById('live-state').textContent.startsWith('live')")

    # a live alert arrives in the open queue, without a reload
    send_posts(keyed, risky("c-1", "Springfield"))
    row = page.wait_for_selector("#queue tbody tr[data-id]", timeout=90_000)
    [alert] = wait_for(lambda: post_alerts(es, keyed, "test-board:c-1"), what="the alert")
    assert row.get_attribute("data-id") == alert["event"]["id"]
    assert page.evaluate("performance.getEntriesByType('navigation').length") == 1  # still the same page load
    send_posts(keyed, risky("c-2", "Peoria", phone="312-555-0166"))  # another contact: another alert
    page.wait_for_function("document.querySelectorAll('#queue tbody tr[data-id]').length == 2", timeout=90_000)
    [second] = wait_for(lambda: post_alerts(es, keyed, "test-board:c-2"), what="the second alert")
    # a fuller queue for the README's screenshot: synthetic posts of every kind
    send_posts(keyed, *(p for p in synth.generate(40, seed=5) if p["synthetic_label"] != "benign"))
    page.wait_for_function("document.querySelectorAll('#queue tbody tr[data-id]').length >= 8", timeout=90_000)
    page.reload()
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / "queue.png"))

    # open it: every indicator is highlighted where it was written and labelled with its pattern
    page.click(f"#queue tr[data-id='{alert['event']['id']}'] a")
    page.wait_for_selector(".post-text")
    labels = page.locator(".post-text .ev-label").all_inner_texts()
    for indicator in alert["trailhound"]["indicators"]:
        assert any(indicator["pattern_id"] in label for label in labels), indicator["pattern_id"]
    marked = "".join(page.locator(".post-text mark.ev").all_inner_texts())
    for indicator in alert["trailhound"]["indicators"]:
        assert indicator["evidence"].split()[0] in marked
    # contacts are masked until revealed, and the reveal is audited
    text = page.locator(".post-text").inner_text()
    assert "312-555-0147" not in text and "sweetjo@example.org" not in text
    page.get_by_role("button", name="show contacts (recorded in the audit trail)").click()
    page.wait_for_function("document.querySelector('.post-text').textContent.includes('312-555-0147')")
    assert "sweetjo@example.org" in page.locator(".post-text").inner_text()

    # acknowledge, then escalate
    page.get_by_label("Note or reason (kept in the audit trail)").fill("looking into it")
    with page.expect_navigation():  # the page reloads itself after an action; wait for it before the next
        page.get_by_role("button", name="Acknowledge").click()
    wait_for(lambda: status_of(es, keyed, "test-board:c-1") == "acknowledged", timeout_s=20, what="acknowledged")
    page.wait_for_selector("#audit-title")
    page.wait_for_function("document.getElementById('status').textContent == 'acknowledged'", timeout=20_000)
    with page.expect_navigation():
        page.get_by_role("button", name="Escalate to partners").click()
    wait_for(lambda: status_of(es, keyed, "test-board:c-1") == "escalated", timeout_s=20, what="escalated")
    page.wait_for_function("document.getElementById('status').textContent == 'escalated'", timeout=20_000)
    outbox = [json.loads(record.value) for record in read_topic(keyed, "escalations")]
    assert any(d["alert_id"] == alert["event"]["id"] for d in outbox), "the escalation reached no partner's outbox"
    page.get_by_label("Label").select_option("trafficking")
    page.get_by_role("button", name="Send label").click()
    page.wait_for_selector("text=Done: label", timeout=20_000)
    page.reload()
    audit = page.locator("section[aria-labelledby=audit-title] tbody").inner_text()
    for action in ("view", "acknowledge", "escalate", "label"):
        assert action in audit, audit
    assert "ana" in audit
    page.screenshot(path=str(shots / "alert.png"), full_page=True)

    # dismiss the second one with a reason and a label
    page.goto(f"{console.url}/alerts/{second['event']['id']}")
    page.get_by_label("Label").select_option("benign")
    page.get_by_role("button", name="Dismiss with this label").click()
    page.wait_for_selector("text=Say why in the note field first.")
    assert status_of(es, keyed, "test-board:c-2") == "new"
    page.get_by_label("Note or reason (kept in the audit trail)").fill("a test post, not a person")
    with page.expect_navigation(timeout=30_000):  # the page reloads itself to show the new audit entry
        page.get_by_role("button", name="Dismiss with this label").click()
    wait_for(lambda: status_of(es, keyed, "test-board:c-2") == "dismissed", timeout_s=20, what="dismissed")

    # both labels reach Kafka, signed with ana's own key, and the worker learns them
    def verdicts() -> list:
        found = [r for r in read_topic(keyed, "feedback") if dict(r.headers).get("signer") == b"ana"]
        return found if len(found) == 2 else []

    records = wait_for(verdicts, timeout_s=30, what="two verdicts on the feedback topic")
    sent = {json.loads(r.value)["alert_id"]: json.loads(r.value) for r in records}
    assert sent[alert["event"]["id"]]["label"] == "trafficking"
    assert sent[second["event"]["id"]]["label"] == "benign"
    assert {v["analyst"] for v in sent.values()} == {"ana"}

    def learned() -> list:
        es.indices.refresh(index=keyed.index("feedback"))
        hits = es.search(index=keyed.index("feedback"), query={"term": {"analyst": "ana"}})["hits"]["hits"]
        return [h["_source"] for h in hits] if len(hits) == 2 else []

    outcomes = wait_for(learned, timeout_s=90, what="the worker to handle both verdicts")
    assert all(o["learned"] for o in outcomes), outcomes

    # the pattern library view: each pattern's hits, and its precision from those verdicts (via the worker)
    page.goto(console.url + "/patterns")
    pattern = max((i for i in alert["trailhound"]["indicators"] if not i["pattern_id"].startswith("text")),
                  key=lambda i: i["weight"])["pattern_id"]  # a pattern verdicts teach (movement weighs ~0)
    cells = page.locator("tr", has=page.locator(f"code:text-is('{pattern}')")).locator("td").all_inner_texts()
    hits, verdicts, precision = int(cells[2]), int(cells[3]), cells[4]
    assert hits >= 2 and verdicts >= 1 and precision.strip() not in ("", "—"), cells
    assert not page.locator(".error").count()


def test_requests_without_a_session_or_csrf_token_are_refused(stack, browser, keyed: Settings,
                                                             es: Elasticsearch) -> None:
    _, console = stack
    send_posts(keyed, risky("r-1", "Joliet", phone="312-555-0188"))
    [alert] = wait_for(lambda: post_alerts(es, keyed, "test-board:r-1"), timeout_s=90, what="the alert")
    alert_id = alert["event"]["id"]

    # no session: nothing is shown and nothing changes
    assert httpx.get(console.url + "/api/alerts", timeout=10).status_code == 401
    assert httpx.get(f"{console.url}/alerts/{alert_id}", timeout=10).status_code == 303
    refused = httpx.post(f"{console.url}/api/alerts/{alert_id}/acknowledge", json={}, timeout=10)
    assert refused.status_code == 401
    forged = httpx.get(console.url + "/api/alerts", cookies={"trailhound_session": "made-up"}, timeout=10)
    assert forged.status_code == 401

    # signed in, but a POST without the page's CSRF token is refused (the browser sends the cookie)
    page = new_page(browser)
    sign_in(page, console)
    assert page.request.get(console.url + "/api/alerts").ok
    without = page.request.post(f"{console.url}/api/alerts/{alert_id}/acknowledge", data="{}",
                                headers={"Content-Type": "application/json"})
    assert without.status == 403
    wrong = page.request.post(f"{console.url}/api/alerts/{alert_id}/acknowledge", data="{}",
                              headers={"Content-Type": "application/json", "X-CSRF-Token": "guess"})
    assert wrong.status == 403
    assert status_of(es, keyed, "test-board:r-1") == "new"
    token = page.locator("main").get_attribute("data-csrf")
    json_headers = {"Content-Type": "application/json", "X-CSRF-Token": token}
    elsewhere = page.request.post(f"{console.url}/api/alerts/{alert_id}/acknowledge", data="{}",
                                  headers={**json_headers, "Origin": "http://evil.example"})
    assert elsewhere.status == 403  # the right token, sent from another site's page
    # an analyst may not do what the supervisor and admin roles are for
    assert page.request.post(f"{console.url}/api/alerts/{alert_id}/resolve", data="{}",
                             headers=json_headers).status == 403
    assert page.request.get(console.url + "/admin/users").status == 403
    right = page.request.post(f"{console.url}/api/alerts/{alert_id}/acknowledge", data="{}", headers=json_headers)
    assert right.ok
    assert status_of(es, keyed, "test-board:r-1") == "acknowledged"
    # a wrong password does not sign in
    other = new_page(browser)
    other.goto(console.url + "/login")
    other.get_by_label("User name").fill("ana")
    other.get_by_label("Password").fill("not the password")
    other.get_by_role("button", name="Sign in").click()
    other.wait_for_selector("text=Wrong user name or password.")


def test_console_sessions_are_counted_for_prometheus(stack, browser) -> None:
    _, console = stack
    metrics = f"http://127.0.0.1:{console.metrics_port}/metrics"

    def sessions() -> float:
        return float(re.search(r"^trailhound_console_sessions (\S+)$", httpx.get(metrics, timeout=10).text, re.M)[1])

    before = sessions()
    page = new_page(browser)
    sign_in(page, console)
    assert sessions() == before + 1
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/login")
    assert sessions() == before
    assert new_page(browser).goto(console.url + "/api/alerts").status == 401

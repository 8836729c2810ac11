"""Partners and routing rules from one YAML file, checked strictly when a process starts.

Which organisation receives which alerts is an operator's decision that changes without a redeploy,
so it lives in a file (``TRAILHOUND_PARTNERS_FILE``; see ``alerts/partners.example.yaml``). Every
problem in the file is reported at once, with where it is, and a process refuses to start on any of
them: a rule naming a partner that does not exist fails now, not at 3 a.m. Partner secrets never sit
in the file: it names the environment variable that holds each one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from trailhound.alerts.policy import DataPolicy
from trailhound.alerts.scoring import SEVERITY_LEVELS
from trailhound.config import PARTNER_SECRET_PREFIX, Settings

__all__ = ["EmailTarget", "Match", "Partner", "RetryPolicy", "Routing", "RoutingError", "Rule", "Tier",
           "WebhookTarget", "load_routing", "parse_duration", "parse_routing"]

SEVERITIES = {name: number for _, name, number in SEVERITY_LEVELS}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNITS = {None: 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
MIN_SECRET_BYTES = 32


class RoutingError(ValueError):
    """The partners file cannot be used; the message lists every problem found."""


def parse_duration(value: Any) -> float:
    """Seconds from ``90``, ``"30s"``, ``"15m"``, ``"2h"`` or ``"1d"``."""
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return float(value)
    found = _DURATION.match(str(value))
    if not found or float(found.group(1)) <= 0:
        raise ValueError(f"{value!r} is not a duration like 90, 30s, 15m, 2h")
    return float(found.group(1)) * _UNITS[found.group(2)]


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    timeout_s: float = 10.0


@dataclass(frozen=True)
class EmailTarget:
    to: tuple[str, ...]
    sender: str
    host: str = "127.0.0.1"
    port: int = 25
    starttls: bool = False
    timeout_s: float = 20.0


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently a failing delivery is retried before it is parked."""

    attempts: int = 6
    first_s: float = 1.0
    max_s: float = 60.0


@dataclass(frozen=True)
class Partner:
    """An organisation receiving escalations: how to reach it, what it may see, how to retry."""

    id: str
    name: str
    secret_env: str
    secret: bytes = field(repr=False)
    policy: DataPolicy
    webhook: WebhookTarget | None = None
    email: EmailTarget | None = None
    concurrency: int = 4
    retry: RetryPolicy = RetryPolicy()

    @property
    def channel(self) -> str:
        return "webhook" if self.webhook else "email"


@dataclass(frozen=True)
class Match:
    """Which alerts a rule takes; every stated condition must hold (categories: any of, glob allowed)."""

    categories: tuple[str, ...] = ()
    min_severity: str | None = None
    regions: tuple[str, ...] = ()
    min_score: float = 0.0


@dataclass(frozen=True)
class Tier:
    """Partners told together; if none acknowledges within ``ack_within_s``, the next tier is told."""

    partners: tuple[str, ...]
    ack_within_s: float | None = None


@dataclass(frozen=True)
class Rule:
    name: str
    match: Match
    tiers: tuple[Tier, ...]
    automatic: bool = False


@dataclass(frozen=True)
class Routing:
    partners: Mapping[str, Partner]
    rules: tuple[Rule, ...]

    @classmethod
    def empty(cls) -> Routing:
        return cls({}, ())


class _Problems:
    def __init__(self) -> None:
        self.found: list[str] = []

    def add(self, where: str, what: str) -> None:
        self.found.append(f"{where}: {what}")


def _mapping(value: Any, where: str, problems: _Problems) -> dict[str, Any]:
    if not isinstance(value, dict):
        problems.add(where, "must be a mapping")
        return {}
    return value


def _unknown_keys(data: dict[str, Any], allowed: set[str], where: str, problems: _Problems) -> None:
    for key in sorted(set(data) - allowed):
        problems.add(where, f"unknown setting {key!r} (allowed: {', '.join(sorted(allowed))})")


def _partner(pid: str, raw: Any, env: Mapping[str, str], problems: _Problems) -> Partner | None:
    where = f"partners.{pid}"
    data = _mapping(raw, where, problems)
    _unknown_keys(data, {"name", "secret_env", "webhook", "email", "policy", "concurrency", "retry"}, where, problems)
    secret_env = str(data.get("secret_env") or "")
    secret = env.get(secret_env, "") if secret_env else ""
    if not secret_env.startswith(PARTNER_SECRET_PREFIX):
        problems.add(where, f"secret_env must name an environment variable starting {PARTNER_SECRET_PREFIX} "
                            "that holds this partner's secret")
    elif len(secret.encode()) < MIN_SECRET_BYTES:
        problems.add(where, f"environment variable {secret_env} must hold at least {MIN_SECRET_BYTES} bytes")
    webhook = email = None
    if "webhook" in data:
        hook = _mapping(data["webhook"], f"{where}.webhook", problems)
        _unknown_keys(hook, {"url", "timeout"}, f"{where}.webhook", problems)
        url = str(hook.get("url") or "")
        if not url.startswith(("http://", "https://")):
            problems.add(f"{where}.webhook.url", f"{url!r} is not an http(s) URL")
        webhook = WebhookTarget(url, _duration(hook.get("timeout", 10), f"{where}.webhook.timeout", problems))
    if "email" in data:
        mail = _mapping(data["email"], f"{where}.email", problems)
        _unknown_keys(mail, {"to", "from", "host", "port", "starttls", "timeout"}, f"{where}.email", problems)
        to = mail.get("to") or []
        to = [to] if isinstance(to, str) else to
        if not to or not all(isinstance(a, str) and "@" in a for a in to):
            problems.add(f"{where}.email.to", "must list e-mail addresses")
        if "@" not in str(mail.get("from") or ""):
            problems.add(f"{where}.email.from", "must be an e-mail address")
        email = EmailTarget(tuple(to), str(mail.get("from") or ""), str(mail.get("host") or "127.0.0.1"),
                            int(mail.get("port") or 25), bool(mail.get("starttls", False)),
                            _duration(mail.get("timeout", 20), f"{where}.email.timeout", problems))
    if (webhook is None) == (email is None):
        problems.add(where, "needs exactly one of webhook or email")
    policy = DataPolicy({str(k): str(v) for k, v in _mapping(data.get("policy") or {}, f"{where}.policy",
                                                                  problems).items()})
    for problem in policy.problems():
        problems.add(f"{where}.policy", problem)
    retry_raw = _mapping(data.get("retry") or {}, f"{where}.retry", problems)
    _unknown_keys(retry_raw, {"attempts", "first", "max"}, f"{where}.retry", problems)
    retry = RetryPolicy(int(retry_raw.get("attempts", 6)), _duration(retry_raw.get("first", 1), f"{where}.retry.first",
                        problems), _duration(retry_raw.get("max", 60), f"{where}.retry.max", problems))
    concurrency = data.get("concurrency", 4)
    if not isinstance(concurrency, int) or concurrency < 1 or retry.attempts < 1:
        problems.add(where, "concurrency and retry.attempts must be whole numbers of at least 1")
    return Partner(pid, str(data.get("name") or pid), secret_env, secret.encode(), policy, webhook, email,
                   int(concurrency) if isinstance(concurrency, int) else 1, retry)


def _duration(value: Any, where: str, problems: _Problems) -> float:
    try:
        return parse_duration(value)
    except ValueError as exc:
        problems.add(where, str(exc))
        return 1.0


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(str(v) for v in value)


def _rule(index: int, raw: Any, partners: set[str], problems: _Problems) -> Rule:
    data = _mapping(raw, f"rules[{index}]", problems)
    name = str(data.get("name") or f"rule {index + 1}")
    where = f"rules.{name}"
    _unknown_keys(data, {"name", "match", "automatic", "tiers"}, where, problems)
    match_raw = _mapping(data.get("match") or {}, f"{where}.match", problems)
    _unknown_keys(match_raw, {"categories", "min_severity", "regions", "min_score"}, f"{where}.match", problems)
    severity = match_raw.get("min_severity")
    if severity is not None and severity not in SEVERITIES:
        problems.add(f"{where}.match.min_severity", f"{severity!r} is not one of {', '.join(SEVERITIES)}")
    min_score = match_raw.get("min_score", 0.0)
    if not isinstance(min_score, int | float) or not 0 <= min_score <= 1:
        problems.add(f"{where}.match.min_score", "must be a number from 0 to 1")
        min_score = 0.0
    match = Match(_strings(match_raw.get("categories")), severity, _strings(match_raw.get("regions")),
                  float(min_score))
    tiers = []
    raw_tiers = data.get("tiers")
    if not isinstance(raw_tiers, list) or not raw_tiers:
        problems.add(where, "tiers must list at least one tier of partners")
        raw_tiers = []
    for number, raw_tier in enumerate(raw_tiers, start=1):
        tier = _mapping(raw_tier, f"{where}.tiers[{number}]", problems)
        _unknown_keys(tier, {"partners", "ack_within"}, f"{where}.tiers[{number}]", problems)
        names = _strings(tier.get("partners"))
        if not names:
            problems.add(f"{where}.tiers[{number}]", "names no partner")
        for missing in [n for n in names if n not in partners]:
            problems.add(f"{where}.tiers[{number}]", f"partner {missing!r} is not defined under partners")
        ack = tier.get("ack_within")
        if ack is None and number < len(raw_tiers):
            problems.add(f"{where}.tiers[{number}]", "ack_within is required when a next tier follows")
        tiers.append(Tier(names, None if ack is None else _duration(ack, f"{where}.tiers[{number}].ack_within",
                                                                     problems)))
    automatic = data.get("automatic", False)
    if not isinstance(automatic, bool):
        problems.add(f"{where}.automatic", "must be true or false")
    return Rule(name, match, tuple(tiers), automatic is True)


def parse_routing(data: Any, env: Mapping[str, str], origin: str = "partners file") -> Routing:
    """Partners and rules from parsed YAML; :class:`RoutingError` lists every problem."""
    problems = _Problems()
    top = _mapping(data, origin, problems)
    _unknown_keys(top, {"partners", "rules"}, origin, problems)
    partners: dict[str, Partner] = {}
    for pid, raw in _mapping(top.get("partners") or {}, "partners", problems).items():
        partner = _partner(str(pid), raw, env, problems)
        if partner:
            partners[str(pid)] = partner
    raw_rules = top.get("rules") or []
    if not isinstance(raw_rules, list):
        problems.add("rules", "must be a list")
        raw_rules = []
    rules = tuple(_rule(i, raw, set(partners), problems) for i, raw in enumerate(raw_rules))
    names = [r.name for r in rules]
    for dup in sorted({n for n in names if names.count(n) > 1}):
        problems.add(f"rules.{dup}", "two rules share this name")
    if problems.found:
        raise RoutingError(f"{origin} has {len(problems.found)} problem(s):\n  " + "\n  ".join(problems.found))
    return Routing(partners, rules)


def load_routing(settings: Settings, path: Path | None = None) -> Routing:
    """The routing in ``TRAILHOUND_PARTNERS_FILE`` (none: no partners, nothing is escalated)."""
    path = path or settings.partners_file
    env = dict(settings.partner_secrets)
    if path is None:
        return Routing.empty()
    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise RoutingError(f"cannot read partners file {path}: {exc}") from None
    return parse_routing(data, env, str(path))

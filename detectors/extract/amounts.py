"""Prices/rates and stated ages: the two numbers in an ad that carry meaning beyond contact details.

Prices feed the price-anomaly and unrealistic-pay patterns (an hourly rate far below the local norm,
"$5,000 a week, no experience"); stated ages feed the youth patterns ("age 16 anywhere in the ad").
Both are small regular grammars over the normalised text, so the standard ``re`` module is enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from trailhound.detectors.extract.claims import Claimed
from trailhound.detectors.prefilter import RegexPrefilter

__all__ = ["FoundAge", "FoundPrice", "Price", "amount_candidates", "find_ages", "find_prices"]


@dataclass(frozen=True, slots=True)
class Price:
    """An amount with its currency (ISO code, ``roses``, or ``""`` if unstated) and rate unit."""

    amount: float
    currency: str
    unit: str | None

    def to_json(self) -> dict[str, Any]:
        return {"amount": self.amount, "currency": self.currency, "unit": self.unit}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Price:
        return cls(float(data["amount"]), str(data["currency"]), data.get("unit"))


@dataclass(frozen=True, slots=True)
class FoundPrice:
    price: Price
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class FoundAge:
    age: int
    start: int
    end: int


_NUMBER = r"(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d{1,2}))?(?:\s?(k)\b)?"
_CURRENCY_BEFORE = r"(us\$|\$|usd|€|eur|£|gbp)"
_CURRENCY_AFTER = (
    r"(\$|usd|dollars?|bucks|€|eur|euros?|£|gbp|pounds?|roses?|🌹 :rose:|:rose:|donations?)"
)
_UNIT = (
    r"(?:\s?(?:/|per|an?|for|each|every|the)?\s?"
    r"(half hour|half|hh|30 ?min(?:utes|s)?|qv|qk|quick visit|quickie|hour|hr|h|60 ?min(?:utes|s)?|"
    r"session|overnight|ovn|night|day|daily|week|weekly|wk|month|monthly|mo|year|yearly|yr|annually)\b)?"
)
_PRICE_BEFORE = re.compile(rf"{_CURRENCY_BEFORE}\s?{_NUMBER}{_UNIT}")
_PRICE_AFTER = re.compile(rf"(?<![\d.,$])\b{_NUMBER}\s?{_CURRENCY_AFTER}{_UNIT}")
_RATE_ONLY = re.compile(r"(?<![\d.,$])\b(\d{2,4})\s?(hh|hr|qv|qk|ovn)\b")
_CURRENCIES = {
    "$": "USD", "us$": "USD", "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR", "£": "GBP", "gbp": "GBP", "pound": "GBP",
    "pounds": "GBP", "rose": "roses", "roses": "roses", "🌹 :rose:": "roses", ":rose:": "roses",
    "donation": "", "donations": "",
}
_UNITS = {
    "half hour": "half_hour", "half": "half_hour", "hh": "half_hour", "qv": "quick_visit",
    "qk": "quick_visit", "quick visit": "quick_visit", "quickie": "quick_visit", "hour": "hour",
    "hr": "hour", "h": "hour", "session": "session", "overnight": "overnight", "ovn": "overnight",
    "night": "overnight", "day": "day", "daily": "day", "week": "week", "weekly": "week", "wk": "week",
    "month": "month", "monthly": "month", "mo": "month", "year": "year", "yearly": "year",
    "yr": "year", "annually": "year",
}


def _unit(raw: str | None) -> str | None:
    if not raw:
        return None
    if raw.startswith("30"):
        return "half_hour"
    if raw.startswith("60"):
        return "hour"
    return _UNITS[raw]


def _amount(whole: str, cents: str | None, k: str | None) -> float:
    value = float(whole.replace(",", "")) + (float("0." + cents) if cents else 0.0)
    return value * 1000 if k else value


_UNIT_BEFORE = re.compile(
    r"(half hour|hh|qv|qk|quick visit|quickie|hour|hr|session|overnight|ovn|night|day|week|month)"
    r"\s?[:=\-]?\s?(?:for |is |only |just )?$"
)


def _with_unit_before(found: FoundPrice, text: str) -> FoundPrice:
    """``overnight $150``: take the rate unit written just before an amount that has none after it."""
    if found.price.unit is not None:
        return found
    m = _UNIT_BEFORE.search(text, max(0, found.start - 24), found.start)
    if m is None:
        return found
    price = Price(found.price.amount, found.price.currency, _unit(m.group(1)))
    return FoundPrice(price, m.start(), found.end)


# Words of a job ad near an hourly amount: then it is a wage ("$17/hr, weekends off"), not a price of sex.
_JOB_CONTEXT = re.compile(
    r"\b(?:hiring|hire|wages?|salary|job|jobs|position|positions|apply|applicants?|staff|associates?|workers?|"
    r"employees?|employment|shifts?|paid weekly|weekly pay|overtime|benefits|nanny|cooks?|warehouse|helper|"
    r"se busca|empleo|trabajo|sueldo|salario|ayudante|vaga|emprego|auxiliar|emploi|poste|salaire|commis|"
    r"trabaho|sahod|munca|salariu|ajutor|viec lam|luong|phu bep)\b|работа|зарплат|помощник|工作|工资|帮工|"
    r"ผู้ช่วย|งาน"
)
_WAGE_UNITS = frozenset({"hour", "half_hour"})


def _as_wage(found: FoundPrice, text: str) -> FoundPrice:
    """An hourly amount in a job ad becomes an ``hourly_wage``, which no price-of-sex pattern reads."""
    if found.price.unit not in _WAGE_UNITS:
        return found
    if not _JOB_CONTEXT.search(text, max(0, found.start - 80), min(len(text), found.end + 80)):
        return found
    return FoundPrice(Price(found.price.amount, found.price.currency, "hourly_wage"), found.start, found.end)


def find_prices(text: str, candidates: set[int] | None = None) -> list[FoundPrice]:
    """Amounts with a currency word/sign, and bare rates such as ``150hr``.

    ``candidates``: what :func:`amount_candidates` says of ``text``, when the caller already asked.
    """
    found: list[FoundPrice] = []
    if candidates is None:
        candidates = amount_candidates(text)
    if candidates.isdisjoint(_PRICES):
        return found
    taken = Claimed(len(text))
    for m in _PRICE_BEFORE.finditer(text) if 0 in candidates else ():
        price = Price(_amount(m.group(2), m.group(3), m.group(4)), _CURRENCIES[m.group(1)], _unit(m.group(5)))
        found.append(FoundPrice(price, m.start(), m.end()))
        taken.claim(m.start(), m.end())
    for m in _PRICE_AFTER.finditer(text) if 1 in candidates else ():
        if taken.overlaps(m.start(), m.start() + 1):
            continue
        price = Price(_amount(m.group(1), m.group(2), m.group(3)), _CURRENCIES[m.group(4)], _unit(m.group(5)))
        found.append(FoundPrice(price, m.start(), m.end()))
        taken.claim(m.start(), m.end())
    for m in _RATE_ONLY.finditer(text) if 2 in candidates else ():
        if taken.overlaps(m.start(), m.start() + 1) or int(m.group(1)) < 40:
            continue
        found.append(FoundPrice(Price(float(m.group(1)), "", _unit(m.group(2))), m.start(), m.end()))
    found = [_as_wage(_with_unit_before(p, text), text) for p in found]
    found.sort(key=lambda p: p.start)
    return found


_TEEN_WORDS = {
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17,
    "eighteen": 18, "nineteen": 19, "twenty": 20,
}
# Words after a number that make it a stated age, in the languages the library covers (normalised:
# lower case, accents stripped, so "años" is "anos", "tuổi" is "tuoi", "вік" stays Cyrillic).
_AGE_UNITS = (
    r"anos|anitos|aninhos|ans|ani|anyos|taong gulang|tuoi|лет|годик(?:а|ов)?|года?"
)
_AGE_WORDS = r"age[ds]?|edad|idade|varsta|tuoi|возраст|edad de"
_NO_AGE_AFTER = r"(?!\s?(?:min|\$|usd|hrs?|hours?|k\b|%|am\b|pm\b|:|'|\.\d|/(?!\s)|spots?|left|days?|dollars?|euros?))"
_AGE_PATTERNS = (
    re.compile(r"(?<![\d$.,])\b(\d{2})\s?(?:yo|y/o|y\.o\.?|yrs?\.? old|years? old|year-old|yr-old)(?![a-z])"),
    re.compile(rf"\b(?:{_AGE_WORDS})\s?[:=\-]?\s?(\d{{2}})\b"
               r"(?!\s?(?:\+|and up|or older|and over|to \d|y mas|ou mais))"),
    re.compile(r"(?<![\d$.,])\b(\d{2})\s?(?:years|yrs)\b(?!\s?(?:of|in|experience|exp|ago|with|on|at|"
               r"for|service|working|old\b))"),
    re.compile(r"\bi(?:'m| am|m)\s(?:only\s|just\s)?(\d{2})\b(?!\s?(?:min|\$|usd|hrs?|k\b|%|am|pm|:|'|\.\d|/))"),
    re.compile(r"\b(?:just|barely|only) turned (\d{2})\b"),
    re.compile(r"\b(" + "|".join(_TEEN_WORDS) + r")(?:[ -]years?[ -]old|\s?yo|\s?y/o)\b"),
    re.compile(r"\b(?:just|barely|only) turned (" + "|".join(_TEEN_WORDS) + r")\b"),
    # "17 años", "17 ans", "17 лет", "16 anyos", "17 tuổi", "17 de ani"
    re.compile(rf"(?<![\d$.,])\b(\d{{2}})\s?(?:de\s)?(?:{_AGE_UNITS})(?![a-zа-я])"),
    # "17岁", "才17歲", "年龄17", "อายุ 17", "17 ปี"
    re.compile(r"(?<![\d$.,])(\d{2})\s?(?:岁|歲|周岁|ปี)"),
    re.compile(r"(?:年龄|年紀|年纪|อายุ)\s?[:：]?\s?(\d{2})(?!\d)"),
    # "only 17", "solo 17", "chiquita de 16": a bare number after a word that presents an age
    re.compile(rf"\b(?:only|just|barely|solo|apenas|seulement|tan solo|so|lang|doar|chi|moi|всего|только)"
               rf"\s(\d{{2}})\b{_NO_AGE_AFTER}(?=\s?(?:[,.!;)]|$|and\b|but\b|y\b|e\b|et\b|&|\n))"),
    re.compile(rf"\b(?:chiquita|chica|nina|nena|menina|novinha|gamine|fille|girl|babe)\s(?:de\s)?(\d{{2}})\b{_NO_AGE_AFTER}"),
    # "17 but mature", "17 pero madura", "17 mais mature", "17, но взрослая"
    re.compile(r"(?<![\d$.,])\b(\d{2}),?\s(?:but|pero|mas|mais|но|nhung|dar|pero muy|but very)\s"
               r"(?:very\s|muy\s|tres\s|foarte\s)?(?:mature|madura|matura|mature|взрослая|зрелая|chin chan|grown)"),
)
# An age range ("ages 12-15", "de 4 a 8 años", "от 7 до 12 лет", "12至15岁") gives the audience of a
# programme, and an age after an audience word ("kids aged 12", "niños de 10 años") describes children
# served, not the person advertised: neither is a stated age.
_RANGE_BEFORE = re.compile(r"(?:\d{1,2}\s?(?:-|–|to|a|à|ate|até|до|至|到|hanggang|den|đen|toi|la|e)\s?)$")
_RANGE_AFTER = re.compile(r"^\s?(?:-|–|to|a|à|ate|до|至|到|hanggang|den|toi|la)\s?\d{1,2}\b")
_AUDIENCE_BEFORE = re.compile(
    r"(?:kids|children|child|students|pupils|toddlers|boys|girls|players|campers|teens|youth|ninos|ninas|"
    r"chicos|chicas|criancas|meninas|meninos|enfants|eleves|filles|garcons|детей|девочек|мальчиков|дети|"
    r"школьников|儿童|孩子|学生|女孩|男孩|bata|mga batang|copii|copiii|fete|baieti|tre|be gai|be trai|hoc sinh|"
    r"เด็กหญิง|เด็กชาย|เด็ก|nino|camp|class|team|club|grade)\W{0,3}(?:(?:aged?|ages|of|de|from|от|edad|"
    r"idade|tu|de la|อายุ)\W{0,3})?(?:\d{1,2}\s?(?:-|–|to|a|à|до|至)\s?)?$"
)
_BARE_YEARS = _AGE_PATTERNS[2]
_PRICE_PATTERNS = (_PRICE_BEFORE, _PRICE_AFTER, _RATE_ONLY)
_PRICES = range(len(_PRICE_PATTERNS))
_AMOUNT_PREFILTER = RegexPrefilter((*_PRICE_PATTERNS, *_AGE_PATTERNS))  # most posts can match none or one of them


def amount_candidates(text: str) -> set[int]:
    """Which price and age expressions may match ``text``: one Hyperscan pass for both kinds of amount."""
    return _AMOUNT_PREFILTER.candidates(text)


# Words of adult-services ads: there, an age range or "girls 16" is a stated age, and critical.
_ADULT_SERVICE = re.compile(
    r"\b(?:incall|outcall|gentlemen|gents|caballeros|senhores|messieurs|discreet|discreta|discrete|donations?|"
    r"qv|hh|gfe|companion|escort|acompanhante|acompanante|massage|masaje|erotic|sexy|xxx|hookup|dates?)\b|"
    r"мужчин|妹妹|约|คุณผู้ชาย"
)


_TWO_DIGITS = re.compile(r"\d{2}")


def _is_audience(text: str, start: int, end: int, adult_service: bool) -> bool:
    """Whether the age at ``text[start:end]`` is part of a range or follows an audience word, in an
    ad that is not for adult services (``adult_service``: :data:`_ADULT_SERVICE` occurs in ``text``)."""
    if adult_service:
        return False
    before = text[max(0, start - 40) : start]
    number = _TWO_DIGITS.search(text, start, end)
    after = text[number.end() : number.end() + 12] if number else ""
    lead = text[max(0, start - 40) : number.start() if number else start]
    return bool(_RANGE_BEFORE.search(lead) or _RANGE_AFTER.match(after) or _AUDIENCE_BEFORE.search(lead)
                or (before != lead and _AUDIENCE_BEFORE.search(before)))
_EXPERIENCE_CONTEXT = re.compile(
    r"\b(?:experience[ds]?|exp|certified|career|worked|working|nanny|tutor|teacher|licensed|trained|business)\b")


def _is_experience(text: str, start: int, end: int) -> bool:
    """Whether a bare "N years" is about experience ("experienced nanny (10 years, CPR certified)")."""
    return bool(_EXPERIENCE_CONTEXT.search(text, max(0, start - 40), min(len(text), end + 40)))


# A two-digit number alone, or a teen word; the look-ahead lets ``re`` pass other characters at once.
_AGE_HINT = re.compile(r"(?=[\dt])(?:(?<!\d)\d{2}(?!\d)|teen|twelve|twenty)")


def find_ages(text: str, candidates: set[int] | None = None) -> list[FoundAge]:
    """Ages the ad states about its subject (10–79), written as digits or teen number words.

    ``candidates``: what :func:`amount_candidates` says of ``text``, when the caller already asked.
    """
    first = len(_PRICE_PATTERNS)
    if candidates is not None and candidates.isdisjoint(range(first, first + len(_AGE_PATTERNS))):
        return []  # the caller's pass found no age expression that can match
    if _AGE_HINT.search(text) is None:
        return []  # most posts: only phone numbers and prices, nothing that can be an age
    found: list[FoundAge] = []
    taken = Claimed(len(text))
    if candidates is None:
        candidates = amount_candidates(text)
    adult_service: bool | None = None  # the same for every age of the post: looked up once, when needed
    for pattern in (p for i, p in enumerate(_AGE_PATTERNS, first) if i in candidates):
        for m in pattern.finditer(text):
            if pattern is _BARE_YEARS and _is_experience(text, m.start(), m.end()):
                continue
            if adult_service is None:
                adult_service = _ADULT_SERVICE.search(text) is not None
            if _is_audience(text, m.start(), m.end(), adult_service):
                taken.claim(m.start(), m.end())
                continue
            raw = m.group(1)
            age = _TEEN_WORDS[raw] if raw in _TEEN_WORDS else int(raw)
            if not 10 <= age <= 79 or taken.overlaps(m.start(), m.end()):
                continue
            found.append(FoundAge(age, m.start(), m.end()))
            taken.claim(m.start(), m.end())
    found.sort(key=lambda a: a.start)
    return found

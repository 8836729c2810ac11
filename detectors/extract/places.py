"""City and region names mentioned in an ad, from a small bundled gazetteer.

Locations place an ad on the map and reveal circuits (one contact advertised in several cities). A
full gazetteer is a later concern; this list covers large US/Canadian/UK cities, US states and
Canadian provinces, and a few international hubs. Names that are also everyday words or common first
names ("Mobile", "Reading", "Charlotte", "Victoria") are left out on purpose: a false location would
create false links between ads. Matching uses ``pyahocorasick`` (one pass over the text for every
name at once) rather than one regular expression per name.
"""

from __future__ import annotations

from dataclasses import dataclass

import ahocorasick

__all__ = ["FoundPlace", "find_places"]

_CITIES = """
new york|new york city|nyc|los angeles|chicago|houston|phoenix|philadelphia|san antonio|san diego|dallas|
san jose|fort worth|jacksonville|columbus|indianapolis|san francisco|seattle|denver|oklahoma city|
nashville|washington dc|el paso|las vegas|boston|portland|louisville|memphis|detroit|baltimore|
milwaukee|albuquerque|tucson|fresno|sacramento|kansas city|mesa|atlanta|omaha|colorado springs|raleigh|
long beach|virginia beach|miami|oakland|minneapolis|tulsa|bakersfield|wichita|arlington|tampa|
new orleans|cleveland|honolulu|anaheim|lexington|stockton|corpus christi|henderson|riverside|newark|
saint paul|st paul|santa ana|cincinnati|irvine|orlando|pittsburgh|st louis|saint louis|greensboro|
jersey city|anchorage|lincoln|plano|durham|buffalo|chandler|chula vista|toledo|gilbert|reno|
fort wayne|north las vegas|st petersburg|lubbock|laredo|norfolk|winston salem|glendale|scottsdale|
boise|birmingham|richmond|spokane|des moines|montgomery|modesto|fayetteville|tacoma|shreveport|
fontana|oxnard|yonkers|huntington beach|salt lake city|little rock|amarillo|grand rapids|knoxville|
tallahassee|huntsville|worcester|providence|fort lauderdale|chattanooga|sioux falls|hartford|
savannah|syracuse|rochester|akron|baton rouge|dayton|fort myers|daytona beach|myrtle beach|atlantic city|
palm springs|hollywood|brooklyn|queens|bronx|manhattan|harlem|compton|inglewood|long island|
toronto|montreal|vancouver|calgary|edmonton|ottawa|winnipeg|hamilton|mississauga|halifax|
london|manchester|liverpool|leeds|glasgow|edinburgh|bristol|sheffield|cardiff|belfast|
tijuana|mexico city|guadalajara|monterrey|cancun|paris|berlin|amsterdam|madrid|barcelona|dubai|
bangkok|manila|lagos|sydney|melbourne|auckland
"""
_REGIONS = """
alabama|alaska|arizona|arkansas|california|colorado|connecticut|delaware|florida|georgia|hawaii|idaho|
illinois|indiana|iowa|kansas|kentucky|louisiana|maine|maryland|massachusetts|michigan|minnesota|
mississippi|missouri|montana|nebraska|nevada|new hampshire|new jersey|new mexico|north carolina|
north dakota|ohio|oklahoma|oregon|pennsylvania|rhode island|south carolina|south dakota|tennessee|
texas|utah|vermont|virginia|washington|west virginia|wisconsin|wyoming|ontario|quebec|
british columbia|alberta|manitoba|saskatchewan|nova scotia|new brunswick|socal|norcal|bay area|
tri state|dmv
"""
_DISPLAY = {"nyc": "New York", "new york city": "New York", "washington dc": "Washington DC",
            "st paul": "Saint Paul", "st louis": "Saint Louis", "st petersburg": "Saint Petersburg",
            "socal": "Southern California", "norcal": "Northern California", "dmv": "DMV",
            "bay area": "Bay Area"}


def _names(block: str) -> list[str]:
    return [n.strip() for n in block.replace("\n", "").split("|") if n.strip()]


def _build() -> ahocorasick.Automaton:
    automaton = ahocorasick.Automaton()
    for kind, block in (("city", _CITIES), ("region", _REGIONS)):
        for name in _names(block):
            display = _DISPLAY.get(name, name.title())
            automaton.add_word(name, (len(name), kind, display))
    automaton.make_automaton()
    return automaton


_AUTOMATON = _build()


@dataclass(frozen=True, slots=True)
class FoundPlace:
    name: str
    kind: str  # "city" or "region"
    start: int
    end: int


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def find_places(text: str) -> list[FoundPlace]:
    """Place names standing as whole words; the longest wins where names overlap."""
    hits: list[FoundPlace] = []
    for end_index, (length, kind, display) in _AUTOMATON.iter(text):
        start, end = end_index - length + 1, end_index + 1
        if (start > 0 and _is_word_char(text[start - 1])) or (end < len(text) and _is_word_char(text[end])):
            continue
        hits.append(FoundPlace(display, kind, start, end))
    hits.sort(key=lambda p: (p.start, -(p.end - p.start)))
    kept: list[FoundPlace] = []
    for hit in hits:
        if kept and hit.start < kept[-1].end:
            continue
        kept.append(hit)
    return kept


def canonical_place(raw: str) -> str:
    """The display form for a place name given in a post's structured location."""
    key = " ".join(raw.casefold().replace(".", "").split())
    return _DISPLAY.get(key, " ".join(raw.split()).title() if raw.islower() or raw.isupper() else raw.strip())

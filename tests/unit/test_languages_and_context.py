"""Languages, stated ages, context and the false alarms and extraction bugs named in issue 12."""

from __future__ import annotations

from functools import cache

import pytest

from tests.shipped_patterns import shipped_library
from trailhound.alerts.scoring import assess
from trailhound.detectors.detector_set import DetectorSet
from trailhound.detectors.extract import extract_entities
from trailhound.detectors.extract.amounts import find_ages, find_prices
from trailhound.detectors.language import detect_language
from trailhound.detectors.normalize import normalize
from trailhound.streams.enrich import enrich_post

LIBRARY = shipped_library()


@cache
def detectors() -> DetectorSet:
    """The shipped library without online models, compiled on first use."""
    return DetectorSet(LIBRARY)


def judged(body: str):
    post = {"id": "t-1", "source": "test.example", "posted_at": "2025-06-01T12:00:00Z", "body": body}
    enriched = enrich_post(post, 0.0)
    return assess(detectors().score(enriched), 0.5, detectors().supporting_categories), enriched


def ages(text: str) -> list[int]:
    return [a.age for a in find_ages(normalize(text).text)]


# ------------------------------------------------------------------------------------------------
# Language


@pytest.mark.parametrize(("text", "language"), [
    ("New in town this week, sweet and fun, text me", "en"),
    ("Recién llegada a la ciudad, muy cariñosa, llámame", "es"),
    ("Acabei de chegar na cidade, atendimento discreto, me chama", "pt"),
    ("Nouvelle en ville, disponible ce soir, appelez-moi", "fr"),
    ("Новенькая в городе, свободна сегодня, звоните", "ru"),
    ("新到本地，今晚有空，请联系", "zh"),
    ("Bagong dating sa lungsod, available ngayong gabi", "tl"),
    ("Nouă în oraș, disponibilă azi, sunați-mă", "ro"),
    ("Mới đến thành phố, tối nay rảnh, gọi em", "vi"),
    ("มาใหม่ในเมือง ว่างคืนนี้ โทรมา", "th"),
    ("ｎｅｗ ｉｎ ｔｏｗｎ ｔｈｉｓ ｗｅｅｋ, text me", "en"),
])
def test_the_language_of_a_post_is_detected(text: str, language: str) -> None:
    assert detect_language(text) == language


def test_a_post_without_words_has_no_language() -> None:
    assert detect_language("💋💋 212-555-0101") == "und"


def test_the_language_travels_in_the_enriched_record() -> None:
    _, enriched = judged("Tiene 16 años, hable con el encargado que maneja las citas")
    assert enriched["language"] == "es"


# ------------------------------------------------------------------------------------------------
# Stated ages


@pytest.mark.parametrize(("text", "age"), [
    ("Tiene 16 años", 16), ("chiquita de 16", 16), ("Elle a 17 ans", 17), ("Ей 16 лет", 16), ("她16岁", 16),
    ("才17岁", 17), ("年龄 15", 15), ("Tem 15 anos", 15), ("16 anyos lang", 16), ("Are 16 ani", 16),
    ("Em 16 tuổi", 16), ("น้องอายุ 17 ปี", 17), ("she is only 17.", 17), ("17 but mature for her age", 17),
    ("17 pero madura", 17), ("edad 17", 17), ("idade 16", 16),
])
def test_stated_ages_in_every_language(text: str, age: int) -> None:
    assert ages(text) == [age]


@pytest.mark.parametrize("text", [
    "only 17 spots left", "only 17/hr", "Summer soccer camp for ages 12-15",
    "Our swim team accepts girls 12-16 years old",
    "Campamento de verano para niños de 8 a 12 años", "Летний лагерь для детей 10-15 лет", "夏令营招收12至15岁儿童",
    "Art class for kids aged 10 to 13", "Tabără de vară pentru copii de 12-16 ani",
    "Trại hè cho trẻ từ 12 đến 16 tuổi", "ค่ายฤดูร้อนสำหรับเด็กอายุ 12-16 ปี",
])
def test_counts_and_audiences_of_youth_programmes_are_not_stated_ages(text: str) -> None:
    assert ages(text) == []


def test_a_range_in_an_adult_services_ad_is_a_stated_age() -> None:
    assert 16 in ages("Girls 15-16 years old, incall only, discreet")


@pytest.mark.parametrize("body", [
    "Summer soccer camp for ages 12-15, coaches certified. Tel: 305-555-0121",
    "Our swim team accepts girls 12-16 years old, tryouts Monday. SMS 612-555-0192",
    "Daycare openings for toddlers, ages 1 to 4; licensed staff.",
    "Teen coding club, ages 13-17, free laptops provided.",
])
def test_youth_programmes_stating_ages_are_not_alerted(body: str) -> None:
    result, _ = judged(body)
    assert not result.should_alert
    assert "youth.stated_minor_age" not in {i.pattern_id for i in result.indicators}


def test_a_minor_age_in_an_adult_services_ad_is_critical() -> None:
    result, _ = judged("Sweet girl, 16 yo, new here. Incall only, discreet. 212-555-0101")
    assert result.should_alert
    assert result.severity == "critical"


# ------------------------------------------------------------------------------------------------
# Negation, wages, pets: the named false alarms


@pytest.mark.parametrize("body", [
    "Hiring cooks: no placement fee, you keep your passport at all times, paid weekly.",
    "Nanny position, $18 an hour, references required, no documents needed to apply online.",
    "Legit agency: we never hold your documents and never charge a fee.",
    "Warehouse associates $17/hr, weekends off, no experience needed.",
    "Young kittens ready for new homes, ask for Maria.",
    "y\u2800o\u2800u\u2800n\u2800g kittens ready for new homes, ask for Maria.",
    "Empleo en bodega, usted conserva su pasaporte siempre, pago semanal.",
    "Você fica com o seu passaporte, pagamento semanal, vaga em armazém.",
])
def test_named_false_alarms_are_not_raised(body: str) -> None:
    result, _ = judged(body)
    assert not result.should_alert, [(i.pattern_id, i.evidence) for i in result.indicators]


def test_negated_indicators_do_not_count_but_the_plain_ones_do() -> None:
    negated, _ = judged("Farm work abroad, you keep your passport, the employer never holds documents")
    plain, _ = judged("Farm work abroad, the employer keeps your passport during the contract")
    assert "labour_documents.employer_holds_passport" not in {i.pattern_id for i in negated.indicators}
    assert "labour_documents.employer_holds_passport" in {i.pattern_id for i in plain.indicators}


def test_an_hourly_wage_is_not_a_price_of_sex() -> None:
    wage = find_prices(normalize("Warehouse associates $17/hr, weekends off").text)
    rate = find_prices(normalize("Sweet girl, $60/hr incall").text)
    assert [p.price.unit for p in wage] == ["hourly_wage"]
    assert [p.price.unit for p in rate] == ["hour"]


def test_young_kittens_are_not_youth() -> None:
    result, _ = judged("Young kittens ready for new homes, ask for Maria.")
    assert not any(i.category == "youth" for i in result.indicators)


# ------------------------------------------------------------------------------------------------
# The two extraction bugs


def test_a_plain_number_followed_by_i_is_not_obscured() -> None:
    entities = extract_entities(normalize("Text only 612-555-0162, I reply fast"))
    assert entities.phones == ("+16125550162",)
    assert not entities.contact_obfuscated


def test_letters_standing_for_digits_keep_every_digit() -> None:
    entities = extract_entities(normalize("call 612-555-Ol4O now"))
    assert entities.phones == ("+16125550140",)
    assert entities.contact_obfuscated


# ------------------------------------------------------------------------------------------------
# Languages raise their indicators


@pytest.mark.parametrize("body", [
    "Chica nueva, tiene 16 años. WhatsApp 305-555-0164",
    "Novinha de 15 anos, meu agente marca tudo, ligue para ele",
    "Elle a 17 ans, mon manager s'occupe des rendez-vous",
    "Ей 16 лет. Ей не пишите, звоните администратору",
    "学生妹 才16岁 不要直接联系她，找老板安排",
    "16 anyos lang, ang bugaw ang sumasagot",
    "Are 16 ani. Proxenetul raspunde la telefon",
    "Em 16 tuổi. Má mì nghe máy",
    "น้องอายุ 16 ปี แมงดารับสาย",
    "Se buscan trabajadores en el extranjero, el patrón guarda el pasaporte, se descuentan del sueldo los pasajes",
])
def test_ads_in_every_language_are_alerted(body: str) -> None:
    result, _ = judged(body)
    assert result.should_alert, [(i.pattern_id, i.evidence) for i in result.indicators]


def test_tolerant_matching_catches_a_typo_only_when_switched_on() -> None:
    from trailhound.detectors.matcher import PatternMatcher

    text = normalize("barelly legal cutie")
    exact = PatternMatcher(LIBRARY.without_tolerance())
    tolerant = PatternMatcher(LIBRARY)
    assert "youth.barely_legal" not in {i.pattern_id for i in exact.match(text, extract_entities(text))}
    found = {i.pattern_id: i.evidence for i in tolerant.match(text, extract_entities(text))}
    assert found.get("youth.barely_legal") == "barelly legal"


def test_the_post_document_carries_the_language_and_gives_it_back() -> None:
    from trailhound.alerts.post_documents import enriched_from_document, post_document
    from trailhound.config import Settings

    result, enriched = judged("Se busca ayudante de cocina, pago semanal, sin costo de colocación")
    action = post_document(enriched, result, None, Settings.from_env())
    assert action["_source"]["language"] == "es"
    assert enriched_from_document(action["_source"])["language"] == "es"


def test_an_indicator_that_is_itself_negative_survives_a_negation_before_it() -> None:
    result, _ = judged("Farm work abroad. No placement fee, no days off in peak season")
    assert "labour_conditions.no_rest_wages_held" in {i.pattern_id for i in result.indicators}


def test_the_language_tables_load_from_the_cache_and_a_damaged_cache_is_rebuilt(tmp_path) -> None:
    from trailhound.detectors.language import LanguageDetector

    built = LanguageDetector(cache_dir=tmp_path)
    (cached,) = tmp_path.glob("langid-*.npz")
    loaded = LanguageDetector(cache_dir=tmp_path)
    texts = ["Nouvelle en ville, disponible ce soir", "Новенькая в городе", "Mới đến thành phố, gọi em"]
    assert [loaded.detect(t) for t in texts] == [built.detect(t) for t in texts] == ["fr", "ru", "vi"]
    cached.write_bytes(b"not a numpy archive")
    assert LanguageDetector(cache_dir=tmp_path).detect(texts[0]) == "fr"

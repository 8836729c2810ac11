"""The evasions ad writers use, applied on purpose so the generator exercises normalisation.

Each function takes one word (or one phone number) and a seeded :class:`random.Random`, and returns the
disguised form. The tricks are the ones the field reports (homoglyphs, letter spacing, leetspeak,
zero-width characters, keycap-emoji digits, digits written as words, ``O`` for zero); applying them
here means every synthetic feed tests the normaliser and the entity extractor, not just the matcher.
"""

from __future__ import annotations

import random

__all__ = [
    "WORD_TRICKS",
    "disguise_email",
    "disguise_phone",
    "disguise_word",
    "national",
    "PHONE_STYLES",
]

# Cyrillic and Greek letters that render like Latin ones.
_HOMOGLYPHS: dict[str, tuple[str, ...]] = {
    "a": ("\u0430",),
    "c": ("\u0441",),
    "e": ("\u0435",),
    "i": ("\u0456", "\u03b9"),
    "o": ("\u043e", "\u03bf"),
    "p": ("\u0440",),
    "x": ("\u0445",),
    "y": ("\u0443",),
}
_LEET = {"o": "0", "e": "3", "a": "4", "i": "1", "s": "5", "t": "7"}
_ZERO_WIDTH = ("\u200b", "\u200c", "\u200d", "\u2060")
_DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
_SPANISH = ("cero", "uno", "dos", "tres", "cuatro", "cinco", "seis", "siete", "ocho", "nueve")
_KEYCAP = "\ufe0f\u20e3"


def _homoglyph(word: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(word) if ch.lower() in _HOMOGLYPHS]
    if not spots:
        return word
    chars = list(word)
    for i in rng.sample(spots, k=min(len(spots), rng.randint(1, 2))):
        chars[i] = rng.choice(_HOMOGLYPHS[chars[i].lower()])
    return "".join(chars)


def _spaced(word: str, rng: random.Random) -> str:
    return rng.choice((" ", ".", "-", "*", "_")).join(word)


def _leet(word: str, rng: random.Random) -> str:
    spots = [i for i, ch in enumerate(word) if ch.lower() in _LEET]
    if not spots:
        return word
    keep = set(rng.sample(spots, k=rng.randint(0, len(spots) - 1)))
    return "".join(_LEET[ch.lower()] if i in spots and i not in keep else ch for i, ch in enumerate(word))


def _zero_width(word: str, rng: random.Random) -> str:
    if len(word) < 2:
        return word
    cut = rng.randint(1, len(word) - 1)
    return word[:cut] + rng.choice(_ZERO_WIDTH) + word[cut:]


def _fullwidth(word: str, rng: random.Random) -> str:
    return "".join(chr(ord(ch) + 0xFEE0) if "!" <= ch <= "~" else ch for ch in word)


WORD_TRICKS = {
    "homoglyph": _homoglyph,
    "spacing": _spaced,
    "leetspeak": _leet,
    "zero_width": _zero_width,
    "fullwidth": _fullwidth,
}


def disguise_word(word: str, rng: random.Random, trick: str | None = None) -> tuple[str, str]:
    """Return ``(disguised word, trick name)``; ``trick`` picks one, otherwise one that changes the word."""
    if trick is not None:
        return WORD_TRICKS[trick](word, rng), trick
    names = sorted(WORD_TRICKS)
    rng.shuffle(names)
    for name in names:
        disguised = WORD_TRICKS[name](word, rng)
        if disguised != word:
            return disguised, name
    return word, "none"


def national(e164: str) -> str:
    """``+13125550142`` → ``312-555-0142`` (the plain way a phone is written in an ad)."""
    digits = e164[-10:]
    return f"{digits[:3]}-{digits[3:6]}-{digits[6:]}"


def _as_words(digits: str, rng: random.Random, words: tuple[str, ...]) -> str:
    out = []
    for d in digits:
        if d == "0" and words is _DIGIT_WORDS and rng.random() < 0.5:
            out.append("oh")
        else:
            out.append(words[int(d)])
    return " ".join(out)


def _phone_words(d: str, rng: random.Random) -> str:
    return _as_words(d, rng, _DIGIT_WORDS)


def _phone_mixed(d: str, rng: random.Random) -> str:
    # "3one2 5five5 0one4two": every other digit becomes a word.
    parts = []
    for group in (d[:3], d[3:6], d[6:]):
        parts.append("".join(_DIGIT_WORDS[int(c)] if i % 2 else c for i, c in enumerate(group)))
    return " ".join(parts)


def _phone_emoji(d: str, rng: random.Random) -> str:
    return " ".join("".join(c + _KEYCAP for c in g) for g in (d[:3], d[3:6], d[6:]))


def _phone_letters(d: str, rng: random.Random) -> str:
    swapped = d.replace("0", "O").replace("1", "l")
    return f"{swapped[:3]}.{swapped[3:6]}.{swapped[6:]}"


def _phone_spaced(d: str, rng: random.Random) -> str:
    return " ".join(d)


def _phone_split(d: str, rng: random.Random) -> str:
    return f"{d[:3]} ... {_as_words(d[3:6], rng, _DIGIT_WORDS)} ... {d[6:]}"


def _phone_spanish(d: str, rng: random.Random) -> str:
    return f"{d[:3]} {_as_words(d[3:], rng, _SPANISH)}"


PHONE_STYLES = {
    "phone_words": _phone_words,
    "phone_mixed": _phone_mixed,
    "phone_emoji_digits": _phone_emoji,
    "phone_letter_o": _phone_letters,
    "phone_spaced": _phone_spaced,
    "phone_split": _phone_split,
    "phone_spanish": _phone_spanish,
}


def disguise_phone(e164: str, rng: random.Random, style: str | None = None) -> tuple[str, str]:
    """Return ``(disguised phone, style name)`` for a +1 number."""
    name = style or rng.choice(sorted(PHONE_STYLES))
    return PHONE_STYLES[name](e164[-10:], rng), name


def disguise_email(email: str) -> str:
    """``rose7@example.com`` → ``rose7 at example dot com``."""
    user, _, domain = email.partition("@")
    return f"{user} at {domain.replace('.', ' dot ')}"

"""Word-shaped kinds (person names, addresses), checked in Python on a sample of cells.

These kinds are decided by their share of a column, so a sample per chunk is
enough; plain Python beats compiling large Unicode RE2 programs per chunk.
"""

from __future__ import annotations

import re

from publisher.privacy.lexicon import GIVEN_NAMES, SURNAMES, fold
from publisher.privacy.patterns import NOT_A_PERSON_BEFORE

_LETTER = r"[^\W\d_]"
LETTERS_ONLY = re.compile(rf"^\s*{_LETTER}(?:{_LETTER}|['’.,\s-])*$")
_NAME_TOKEN = re.compile(rf"^{_LETTER}[{_LETTER[1:-1]}'’-]*\.?$")
_SPLIT = re.compile(r"[\s,]+")
PARTICLES = frozenset({"de", "del", "la", "las", "los", "y", "da", "di", "van", "von", "el"})
TITLES = frozenset({"dr", "dra", "sr", "sra", "srta", "lic", "ing", "prof"})
_STREET = r"(?:av|avda|avenida|bv|bvd|bvard|boulevard|calle|pje|pasaje|diag|diagonal|ruta|camino|pasillo)"
ADDRESS = re.compile(
    rf"^\s*(?:{_STREET}\.?\s+)?{_LETTER}[\w.'’ ]*?\s+(?:n[º°o]\.?\s*)?\d{{2,5}}\b", re.IGNORECASE)
ADDRESS_PREFIXED = re.compile(rf"^\s*{_STREET}\.?\s+\w[\w.'’ ]*?\s+(?:n[º°o]\.?\s*)?\d{{1,5}}\b", re.IGNORECASE)
KNOWN_NAMES = GIVEN_NAMES | SURNAMES


def _tokens(value: str) -> list[str]:
    return [t for t in _SPLIT.split(value.strip()) if t]


def name_shape(value: str) -> bool:
    """Two to six capitalised words (particles allowed): ``Juan Pérez``, ``PÉREZ, Juan``."""
    tokens = _tokens(value)
    if not 2 <= len(tokens) <= 6 or not tokens[0][:1].isupper():
        return False
    return all(t.lower() in PARTICLES or _NAME_TOKEN.match(t) for t in tokens)


def known_name(value: str) -> bool:
    """Holds a common given name or surname as a whole word."""
    return any(fold(t).strip(".") in KNOWN_NAMES for t in _tokens(value))


def given_first(value: str) -> bool:
    """Starts with a given name (after a title), or has one right after a comma (``PÉREZ, Juan``)."""
    tokens = _tokens(value)
    if tokens and fold(tokens[0]).strip(".") in TITLES:
        tokens = tokens[1:]
    if tokens and fold(tokens[0]) in GIVEN_NAMES:
        return True
    _, comma, after = value.partition(",")
    rest = _tokens(after) if comma else []
    return bool(rest) and fold(rest[0]) in GIVEN_NAMES


_UPPER = "A-ZÁÉÍÓÚÑÜ"
_GIVEN_WORD = re.compile(r"\b([^\W\d_]+)(?=(\s+(?:[" + _UPPER + r"]\.\s+)?[" + _UPPER + r"][^\W\d_'’]+))")
_TITLED = re.compile(r"\b(?:sr|sra|srta|señor|señora|senor|senora)\.?\s+([" + _UPPER + r"][^\W\d_'’]+)", re.IGNORECASE)
_EXCLUDED = frozenset(NOT_A_PERSON_BEFORE)
# "el Sr. Intendente" names an office, not a person.
_OFFICE_WORDS = """
intendente intendenta director directora secretario secretaria presidente presidenta gobernador gobernadora
ministro ministra concejal concejala juez jueza fiscal defensor defensora subsecretario subsecretaria
diputado diputada senador senadora rector rectora decano decana coordinador coordinadora jefe jefa
"""
OFFICES = frozenset(_OFFICE_WORDS.split())


def person_in_prose(text: str) -> str | None:
    """The first person's name in prose (``llamar a Juan Pérez``), or None.

    A given name written capitalised, followed by a capitalised word, and not
    right after a word that makes it an institution's or a street's name
    (``Hospital Juan Fernández``, ``Av. San Martín``); or a title (Sr., Sra.)
    and a capitalised word.
    """
    for match in _GIVEN_WORD.finditer(text):
        first = match.group(1)
        if fold(first) not in GIVEN_NAMES or not (first[:1].isupper() and first[1:2].islower()):
            continue
        before = text[: match.start()].split()
        if before and before[-1].lower() in _EXCLUDED:
            continue
        return match.group(1) + match.group(2)
    titled = _TITLED.search(text)
    if titled and titled.group(1)[1:2].islower() and fold(titled.group(1)) not in OFFICES:
        return titled.group(0)
    return None

"""The value patterns, written for RE2 (what pyarrow.compute runs, vectorised).

``*_FULL`` patterns match a whole cell; ``*_TEXT`` patterns find a value
inside longer text and demand context (a keyword, dashes, an area code) so
that amounts, file numbers and budget codes in prose are not taken for
personal data.
"""

from __future__ import annotations

import re

# Cells worth a closer look for the structured kinds (e-mail, DNI, CUIT, phone,
# card, IP, URL): one cheap pass over every cell.
CANDIDATE = (
    r"@|%40|\d[\d.\-() /+]{4,}\d|[0-9a-fA-F]{1,4}:[0-9a-fA-F]{0,4}:[0-9a-fA-F]{0,4}:"
)

EMAIL = r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
EMAIL_FULL = rf"^\s*(?:mailto:)?{EMAIL}\s*$"
EMAIL_TEXT = rf"(?P<span>{EMAIL})"

URL_SECRET_TEXT = (
    r"(?i)(?P<span>(?:https?://|www\.)[^\s?]*\?\S*?(?:@|%40|(?:token|key|apikey|api_key|access_token|auth|sig|"
    r"signature|password|passwd|pwd|secret|session|sid|email|mail|correo|dni|cuit|cuil)=[^&\s]{4,}))"
)

CUIT_FULL = r"^\s*(?:20|23|24|27|30|33|34)-?\d{8}-?\d\s*$"
CUIT_DASHED_TEXT = r"(?:^|[^\d-])(?P<span>(?:20|23|24|27|30|33|34)-\d{8}-\d)(?:[^\d-]|$)"
CUIT_KEYWORD_TEXT = (
    r"(?i)cui[tl]\.?\s*(?:n[º°o]\.?|nro\.?)?\s*:?\s*(?P<span>(?:20|23|24|27|30|33|34)-?\d{8}-?\d)(?:\D|$)"
)

DNI_FULL = r"^\s*(?:\d{1,2}\.\d{3}\.\d{3}|\d{7,8})\s*$"
DNI_DOTTED_FULL = r"^\s*\d{1,2}\.\d{3}\.\d{3}\s*$"
DNI_TEXT = (
    r"(?i)(?:d\.?\s?n\.?\s?i\.?|documento|l\.?\s?e\.?|l\.?\s?c\.?)\s*(?:n[º°o]\.?|nro\.?|n[uú]mero)?\s*:?\s*"
    r"(?P<span>\d{1,2}\.?\d{3}\.?\d{3})(?:[^\d.]|$)"
)

# With an area code the exchange may have 2 digits ((02477) 40-9937); without one it needs 3-4,
# so that "03-2024" (a month) is not a phone.
_PHONE = (
    r"(?:\+?54[\s-]?(?:9[\s-]?)?)?(?:(?:\(0?\d{2,4}\)[\s-]?|0?\d{2,4}[\s-])(?:15[\s-]?)?\d{2,4}"
    r"|(?:15[\s-]?)?\d{3,4})[\s-]?\d{4}"
)
_PHONE_PLAIN = r"\+?(?:54)?9?0?\d{10}"
PHONE_FULL = rf"^\s*(?:{_PHONE}|{_PHONE_PLAIN})(?:\s*(?:/|,|;|-|y|o)\s*(?:{_PHONE}))*\s*$"
# Formatted as a phone (not a bare integer): separators, parentheses, +, or a trunk 0.
PHONE_FORMATTED = r"^\s*(?:[+(0]|.*[\s\-()])"
# In text: with a country code, an area code in parentheses or with a trunk 0, a
# 15 mobile prefix, three groups (341-555-1234), or a keyword right before it.
PHONE_TEXT = (
    r"(?i)(?:^|[^\d\-.])(?P<span>\+54[\s-]?(?:9[\s-]?)?\d{2,4}[\s-]?(?:15[\s-]?)?\d{2,4}[\s-]?\d{4}"
    r"|\(0?\d{2,4}\)\s?(?:15[\s-]?)?\d{2,4}[\s-]?\d{4}"
    r"|0\d{2,4}[\s-](?:15[\s-]?)?\d{2,4}[\s-]?\d{4}"
    r"|\d{2,4}[\s-]15[\s-]?\d{3,4}[\s-]?\d{4}"
    r"|\b15[\s-]\d{2,4}[\s-]?\d{4}"
    r"|\d{2,4}-\d{3,4}-\d{4})(?:[^\d\-]|$)"
    r"|(?:tel[eé]fono|tel\.?|cel\.?|celular|whatsapp|llamar(?:\s+a(?:\s+\S+){1,4})?\s+al)\s*:?\s*"
    r"(?P<kspan>(?:\d{2,4}[\s-])?(?:15[\s-]?)?\d{2,4}[\s-]?\d{4})(?:[^\d\-]|$)"
)

_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
IPV4 = rf"{_OCTET}(?:\.{_OCTET}){{3}}"
IP_FULL = (
    rf"^\s*(?:{IPV4}|(?:[0-9a-fA-F]{{1,4}}:){{7}}[0-9a-fA-F]{{1,4}}|"
    r"(?:[0-9a-fA-F]{1,4}:){1,6}:(?:[0-9a-fA-F]{1,4}:?){1,6})\s*$"
)
# An octet of three digits: budget codes (1.01.01.01) and versions (1.2.3.4) have none.
IP_WIDE_OCTET = r"(?:^|[.\s])(?:25[0-5]|2[0-4]\d|1\d\d)(?:\.|\s*$)|:"
IP_TEXT = rf"(?:^|[^\d.])(?P<span>{IPV4})(?:[^\d.]|$)"

CARD_FULL = r"^\s*(?:\d[ -]?){12,18}\d\s*$"
CARD_TEXT = r"(?:^|\D)(?P<span>(?:\d{4}[ -]){3}\d{1,7}|\d{4}[ -]\d{6}[ -]\d{5})(?:\D|$)"

DATE_LIKE = r"^\s*(?:\d{4}-\d{1,2}-\d{1,2}(?:[T ].*)?|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4})\s*$"
PRECISE_COORDINATE = r"-?\d{1,3}\.\d{4,}"
COORDINATE_FULL = rf"^\s*(?:{PRECISE_COORDINATE}|.*{PRECISE_COORDINATE}[\s,;]+{PRECISE_COORDINATE}.*)\s*$"

# In prose: two capitalised words (Juan Pérez, Juan B. Alberdi) or a title and a capitalised word.
# A cheap prefilter: shapes.person_in_prose confirms (a known given name, "Hospital Juan Fernández").
NAME_TEXT = (
    r"[A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]+\s+(?:[A-ZÁÉÍÓÚÑÜ]\.\s+)?[A-ZÁÉÍÓÚÑÜ][a-záéíóúñü]"
    r"|(?i:sr|sra|srta|señor|señora|senor|senora)\.?\s+[A-ZÁÉÍÓÚÑÜ]"
)
NOT_A_PERSON_BEFORE = (
    "hospital", "escuela", "colegio", "calle", "av", "av.", "avenida", "bv", "bv.", "boulevard", "plaza",
    "parque", "barrio", "club", "centro", "instituto", "biblioteca", "fundación", "fundacion", "pasaje",
    "pje", "pje.", "ruta", "partido", "san", "santa", "sanatorio", "jardín", "jardin", "museo", "teatro",
    "estación", "estacion", "villa", "puerto", "general", "presidente", "doctor", "dr.", "gral.", "dr", "dra",
    "dra.", "hosp", "hosp.", "inst", "inst.", "samco", "don", "doña", "dona", "clínica", "clinica", "capitán",
    "coronel", "teniente", "almirante", "ingeniero", "monseñor", "fray", "padre", "beato", "premio", "cátedra",
)


def _unnamed(pattern: str) -> str:
    """A pattern as one alternative of a union: named groups dropped, (?i) scoped."""
    body = re.sub(r"\(\?P<\w+>", "(", pattern)
    return f"(?i:{body[4:]})" if body.startswith("(?i)") else f"(?:{body})"


# Prose worth the specific text patterns: any of them matches (one pass instead of six).
TEXT_NUMBERS = "|".join(_unnamed(p) for p in (CUIT_DASHED_TEXT, CUIT_KEYWORD_TEXT, DNI_TEXT, PHONE_TEXT,
                                               CARD_TEXT, IP_TEXT))

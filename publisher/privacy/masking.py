"""Masked samples: enough to recognise the kind of value, never the value.

Every sample that leaves the privacy screen (findings, logs, errors, the
``screen`` command) goes through ``mask_value``. The rules keep at most the
first letter of a word, an e-mail's domain, a CUIT/CUIL's prefix and check
digit, or the last two digits of a number, and replace the rest with ``*``.
"""

from __future__ import annotations

import re

_DIGIT = re.compile(r"\d")
_WORD = re.compile(r"[^\W\d_]+")
_NON_SEPARATOR = re.compile(r"[^\s.,;:/()\-]")


def mask_email(value: str) -> str:
    """``juan.perez@gmail.com`` -> ``j***@gmail.com``."""
    local, _, domain = value.strip().partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***@***"


def mask_cuit(value: str) -> str:
    """``20-12345678-3`` -> ``20-****-3``."""
    digits = re.sub(r"\D", "", value)
    return f"{digits[:2]}-****-{digits[-1:]}" if len(digits) == 11 else mask_digits(value)


def mask_digits(value: str, keep_last: int = 2) -> str:
    """Every digit but the last ``keep_last`` becomes ``*``: ``341-555-1234`` -> ``***-***-**34``."""
    total = sum(c.isdigit() for c in value)
    seen = 0
    out = []
    for char in value:
        if char.isdigit():
            seen += 1
            out.append(char if seen > total - keep_last else "*")
        elif char.isalpha():
            out.append("*")
        else:
            out.append(char)
    return "".join(out)


def mask_words(value: str) -> str:
    """``Juan Pérez`` -> ``J*** P***``; digits become ``*`` too."""
    masked = _WORD.sub(lambda m: m.group(0)[:1] + "***", value)
    return _DIGIT.sub("*", masked)


def mask_ip(value: str) -> str:
    """``192.168.10.20`` -> ``192.*.*.*`` (IPv6: the first group)."""
    text = value.strip()
    separator = "." if "." in text else ":"
    head = text.split(separator)[0]
    return head + (separator + "*") * 3


def mask_card(value: str) -> str:
    return mask_digits(value, keep_last=4) if sum(c.isdigit() for c in value) >= 13 else mask_digits(value)


def mask_url(value: str) -> str:
    """``https://x.gob.ar/a?token=abc`` -> ``https://x.gob.ar/***``."""
    match = re.match(r"\s*(?:[a-z][a-z0-9+.-]*://)?[^/?#\s]*", value, re.IGNORECASE)
    return (match.group(0).strip() if match else "") + "/***"


def mask_date(value: str) -> str:
    """``1987-04-12`` -> ``19**-**-**``."""
    text = value.strip()
    return text[:2] + _DIGIT.sub("*", text[2:]) if len(text) >= 4 else "****"


def mask_coordinate(value: str) -> str:
    """``-32.95123`` -> ``-32.9***``."""
    return re.sub(r"(\d+\.\d)\d+", r"\1***", value.strip())


def mask_generic(value: str) -> str:
    """Keep separators and the first character; everything else becomes ``*``."""
    text = value.strip()
    return text[:1] + _NON_SEPARATOR.sub("*", text[1:]) if text else text


_MASKERS = {
    "email": mask_email,
    "cuit_cuil": mask_cuit,
    "dni": mask_digits,
    "phone": mask_digits,
    "ip": mask_ip,
    "card": mask_card,
    "url_secret": mask_url,
    "person_name": mask_words,
    "address": mask_words,
    "birth_date": mask_date,
    "coordinates": mask_coordinate,
}


def mask_value(kind: str, value: str) -> str:
    """The masked form of ``value`` as a ``kind``; unknown kinds are masked generically."""
    return _MASKERS.get(kind, mask_generic)(value)

"""Column policies: drop, hash, mask, generalise, allow; and small-cell suppression.

Each transform maps one cell's text to its published text; empty cells stay
empty. ``hash`` is a keyed HMAC-SHA256 of the value in a canonical form
(digits only for numbers such as DNI/CUIT/phones, lowercase for e-mails), so
one person links across datasets hashed with the same key and nobody without
the key can test a guess.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
from collections.abc import Callable
from typing import Any

from publisher.config import ColumnPolicy
from publisher.privacy.lexicon import GIVEN_NAMES, fold
from publisher.privacy.masking import mask_digits, mask_value, mask_words
from publisher.privacy.patterns import NOT_A_PERSON_BEFORE
from publisher.privacy.shapes import OFFICES

Transform = Callable[[str], str]

_NUMBERISH = re.compile(r"^[\d\s.\-()+/]+$")
_SPACES = re.compile(r"\s+")
_ISO_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})(?:-(\d{1,2}))?")
_DMY_DATE = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
_FLOAT = re.compile(r"-?\d+\.\d+")
_EMAIL = re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER_RUN = re.compile(r"\+?\(?\d[\d\s.\-()/]{4,}\d")
_CAPITALISED_RUN = re.compile(
    r"\b[A-ZÁÉÍÓÚÑ][^\W\d_'’]+(?:\s+(?:[A-ZÁÉÍÓÚÑ]\.\s+)?[A-ZÁÉÍÓÚÑ][^\W\d_'’]+)+")
_TITLED = re.compile(
    r"\b((?i:sr|sra|srta|señor|señora)\.?\s+)([A-ZÁÉÍÓÚÑ][^\W\d_'’]+(?:\s+[A-ZÁÉÍÓÚÑ][^\W\d_'’]+)*)")
_TITLE_BEFORE = frozenset({"sr", "sr.", "sra", "sra.", "srta", "srta.", "señor", "señora"})


def canonical(value: str) -> str:
    """The form that is hashed: ``12.345.678`` and ``12345678`` hash alike."""
    text = value.strip()
    if _NUMBERISH.match(text):
        return re.sub(r"\D", "", text)
    if "@" in text:
        return text.lower()
    return _SPACES.sub(" ", text).casefold()


def hasher(key: bytes) -> Transform:
    def hash_value(value: str) -> str:
        return hmac.new(key, canonical(value).encode("utf-8"), hashlib.sha256).hexdigest()

    return hash_value


def redact_prose(value: str) -> str:
    """Free text with its e-mails, numbers and given-name + surname pairs masked."""
    text = _EMAIL.sub(lambda m: mask_value("email", m.group(0)), value)
    text = _NUMBER_RUN.sub(lambda m: mask_digits(m.group(0)), text)

    def name_run(match: re.Match[str]) -> str:
        words = match.group(0).split()
        before = text[: match.start()].split()
        previous = before[-1].lower() if before else ""
        if previous in NOT_A_PERSON_BEFORE and previous not in _TITLE_BEFORE:
            return match.group(0)
        if words[0].lower() in NOT_A_PERSON_BEFORE:
            return match.group(0)
        if previous in _TITLE_BEFORE or any(fold(w) in GIVEN_NAMES for w in words):
            return mask_words(match.group(0))
        return match.group(0)

    text = _CAPITALISED_RUN.sub(name_run, text)
    return _TITLED.sub(_mask_titled, text)


def _mask_titled(match: re.Match[str]) -> str:
    title, name = match.group(1), match.group(2)
    return match.group(0) if fold(name.split()[0]) in OFFICES else title + mask_words(name)


def masker(kind: str | None) -> Transform:
    if kind == "free_text":
        return redact_prose
    return lambda value: mask_value(kind or "generic", value)


def generaliser(policy: ColumnPolicy) -> Transform:
    if policy.to is not None:
        return lambda value: generalise_date(value, policy.to or "year")
    if policy.bands is not None:
        width = policy.bands
        return lambda value: age_band(value, width)
    decimals = policy.decimals or 0
    return lambda value: _FLOAT.sub(lambda m: f"{round(float(m.group(0)), decimals):.{decimals}f}", value)


def generalise_date(value: str, to: str) -> str:
    """``1987-04-12`` -> ``1987-04`` (month) or ``1987`` (year); unreadable dates become empty."""
    iso = _ISO_DATE.match(value)
    dmy = _DMY_DATE.match(value) if not iso else None
    if iso:
        year, month = iso.group(1), int(iso.group(2))
    elif dmy:
        year, month = dmy.group(3), int(dmy.group(2))
    else:
        return ""
    return year if to == "year" else f"{year}-{month:02d}"


def age_band(value: str, width: int) -> str:
    """``37`` with width 10 -> ``30-39``; unreadable ages become empty."""
    try:
        age = float(value)
    except ValueError:
        return ""
    if math.isnan(age) or age < 0:
        return ""
    low = int(age // width) * width
    return f"{low}-{low + width - 1}"


def transform_for(policy: ColumnPolicy, kind: str | None, key: bytes | None) -> Transform | None:
    """The cell transform of a policy; None for drop (the column goes) and allow (unchanged)."""
    if policy.policy == "hash":
        if key is None:
            raise ValueError("hash policy without a key")
        return hasher(key)
    if policy.policy == "mask":
        return masker(kind)
    if policy.policy == "generalise":
        return generaliser(policy)
    return None


def suppressor(k: int) -> Callable[[str], tuple[str, bool]]:
    """Counts from 1 to k-1 become empty (zero stays: it discloses no one)."""

    def suppress(value: str) -> tuple[str, bool]:
        try:
            count = float(value)
        except ValueError:
            return value, False
        if 0 < count < k:
            return "", True
        return value, False

    return suppress


# --- schema -----------------------------------------------------------------

def field_after(field: dict[str, Any], policy: ColumnPolicy) -> dict[str, Any]:
    """The Table Schema field of a column once its policy is applied."""
    updated = {k: v for k, v in field.items() if k not in ("constraints", "format")}
    note = {
        "hash": "pseudonymised with HMAC-SHA256 (keyed)",
        "mask": "masked for privacy",
        "generalise": "generalised for privacy",
    }.get(policy.policy)
    if policy.policy == "allow":
        return field
    if policy.policy in ("hash", "mask"):
        updated["type"] = "string"
    elif policy.to == "year":
        updated["type"] = "year"
    elif policy.to == "month":
        updated["type"] = "yearmonth"
    elif policy.bands is not None:
        updated["type"] = "string"
    else:
        updated = dict(field)
    if note:
        described = str(field.get("description", "")).strip()
        updated["description"] = f"{described} ({note})" if described else note[:1].upper() + note[1:]
    return updated


def suppressed_field(field: dict[str, Any], k: int) -> dict[str, Any]:
    updated = dict(field)
    constraints = {key: v for key, v in dict(field.get("constraints", {})).items() if key != "required"}
    if constraints:
        updated["constraints"] = constraints
    else:
        updated.pop("constraints", None)
    note = f"counts from 1 to {k - 1} suppressed (left empty) to protect small groups"
    described = str(field.get("description", "")).strip()
    updated["description"] = f"{described} ({note})" if described else note[:1].upper() + note[1:]
    return updated

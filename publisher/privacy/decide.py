"""From a column's tally to at most one finding: column-name and value evidence combined.

Thresholds are shares of the column's non-empty cells. Kinds that are exact
by construction (an e-mail, a CUIT with a valid check digit, a number that a
keyword introduces in prose) need a single hit; kinds that a bare value can
only suggest (a 7-8 digit integer, a capitalised pair of words) need a large
share, and less of it when the column's name points at them.
"""

from __future__ import annotations

from collections.abc import Sequence, Set
from dataclasses import dataclass, replace

from publisher.privacy import lexicon
from publisher.privacy.detectors import IDENTIFYING, QUASI, SAMPLES_PER_FINDING, ColumnTally, Finding


@dataclass(frozen=True)
class Candidate:
    kind: str
    confidence: float
    count: int
    evidence: tuple[str, ...]
    estimated: bool = False


def _evidence(tally: ColumnTally, kind: str, *, text: bool = False) -> tuple[str, ...]:
    parts = ["column name"] if kind in tally.name_kinds else []
    parts.append("text" if text else "values")
    return tuple(parts)


def _structured(tally: ColumnTally) -> list[Candidate]:
    """E-mail, URL, CUIT/CUIL and cards: exact kinds."""
    full, text, shape, kinds = tally.full, tally.text, tally.shape, tally.name_kinds
    found: list[Candidate] = []
    if full["email"] or text["email"]:
        strong = "email" in kinds or full["email"] >= 0.5 * tally.cells
        found.append(Candidate("email", 0.99 if strong else 0.9, full["email"] + text["email"],
                               _evidence(tally, "email", text=not full["email"])))
    if text["url_secret"]:
        found.append(Candidate("url_secret", 0.9, text["url_secret"], ("text",)))
    cuit_column = full["cuit_cuil"] and ("cuit_cuil" in kinds or shape["cuit_valid"] >= 0.8 * shape["cuit_shaped"])
    cuits = (full["cuit_cuil"] if cuit_column else 0) + text["cuit_cuil"]
    if cuits:
        found.append(Candidate("cuit_cuil", 0.99, cuits, _evidence(tally, "cuit_cuil", text=not cuit_column)))
    card_column = full["card"] and ("card" in kinds or full["card"] >= 0.8 * shape["card_shaped"])
    cards = (full["card"] if card_column else 0) + text["card"]
    if cards:
        found.append(Candidate("card", 0.95, cards, _evidence(tally, "card", text=not card_column)))
    ip_column = full["ip"] and ("ip" in kinds or full["ip"] >= 0.5 * tally.cells)
    ips = (full["ip"] if ip_column else 0) + text["ip"]
    if ips:
        found.append(Candidate("ip", 0.9, ips, _evidence(tally, "ip", text=not ip_column)))
    return found


def _dni(tally: ColumnTally) -> Candidate | None:
    full, shape, n = tally.full, tally.shape, tally.cells
    distinct = shape["distinct"] / max(1, shape["distinct_seen"])
    confidence = 0.0
    if "dni" in tally.name_kinds and full["dni"] >= 0.5 * n:
        confidence = 0.95
    elif shape["dni_dotted"] >= 0.8 * n:
        confidence = 0.85
    elif (full["dni"] >= 0.95 * n and distinct >= 0.9 and not shape["sequential"]
          and not lexicon.says_not_personal_number(tally.column)
          and not tally.name_kinds & {"phone", "card", "coordinates"}):
        confidence = 0.6
    count = (full["dni"] if confidence else 0) + tally.text["dni"]
    if not count:
        return None
    return Candidate("dni", confidence or 0.9, count, _evidence(tally, "dni", text=not confidence))


def _phone(tally: ColumnTally) -> Candidate | None:
    full, shape, n = tally.full, tally.shape, tally.cells
    confidence, count = 0.0, 0
    if "phone" in tally.name_kinds and full["phone"] >= 0.3 * n:
        confidence, count = 0.95, full["phone"]
    elif shape["phone_formatted"] >= 0.5 * n and "dni" not in tally.name_kinds:
        confidence, count = 0.85, shape["phone_formatted"]
    count += tally.text["phone"]
    if not count:
        return None
    return Candidate("phone", confidence or 0.85, count, _evidence(tally, "phone", text=not confidence))


def _person_name(tally: ColumnTally) -> Candidate | None:
    shape, sampled = tally.shape, max(1, tally.sampled)
    strength = lexicon.is_person_name_column(tally.column)
    letters, shaped = shape["name_letters"] / sampled, shape["name_shape"] / sampled
    known, given = shape["name_known"] / sampled, shape["name_given"] / sampled
    if strength == "strong" and letters >= 0.6:
        confidence = 0.9
    elif strength == "weak" and letters >= 0.6 and known >= 0.3:
        confidence = 0.8
    elif strength is None and shaped >= 0.7 and given >= 0.5 and not _names_a_thing(tally.column):
        confidence = 0.6
    else:
        return None
    estimated = tally.sampled < tally.cells
    count = round(tally.full["person_name"] * tally.cells / sampled) if estimated else tally.full["person_name"]
    evidence = ("column name", "values") if strength else ("values",)
    return Candidate("person_name", confidence, count, evidence, estimated=estimated)


def _names_a_thing(column: str) -> bool:
    return bool(set(lexicon.name_tokens(column)) & lexicon.THING_WORDS)


def _quasi(tally: ColumnTally) -> list[Candidate]:
    """Addresses and precise coordinates: kept only in tables about people."""
    found: list[Candidate] = []
    kinds, full, shape, n = tally.name_kinds, tally.full, tally.shape, tally.cells
    if "birth_date" in kinds and full["birth_date"] >= 0.5 * n:
        found.append(Candidate("birth_date", 0.9, full["birth_date"], ("column name", "values")))
    if "coordinates" in kinds and full["coordinates"] >= 0.5 * n:
        found.append(Candidate("coordinates", 0.7, full["coordinates"], ("column name", "values")))
    sampled = max(1, tally.sampled)
    if ("address" in kinds and shape["address"] >= 0.5 * sampled) or shape["address_prefixed"] >= 0.6 * sampled:
        estimated = tally.sampled < n
        count = round(shape["address"] * n / sampled)
        found.append(Candidate("address", 0.8 if "address" in kinds else 0.6, count,
                               _evidence(tally, "address"), estimated=estimated))
    return found


def candidates(tally: ColumnTally) -> list[Candidate]:
    if tally.cells == 0:
        return []
    found = _structured(tally)
    found += [c for c in (_dni(tally), _phone(tally)) if c is not None]
    if not tally.shape["free_text_chunks"]:
        name = _person_name(tally)
        found += [name] if name else []
    elif tally.text["person_name"]:
        found.append(Candidate("person_name", 0.7, tally.text["person_name"], ("text",)))
    return found + _quasi(tally)


def _samples(tally: ColumnTally, kinds: Sequence[str]) -> tuple[str, ...]:
    pooled: list[str] = []
    for rank in range(SAMPLES_PER_FINDING):
        for kind in kinds:
            bucket = tally.samples.get(kind, [])
            if rank < len(bucket) and len(pooled) < SAMPLES_PER_FINDING:
                pooled.append(bucket[rank])
    return tuple(pooled)


def decide(tally: ColumnTally, resource: str) -> Finding | None:
    """At most one finding for the column; free-text columns report what they contain."""
    found = candidates(tally)
    if not found:
        return None
    found.sort(key=lambda c: (c.count * c.confidence, c.confidence), reverse=True)
    contains = {c.kind: c.count for c in found} if len(found) > 1 else {}
    if tally.shape["free_text_chunks"]:
        kinds = [c.kind for c in found]
        return Finding(resource=resource, column=tally.column, kind="free_text",
                       confidence=max(c.confidence for c in found), count=tally.shape["personal_cells"],
                       cells=tally.cells, samples=_samples(tally, kinds), evidence=("text",),
                       contains={c.kind: c.count for c in found})
    top = found[0]
    return Finding(resource=resource, column=tally.column, kind=top.kind, confidence=top.confidence,
                   count=top.count, cells=tally.cells, samples=_samples(tally, [top.kind]),
                   evidence=top.evidence, contains=contains, estimated=top.estimated)


def about_people(findings: Sequence[Finding], columns: Sequence[str], allowed: Set[str] = frozenset()) -> bool:
    """A table is about people when it holds identifying data or names a person's role.

    Columns the steward allowed (public officials' names, say) do not count.
    """
    if any(f.kind in IDENTIFYING and f.column not in allowed for f in findings):
        return True
    for column in columns:
        tokens = set(lexicon.name_tokens(column))
        if tokens & lexicon.PERSON_ROLE_WORDS or "domicilio" in tokens:
            return True
    return False


def decide_table(tallies: Sequence[ColumnTally], resource: str, allowed: Set[str] = frozenset()) -> list[Finding]:
    """Every column's finding; addresses and coordinates only when the table is about people."""
    findings = [f for f in (decide(t, resource) for t in tallies) if f is not None]
    if about_people(findings, [t.column for t in tallies], allowed):
        return findings
    return [_without_quasi(f, tallies) for f in findings if f.kind not in QUASI or f.contains]


def _without_quasi(finding: Finding, tallies: Sequence[ColumnTally]) -> Finding:
    if finding.kind not in QUASI:
        return finding
    tally = next(t for t in tallies if t.column == finding.column)
    rest = [c for c in candidates(tally) if c.kind not in QUASI]
    if not rest:
        return finding
    top = max(rest, key=lambda c: c.count * c.confidence)
    return replace(finding, kind=top.kind, confidence=top.confidence, count=top.count,
                   samples=_samples(tally, [top.kind]), evidence=top.evidence, contains={})

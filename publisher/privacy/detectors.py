"""Personal-data detectors: evidence per column, vectorised with pyarrow.compute.

A column is scanned chunk by chunk into a ``ColumnTally`` (counts only, plus
a few masked samples); ``decide`` then weighs column-name evidence and value
evidence into at most one ``Finding`` per column.

Every cell of every column goes through one cheap RE2 pass (``CANDIDATE``)
that selects the cells worth a closer look for the structured kinds
(e-mail, CUIT/CUIL, DNI, phone, card, IP, URL); only those are matched
against the specific patterns and confirmed (CUIT check digit, Luhn). Kinds
decided by their share of a column (person names, addresses) are matched on a
sample of each chunk unless the column name points at them; free-text columns
are searched in full for names in prose.

Decisions (documented in the README):

- CUIT/CUIL: confirmed by the check digit. A column whose CUITs all carry a
  company prefix (30, 33, 34) is not personal data and yields no finding.
- DNI: 7-8 digits, dots optional. Bare integers count only with column-name
  evidence (dni, documento...) or, without it, when nearly every cell is one,
  the values are distinct and the name does not speak of money or codes.
- Phones: a bare integer is a phone only with column-name evidence; otherwise
  it must look like one (+54, trunk 0, parentheses, separators).
- Addresses and precise coordinates are personal only in tables about people
  (a table with another personal finding, or a column named ``domicilio``).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from publisher.privacy import lexicon, shapes
from publisher.privacy import patterns as P
from publisher.privacy.masking import mask_value

KINDS = ("email", "cuit_cuil", "dni", "phone", "ip", "card", "url_secret", "person_name", "address",
         "birth_date", "coordinates", "free_text")
# Kinds that make a table "about people" (so addresses and coordinates in it count); an
# institution has phones and e-mails too, so those alone do not.
IDENTIFYING = frozenset({"cuit_cuil", "dni", "card", "person_name", "birth_date", "free_text"})
QUASI = frozenset({"address", "coordinates"})
SAMPLES_PER_FINDING = 3
SAMPLE_CELLS = 500  # per chunk, for kinds decided by their share of a column
NUMERIC_TYPES = frozenset({"integer", "number"})
SKIPPED_TYPES = frozenset({"boolean", "date", "datetime", "time", "year", "yearmonth", "duration"})


@dataclass
class ColumnTally:
    """What the scan saw in one column, over all chunks: counts, never values."""

    column: str
    field_type: str = "string"
    cells: int = 0  # non-empty cells
    sampled: int = 0  # cells seen by the sampled (share-of-column) checks
    total_length: int = 0
    full: Counter[str] = field(default_factory=Counter)  # cells that are a value of the kind
    text: Counter[str] = field(default_factory=Counter)  # cells that contain one inside text
    shape: Counter[str] = field(default_factory=Counter)  # helper counts (shaped, formatted, lexicon...)
    samples: dict[str, list[str]] = field(default_factory=dict)  # kind -> masked samples
    free_text_cells: int = 0  # cells with any personal value in prose (free-text columns)

    @property
    def name_kinds(self) -> set[str]:
        return lexicon.name_kinds(self.column)

    def add_samples(self, kind: str, raw_values: list[str]) -> None:
        bucket = self.samples.setdefault(kind, [])
        for raw in raw_values:
            masked = mask_value(kind, raw)
            if len(bucket) >= SAMPLES_PER_FINDING:
                return
            if masked not in bucket:
                bucket.append(masked)


@dataclass(frozen=True)
class Finding:
    """One column's personal data: kind, confidence, count and masked samples only."""

    resource: str
    column: str
    kind: str | None
    confidence: float
    count: int
    cells: int
    samples: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    contains: dict[str, int] = field(default_factory=dict)
    estimated: bool = False
    policy: str = "unhandled"
    reason: str | None = None
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "resource": self.resource, "column": self.column, "kind": self.kind,
            "confidence": self.confidence, "count": self.count, "cells": self.cells,
            "samples": list(self.samples), "evidence": list(self.evidence), "policy": self.policy,
        }
        if self.contains:
            data["contains"] = dict(self.contains)
        if self.estimated:
            data["estimated"] = True
        if self.reason is not None:
            data["reason"] = self.reason
        if self.note is not None:
            data["note"] = self.note
        return data


# --- vectorised helpers -----------------------------------------------------

def _np(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(mask.to_numpy(zero_copy_only=False), dtype=bool)


def _count(mask: np.ndarray, weights: np.ndarray | None) -> int:
    return int(weights[mask].sum()) if weights is not None else int(mask.sum())


def _match(values: pa.Array, pattern: str) -> np.ndarray:
    if len(values) == 0:
        return np.zeros(0, dtype=bool)
    return _np(pc.match_substring_regex(values, pattern))


def _spans(values: pa.Array, mask: np.ndarray, pattern: str, limit: int = 8) -> list[str]:
    """The matched ``span`` (or ``kspan``) of the first few matching cells, for masked samples."""
    chosen = values.filter(pa.array(mask))[:limit]
    if len(chosen) == 0:
        return []
    out = []
    for item in pc.extract_regex(chosen, pattern).to_pylist():
        if item:
            span = item.get("span") or item.get("kspan")
            if span:
                out.append(span)
    return out


def _lengths(values: pa.Array) -> np.ndarray:
    return np.asarray(pc.utf8_length(values).to_numpy(zero_copy_only=False))


def _match_where(values: pa.Array, where: np.ndarray, pattern: str) -> np.ndarray:
    """``_match`` run only on the cells selected by ``where`` (False elsewhere)."""
    out = np.zeros(len(values), dtype=bool)
    if where.all():
        return _match(values, pattern)
    if where.any():
        out[where] = _match(values.filter(pa.array(where)), pattern)
    return out


def _digits_of(values: pa.Array, where: np.ndarray) -> pa.Array:
    """The digits of the selected cells, in order."""
    return pc.replace_substring_regex(values.filter(pa.array(where)), r"\D", "")


def _digit_matrix(digits: pa.Array, width: int) -> np.ndarray:
    """Equal-length digit strings as an (n, width) int matrix, without Python loops."""
    array = pa.concat_arrays([digits.cast(pa.string())])
    n = len(array)
    offsets = np.frombuffer(array.buffers()[1], dtype=np.int32)[array.offset: array.offset + n + 1]
    raw = np.frombuffer(array.buffers()[2], dtype=np.uint8)[offsets[0]: offsets[-1]]
    return raw.reshape(n, width).astype(np.int64) - 48


def cuit_valid(digits: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """(check digit ok, person prefix 20/23/24/27) for digit strings; wrong lengths fail."""
    n = len(digits)
    ok = np.zeros(n, dtype=bool)
    person = np.zeros(n, dtype=bool)
    eleven = _lengths(digits) == 11 if n else np.zeros(0, dtype=bool)
    if not eleven.any():
        return ok, person
    matrix = _digit_matrix(digits.filter(pa.array(eleven)), 11)
    remainder = 11 - (matrix[:, :10] @ np.array([5, 4, 3, 2, 7, 6, 5, 4, 3, 2])) % 11
    expected = np.where(remainder == 11, 0, remainder)
    ok[eleven] = (expected == matrix[:, 10]) & (remainder != 10)
    person[eleven] = np.isin(matrix[:, 0] * 10 + matrix[:, 1], (20, 23, 24, 27))
    return ok, person


def luhn_vector(digits: pa.Array) -> np.ndarray:
    """Luhn check for digit strings of 13 to 19 digits (others fail), vectorised per length."""
    lengths = _lengths(digits) if len(digits) else np.zeros(0, dtype=np.int64)
    valid = np.zeros(len(digits), dtype=bool)
    for width in range(13, 20):
        chosen = lengths == width
        if not chosen.any():
            continue
        reversed_digits = _digit_matrix(digits.filter(pa.array(chosen)), width)[:, ::-1].copy()
        doubled = reversed_digits[:, 1::2] * 2
        reversed_digits[:, 1::2] = np.where(doubled > 9, doubled - 9, doubled)
        valid[chosen] = reversed_digits.sum(axis=1) % 10 == 0
    return valid


def luhn_valid(number: str) -> bool:
    """Luhn check of one number (separators ignored)."""
    digits = "".join(c for c in number if c.isdigit())
    return bool(luhn_vector(pa.array([digits]))[0]) if digits else False


# --- scanning ---------------------------------------------------------------

@dataclass
class Cells:
    """A subset of a chunk's non-empty values: the values, their index, their weights."""

    values: pa.Array
    index: np.ndarray  # positions in the chunk's non-empty values
    weights: np.ndarray | None  # repeat counts when the chunk was deduplicated

    def where(self, mask: np.ndarray) -> Cells:
        chosen = pa.array(mask, type=pa.bool_())
        weights = self.weights[mask] if self.weights is not None else None
        return Cells(self.values.filter(chosen), self.index[mask], weights)

    def count(self, mask: np.ndarray) -> int:
        return _count(mask, self.weights)

    def total(self) -> int:
        return int(self.weights.sum()) if self.weights is not None else len(self.values)

    def __len__(self) -> int:
        return len(self.values)


class ChunkScan:
    """Scans one chunk of one column into its tally."""

    def __init__(self, tally: ColumnTally, values: pa.Array, weights: np.ndarray | None) -> None:
        self.tally = tally
        self.all = Cells(values, np.arange(len(values)), weights)
        self.personal = np.zeros(len(values), dtype=bool)  # cells with any hit (free-text count)

    def hit(self, kind: str, cells: Cells, mask: np.ndarray, *, text: bool, spans: str | None = None) -> None:
        """Record the cells of ``cells`` selected by ``mask`` as ``kind``."""
        hits = cells.count(mask)
        if not hits:
            return
        (self.tally.text if text else self.tally.full)[kind] += hits
        self.personal[cells.index[mask]] = True
        if len(self.tally.samples.get(kind, ())) < SAMPLES_PER_FINDING:
            raw = _spans(cells.values, mask, spans) if spans else cells.values.filter(pa.array(mask))[:8].to_pylist()
            self.tally.add_samples(kind, raw)

    def structured(self, candidates: Cells) -> None:
        """E-mail, URL, CUIT, DNI, phone, card and IP among the candidate cells.

        Cheap features route each cell (all digits / has letters / the rest) so that
        most cells meet one or two regular expressions, not all of them.
        """
        if len(candidates) == 0:
            return
        values = candidates.values
        digits_only = _np(pc.utf8_is_digit(values))
        lettered = _np(pc.not_equal(pc.ascii_upper(values), pc.ascii_lower(values))) & ~digits_only
        self.plain_numbers(candidates.where(digits_only))
        self.formatted_numbers(candidates.where(~lettered & ~digits_only))
        self.prose(candidates.where(lettered))

    def plain_numbers(self, cells: Cells) -> None:
        """Bare integers: classified by length (DNI 7-8, phone 10-13, CUIT 11, card 13-19)."""
        if len(cells) == 0:
            return
        lengths = _lengths(cells.values)
        dni = (lengths == 7) | (lengths == 8)
        self.tally.shape["dni_shaped"] += cells.count(dni)
        self.hit("dni", cells, dni, text=False)
        self._cuit(cells, lengths == 11, cells.values.filter(pa.array(lengths == 11)))
        card = (lengths >= 13) & (lengths <= 19)
        self._cards(cells, card, cells.values.filter(pa.array(card)))
        national = (lengths >= 10) & (lengths <= 13)
        phones = _match_where(cells.values, national, r"^(?:54|0|[123])")
        self.tally.shape["phone_shaped"] += cells.count(dni | phones)
        self.hit("phone", cells, phones | dni, text=False)

    def formatted_numbers(self, cells: Cells) -> None:
        """Numbers with separators: CUIT 20-12345678-3, DNI 12.345.678, phones, cards, IPs."""
        if len(cells) == 0:
            return
        values = cells.values
        lengths = _lengths(values)
        dots = np.asarray(pc.count_substring(values, ".").to_numpy(zero_copy_only=False))
        colons = _np(pc.match_substring(values, ":"))
        cuit = _match_where(values, (lengths >= 11) & (lengths <= 15) & (dots == 0), P.CUIT_FULL)
        self._cuit(cells, cuit, _digits_of(values, cuit))
        dotted = _match_where(values, (dots == 2) & (lengths <= 12), P.DNI_DOTTED_FULL)
        self.tally.shape["dni_shaped"] += cells.count(dotted)
        self.tally.shape["dni_dotted"] += cells.count(dotted)
        self.hit("dni", cells, dotted, text=False)
        ip = _match_where(values, (dots == 3) | colons, P.IP_FULL)
        self.tally.shape["ip_shaped"] += cells.count(ip)
        self.hit("ip", cells, _match_where(values, ip, P.IP_WIDE_OCTET), text=False)
        phone = _match_where(values, ~cuit & ~dotted & ~ip & ~colons, P.PHONE_FULL)
        phone &= ~_match_where(values, phone & (dots == 0), P.DATE_LIKE)
        self.tally.shape["phone_shaped"] += cells.count(phone)
        self.tally.shape["phone_formatted"] += cells.count(phone)
        self.hit("phone", cells, phone, text=False)
        card = _match_where(values, ~cuit & ~phone & ~ip & (lengths >= 13), P.CARD_FULL)
        self._cards(cells, card, _digits_of(values, card))

    def prose(self, cells: Cells) -> None:
        """Cells with letters: e-mails, URLs with secrets, and numbers introduced by context."""
        if len(cells) == 0:
            return
        values = cells.values
        at = _np(pc.match_substring(values, "@")) | _np(pc.match_substring(values, "%40"))
        if at.any():
            full = _match_where(values, at, P.EMAIL_FULL)
            self.hit("email", cells, full, text=False)
            self.hit("email", cells, _match_where(values, at & ~full, P.EMAIL), text=True, spans=P.EMAIL_TEXT)
        query = _np(pc.match_substring(values, "?"))
        if query.any():
            self.hit("url_secret", cells, _match_where(values, query, P.URL_SECRET_TEXT), text=True,
                     spans=P.URL_SECRET_TEXT)
        numbered = _match(values, P.TEXT_NUMBERS)
        if not numbered.any():
            return
        within = cells.where(numbered)
        self._cuit_in_text(within)
        self.hit("dni", within, _match(within.values, P.DNI_TEXT), text=True, spans=P.DNI_TEXT)
        self.hit("phone", within, _match(within.values, P.PHONE_TEXT), text=True, spans=P.PHONE_TEXT)
        self._cards_in_text(within)
        ip = _match(within.values, P.IP_TEXT)
        if ip.any():
            spans = pc.struct_field(pc.extract_regex(within.values, P.IP_TEXT), "span")
            wide = _np(pc.fill_null(pc.match_substring_regex(spans, P.IP_WIDE_OCTET), False))
            self.hit("ip", within, ip & wide, text=True, spans=P.IP_TEXT)

    def _cuit(self, cells: Cells, shaped: np.ndarray, digits: pa.Array) -> None:
        """``digits``: the digits of the shaped cells, in order."""
        if not shaped.any():
            return
        ok, person = cuit_valid(digits)
        valid = np.zeros(len(cells), dtype=bool)
        valid_person = np.zeros(len(cells), dtype=bool)
        valid[np.flatnonzero(shaped)[ok]] = True
        valid_person[np.flatnonzero(shaped)[ok & person]] = True
        self.tally.shape["cuit_shaped"] += cells.count(shaped)
        self.tally.shape["cuit_valid"] += cells.count(valid)
        self.tally.shape["cuit_company"] += cells.count(valid & ~valid_person)
        self.hit("cuit_cuil", cells, valid_person, text=False)

    def _cuit_in_text(self, cells: Cells) -> None:
        for pattern in (P.CUIT_DASHED_TEXT, P.CUIT_KEYWORD_TEXT):
            found = _match(cells.values, pattern)
            if not found.any():
                continue
            spans = pc.struct_field(pc.extract_regex(cells.values.filter(pa.array(found)), pattern), "span")
            ok, person = cuit_valid(pc.replace_substring_regex(spans, r"\D", ""))
            confirmed = np.zeros(len(cells), dtype=bool)
            confirmed[np.flatnonzero(found)[ok & person]] = True
            self.hit("cuit_cuil", cells, confirmed, text=True, spans=pattern)

    def _cards(self, cells: Cells, shaped: np.ndarray, digits: pa.Array) -> None:
        """``digits``: the digits of the shaped cells, in order."""
        if not shaped.any():
            return
        self.tally.shape["card_shaped"] += cells.count(shaped)
        valid = np.zeros(len(cells), dtype=bool)
        valid[np.flatnonzero(shaped)] = luhn_vector(digits)
        self.hit("card", cells, valid, text=False)

    def _cards_in_text(self, cells: Cells) -> None:
        found = _match(cells.values, P.CARD_TEXT)
        if not found.any():
            return
        spans = pc.struct_field(pc.extract_regex(cells.values.filter(pa.array(found)), P.CARD_TEXT), "span")
        valid = np.zeros(len(cells), dtype=bool)
        valid[np.flatnonzero(found)] = luhn_vector(pc.replace_substring_regex(spans, r"\D", ""))
        self.hit("card", cells, valid, text=True, spans=P.CARD_TEXT)

    def words(self, free_text: bool) -> None:
        """Names, addresses, dates of birth and coordinates: the share of a column."""
        tally, cells = self.tally, self.all
        kinds = tally.name_kinds
        if "birth_date" in kinds:
            self.hit("birth_date", cells, _match(cells.values, P.DATE_LIKE), text=False)
        if "coordinates" in kinds:
            self.hit("coordinates", cells, _match(cells.values, P.COORDINATE_FULL), text=False)
        if tally.field_type in NUMERIC_TYPES:
            return
        if free_text:
            self.names_in_prose()
            return
        self.word_shapes(cells.where(np.arange(len(cells)) < SAMPLE_CELLS))

    def word_shapes(self, sample: Cells) -> None:
        """Person names and addresses on a sample: shares, lexicon hits, masked samples."""
        tally = self.tally
        texts = sample.values.to_pylist()
        weights = sample.weights if sample.weights is not None else np.ones(len(texts), dtype=np.int64)
        letters = np.array([bool(shapes.LETTERS_ONLY.match(t)) for t in texts], dtype=bool)
        shaped = np.array([m and shapes.name_shape(t) for t, m in zip(texts, letters, strict=True)], dtype=bool)
        known = np.array([m and shapes.known_name(t) for t, m in zip(texts, letters, strict=True)], dtype=bool)
        given = np.array([m and shapes.given_first(t) for t, m in zip(texts, shaped, strict=True)], dtype=bool)
        address = np.array([bool(shapes.ADDRESS.match(t)) for t in texts], dtype=bool)
        prefixed = np.array([bool(shapes.ADDRESS_PREFIXED.match(t)) for t in texts], dtype=bool)
        tally.sampled += int(weights.sum())
        for key, mask in (("name_letters", letters), ("name_shape", shaped), ("name_known", known),
                          ("name_given", given), ("address_prefixed", prefixed), ("address", address)):
            tally.shape[key] += int(weights[mask].sum())
        person = letters & (known | shaped)
        tally.full["person_name"] += int(weights[person].sum())
        tally.add_samples("person_name", [t for t, m in zip(texts, person, strict=True) if m][:8])
        tally.add_samples("address", [t for t, m in zip(texts, address, strict=True) if m][:8])

    def names_in_prose(self) -> None:
        """RE2 finds the cells with a name-like pair; Python drops institutions' names."""
        cells = self.all
        found = _match(cells.values, P.NAME_TEXT)
        if not found.any():
            return
        texts = cells.values.filter(pa.array(found)).to_pylist()
        spans = [shapes.person_in_prose(text) for text in texts]
        person = np.zeros(len(cells), dtype=bool)
        person[np.flatnonzero(found)] = [span is not None for span in spans]
        hits = cells.count(person)
        if hits:
            self.tally.text["person_name"] += hits
            self.personal[cells.index[person]] = True
            self.tally.add_samples("person_name", [span for span in spans if span][:8])


def _dedupe(values: pa.Array) -> tuple[pa.Array, np.ndarray | None]:
    """Distinct values and their counts when a sample says the column repeats itself."""
    if len(values) < 4 * SAMPLE_CELLS:
        return values, None
    sample = values[:SAMPLE_CELLS]
    if len(pc.unique(sample)) > 0.3 * len(sample):
        return values, None
    counts = pc.value_counts(values)
    return counts.field("values"), np.asarray(counts.field("counts").to_numpy(), dtype=np.int64)


def _looks_like_prose(values: pa.Array) -> bool:
    sample = values[:SAMPLE_CELLS]
    if len(sample) == 0:
        return False
    lengths = np.asarray(pc.utf8_length(sample).to_numpy(zero_copy_only=False))
    spaced = np.asarray(pc.count_substring(sample, " ").to_numpy(zero_copy_only=False)) >= 5
    return bool(lengths.mean() >= 40 and spaced.mean() >= 0.3)


def _track_distinct(tally: ColumnTally, values: pa.Array, limit: int = 2000) -> None:
    """Distinct values among the column's first ``limit`` cells (from its first chunk)."""
    if tally.shape["distinct_seen"]:
        return
    head = values[:limit]
    tally.shape["distinct_seen"] = len(head)
    tally.shape["distinct"] = len(pc.unique(head))
    lengths = _lengths(head)
    if len(head) >= 10 and bool(pc.all(pc.utf8_is_digit(head)).as_py()) and lengths.max() <= 18:
        numbers = np.unique(np.asarray(head.cast(pa.int64()).to_numpy()))
        steps = np.diff(numbers)
        # Record numbers, file ids: mostly consecutive. DNIs in a table are scattered.
        tally.shape["sequential"] = int(len(steps) > 0 and float(np.mean(steps <= 3)) >= 0.5)


def scan_chunk(tally: ColumnTally, column: pa.Array | pa.ChunkedArray) -> None:
    """Add one chunk of a column (strings) to its tally."""
    if isinstance(column, pa.ChunkedArray):
        column = pa.concat_arrays(column.chunks) if column.num_chunks else pa.array([], pa.string())
    column = column.cast(pa.string())
    if column.null_count:
        column = pc.fill_null(column, "")
    lengths = np.asarray(pc.utf8_length(column).to_numpy(zero_copy_only=False))
    values = column.filter(pa.array(lengths > 0)) if (lengths == 0).any() else column
    if len(values) == 0:
        return
    tally.cells += len(values)
    tally.total_length += int(lengths.sum())
    _track_distinct(tally, values)
    if tally.field_type in SKIPPED_TYPES:
        if "birth_date" in tally.name_kinds:
            ChunkScan(tally, values, None).hit("birth_date", Cells(values, np.arange(len(values)), None),
                                               np.ones(len(values), dtype=bool), text=False)
        return
    free_text = tally.field_type not in NUMERIC_TYPES and (
        "free_text" in tally.name_kinds or _looks_like_prose(values))
    if free_text:
        tally.shape["free_text_chunks"] += 1
    distinct, weights = _dedupe(values)
    scan = ChunkScan(tally, distinct, weights)
    if tally.field_type in NUMERIC_TYPES:
        lengths = _lengths(distinct)
        candidates = _np(pc.utf8_is_digit(distinct)) & (lengths >= 7) & (lengths <= 19)
    else:
        candidates = _match_where(distinct, _lengths(distinct) >= 6, P.CANDIDATE)
    scan.structured(scan.all.where(candidates))
    scan.words(free_text)
    tally.shape["personal_cells"] += scan.all.count(scan.personal)

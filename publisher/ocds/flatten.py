"""Compiled releases -> related CSV tables, each with a Table Schema.

Tables (one CSV each, UTF-8, ``,``):

=================  ====================================  =======================================
table              one row per                           keys
=================  ====================================  =======================================
releases           contracting process (compiled)        primary key ``ocid``
parties            party of a process                    ``ocid`` -> releases
tender_items       item of a process's tender            ``ocid`` -> releases
awards             award                                 ``ocid`` -> releases
award_suppliers    supplier of an award                  ``ocid`` -> releases; (ocid, award_id) -> awards
contracts          contract                              ``ocid`` -> releases
transactions       transaction of a contract             ``ocid`` -> releases; (ocid, contract_id) -> contracts
=================  ====================================  =======================================

Together they validate as one Frictionless package. Values keep their
meaning: dates are written as ISO 8601, numbers as numbers; a value that is
not what the column says (a date that is not a date) is left empty and
counted in ``FlatTables.dropped`` (the schema findings name it already).
Parties that are natural persons are flagged (see ``persons``).
"""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from publisher.ocds.persons import natural_person_basis

Row = list[Any]


@dataclass(frozen=True)
class Column:
    name: str
    type: str  # Table Schema type: string, number, integer, datetime, boolean
    path: tuple[str, ...] = ()  # where the value is, relative to the row's object
    description: str = ""


def _c(name: str, type_: str, path: str = "", description: str = "") -> Column:
    return Column(name, type_, tuple(path.split(".")) if path else (), description)


OCID = _c("ocid", "string", "", "Open Contracting ID of the contracting process (links every table)")

RELEASE_COLUMNS = (
    OCID,
    _c("release_id", "string", "id", "id of the compiled release"),
    _c("date", "datetime", "date", "date of the latest release"),
    _c("tag", "string", "tag"),
    _c("initiation_type", "string", "initiationType"),
    _c("language", "string", "language"),
    _c("buyer_id", "string", "buyer.id"),
    _c("buyer_name", "string", "buyer.name"),
    _c("planning_budget_description", "string", "planning.budget.description"),
    _c("planning_budget_amount", "number", "planning.budget.amount.amount"),
    _c("planning_budget_currency", "string", "planning.budget.amount.currency"),
    _c("tender_id", "string", "tender.id"),
    _c("tender_title", "string", "tender.title"),
    _c("tender_description", "string", "tender.description"),
    _c("tender_status", "string", "tender.status"),
    _c("tender_procurement_method", "string", "tender.procurementMethod"),
    _c("tender_procurement_method_details", "string", "tender.procurementMethodDetails"),
    _c("tender_main_procurement_category", "string", "tender.mainProcurementCategory"),
    _c("tender_value_amount", "number", "tender.value.amount"),
    _c("tender_value_currency", "string", "tender.value.currency"),
    _c("tender_period_start", "datetime", "tender.tenderPeriod.startDate"),
    _c("tender_period_end", "datetime", "tender.tenderPeriod.endDate"),
    _c("tender_number_of_tenderers", "integer", "tender.numberOfTenderers"),
    _c("procuring_entity_id", "string", "tender.procuringEntity.id"),
    _c("procuring_entity_name", "string", "tender.procuringEntity.name"),
    _c("award_count", "integer", "", "number of awards"),
    _c("contract_count", "integer", "", "number of contracts"),
)
PARTY_COLUMNS = (
    OCID,
    _c("party_id", "string", "id"),
    _c("name", "string", "name"),
    _c("roles", "string", "roles", "party roles, separated by ';'"),
    _c("identifier_scheme", "string", "identifier.scheme"),
    _c("identifier_id", "string", "identifier.id", "the party's identifier (e.g. a CUIT) in its own column"),
    _c("identifier_legal_name", "string", "identifier.legalName"),
    _c("street_address", "string", "address.streetAddress"),
    _c("locality", "string", "address.locality"),
    _c("region", "string", "address.region"),
    _c("postal_code", "string", "address.postalCode"),
    _c("country_name", "string", "address.countryName"),
    _c("contact_name", "string", "contactPoint.name"),
    _c("contact_email", "string", "contactPoint.email"),
    _c("contact_telephone", "string", "contactPoint.telephone"),
    _c("natural_person", "boolean", "", "true when the party looks like a natural person (see natural_person_basis)"),
    _c("natural_person_basis", "string", "", "cuit_prefix, rfc_person or name: why the party was flagged"),
)
ITEM_COLUMNS = (
    OCID,
    _c("item_id", "string", "id"),
    _c("description", "string", "description"),
    _c("classification_scheme", "string", "classification.scheme"),
    _c("classification_id", "string", "classification.id"),
    _c("classification_description", "string", "classification.description"),
    _c("quantity", "number", "quantity"),
    _c("unit_name", "string", "unit.name"),
    _c("unit_value_amount", "number", "unit.value.amount"),
    _c("unit_value_currency", "string", "unit.value.currency"),
)
AWARD_COLUMNS = (
    OCID,
    _c("award_id", "string", "id"),
    _c("title", "string", "title"),
    _c("description", "string", "description"),
    _c("status", "string", "status"),
    _c("date", "datetime", "date"),
    _c("value_amount", "number", "value.amount"),
    _c("value_currency", "string", "value.currency"),
    _c("contract_period_start", "datetime", "contractPeriod.startDate"),
    _c("contract_period_end", "datetime", "contractPeriod.endDate"),
    _c("supplier_count", "integer", "", "number of suppliers"),
)
SUPPLIER_COLUMNS = (
    OCID,
    _c("award_id", "string"),
    _c("supplier_id", "string", "id"),
    _c("supplier_name", "string", "name"),
    _c("natural_person", "boolean", "", "true when the supplier looks like a natural person"),
)
CONTRACT_COLUMNS = (
    OCID,
    _c("contract_id", "string", "id"),
    _c("award_id", "string", "awardID"),
    _c("title", "string", "title"),
    _c("description", "string", "description"),
    _c("status", "string", "status"),
    _c("period_start", "datetime", "period.startDate"),
    _c("period_end", "datetime", "period.endDate"),
    _c("value_amount", "number", "value.amount"),
    _c("value_currency", "string", "value.currency"),
    _c("date_signed", "datetime", "dateSigned"),
)
TRANSACTION_COLUMNS = (
    OCID,
    _c("contract_id", "string"),
    _c("transaction_id", "string", "id"),
    _c("source", "string", "source"),
    _c("date", "datetime", "date"),
    _c("value_amount", "number", "value.amount"),
    _c("value_currency", "string", "value.currency"),
    _c("payer_id", "string", "payer.id"),
    _c("payer_name", "string", "payer.name"),
    _c("payee_id", "string", "payee.id"),
    _c("payee_name", "string", "payee.name"),
    _c("uri", "string", "uri"),
)


@dataclass(frozen=True)
class TableSpec:
    name: str
    title: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...] = ()
    # (fields, resource, reference fields)
    foreign_keys: tuple[tuple[tuple[str, ...], str, tuple[str, ...]], ...] = ((("ocid",), "releases", ("ocid",)),)

    def table_schema(self) -> dict[str, Any]:
        fields = []
        for column in self.columns:
            descriptor: dict[str, Any] = {"name": column.name, "type": column.type}
            if column.description:
                descriptor["description"] = column.description
            if column.name == "ocid":
                descriptor["constraints"] = {"required": True}
            fields.append(descriptor)
        schema: dict[str, Any] = {"fields": fields, "missingValues": [""]}
        if self.primary_key:
            schema["primaryKey"] = list(self.primary_key)
        if self.name != "releases":
            schema["foreignKeys"] = [
                {"fields": list(f), "reference": {"resource": resource, "fields": list(ref)}}
                for f, resource, ref in self.foreign_keys
            ]
        return schema


TABLES: tuple[TableSpec, ...] = (
    TableSpec("releases", "Contracting processes (compiled releases)", RELEASE_COLUMNS, primary_key=("ocid",)),
    TableSpec("parties", "Parties", PARTY_COLUMNS),
    TableSpec("tender_items", "Tender items", ITEM_COLUMNS),
    TableSpec("awards", "Awards", AWARD_COLUMNS),
    TableSpec("award_suppliers", "Award suppliers", SUPPLIER_COLUMNS, foreign_keys=(
        (("ocid",), "releases", ("ocid",)), (("ocid", "award_id"), "awards", ("ocid", "award_id")),
    )),
    TableSpec("contracts", "Contracts", CONTRACT_COLUMNS),
    TableSpec("transactions", "Transactions", TRANSACTION_COLUMNS, foreign_keys=(
        (("ocid",), "releases", ("ocid",)), (("ocid", "contract_id"), "contracts", ("ocid", "contract_id")),
    )),
)


@dataclass(frozen=True)
class FlatTable:
    name: str
    title: str
    path: Path
    schema: dict[str, Any]
    row_count: int


@dataclass
class FlatTables:
    tables: list[FlatTable] = field(default_factory=list)
    dropped: Counter[str] = field(default_factory=Counter)  # "awards.date" -> values left empty


class RowMaker:
    """Turns compiled releases into table rows (no files: worker processes use it too)."""

    def __init__(self) -> None:
        self.dropped: Counter[str] = Counter()
        self._pending: dict[str, list[Row]] = {}

    def rows(self, compiled: dict[str, Any]) -> dict[str, list[Row]]:
        """The rows of each table for one compiled release."""
        self._pending = {}
        self._add(compiled)
        return self._pending

    def _add(self, compiled: dict[str, Any]) -> None:
        ocid = compiled.get("ocid")
        if not isinstance(ocid, str) or not ocid:
            return
        persons = self._persons(compiled)
        awards = _objects(compiled.get("awards"))
        contracts = _objects(compiled.get("contracts"))
        release_row = self._row("releases", RELEASE_COLUMNS, compiled, ocid)
        release_row[-2], release_row[-1] = len(awards), len(contracts)
        self._write("releases", release_row)
        for party in _objects(compiled.get("parties")):
            row = self._row("parties", PARTY_COLUMNS, party, ocid)
            basis = persons.get(str(party.get("id")))
            row[-2], row[-1] = _flag(basis is not None), basis or ""
            self._write("parties", row)
        for item in _objects(_get(compiled, ("tender", "items"))):
            self._write("tender_items", self._row("tender_items", ITEM_COLUMNS, item, ocid))
        for award in awards:
            self._add_award(award, ocid, persons)
        for contract in contracts:
            self._add_contract(contract, ocid)

    def _add_award(self, award: dict[str, Any], ocid: str, persons: dict[str, str | None]) -> None:
        suppliers = _objects(award.get("suppliers"))
        row = self._row("awards", AWARD_COLUMNS, award, ocid)
        row[-1] = len(suppliers)
        self._write("awards", row)
        award_id = _text(award.get("id"))
        for supplier in suppliers:
            row = self._row("award_suppliers", SUPPLIER_COLUMNS, supplier, ocid)
            row[1] = award_id
            supplier_id = str(supplier.get("id"))
            basis = persons.get(supplier_id) if supplier_id in persons else natural_person_basis(
                None, _text(supplier.get("name")))
            row[-1] = _flag(basis is not None)
            self._write("award_suppliers", row)

    def _add_contract(self, contract: dict[str, Any], ocid: str) -> None:
        self._write("contracts", self._row("contracts", CONTRACT_COLUMNS, contract, ocid))
        contract_id = _text(contract.get("id"))
        for transaction in _objects(_get(contract, ("implementation", "transactions"))):
            row = self._row("transactions", TRANSACTION_COLUMNS, transaction, ocid)
            row[1] = contract_id
            self._write("transactions", row)

    def _persons(self, compiled: dict[str, Any]) -> dict[str, str | None]:
        found: dict[str, str | None] = {}
        for party in _objects(compiled.get("parties")):
            identifier = _get(party, ("identifier", "id"))
            found[str(party.get("id"))] = natural_person_basis(
                _text(identifier) or _text(party.get("id")), _text(party.get("name")))
        return found

    def _row(self, table: str, columns: Sequence[Column], source: dict[str, Any], ocid: str) -> Row:
        row: Row = [ocid]
        for column in columns[1:]:
            value = _get(source, column.path) if column.path else None
            row.append(self._cell(table, column, value))
        return row

    def _cell(self, table: str, column: Column, value: Any) -> Any:
        if value is None:
            return ""
        converted = _CONVERTERS.get(column.type, _text)(value)
        if converted is None:
            self.dropped[f"{table}.{column.name}"] += 1
            return ""
        return converted

    def _write(self, table: str, row: Row) -> None:
        self._pending.setdefault(table, []).append(row)


class TableWriter:
    """The CSV files, written row by row as compiled releases are flattened."""

    def __init__(self, out_dir: Path) -> None:
        out_dir.mkdir(parents=True, exist_ok=True)
        self._out_dir = out_dir
        self._files: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}
        self._counts: Counter[str] = Counter()
        for spec in TABLES:
            handle = (out_dir / f"{spec.name}.csv").open("w", encoding="utf-8", newline="")
            self._files[spec.name] = handle
            self._writers[spec.name] = csv.writer(handle, lineterminator="\n")
            self._writers[spec.name].writerow([c.name for c in spec.columns])

    def write(self, rows: dict[str, list[Row]]) -> None:
        for table, table_rows in rows.items():
            self._writers[table].writerows(table_rows)
            self._counts[table] += len(table_rows)

    def close(self, dropped: Counter[str]) -> FlatTables:
        for handle in self._files.values():
            handle.close()
        tables = [
            FlatTable(spec.name, spec.title, self._out_dir / f"{spec.name}.csv", spec.table_schema(),
                      self._counts[spec.name])
            for spec in TABLES
        ]
        return FlatTables(tables=tables, dropped=dropped)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _get(obj: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _objects(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        return ";".join(str(v) for v in value if v is not None)
    if isinstance(value, dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return None
        return value.strip()
    return None


def _integer(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return value.strip()
    return None


def _datetime(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed.isoformat()


_CONVERTERS: dict[str, Callable[[Any], str | None]] = {
    "number": _number, "integer": _integer, "datetime": _datetime, "string": _text,
}


def iter_table_specs() -> Iterator[TableSpec]:
    yield from TABLES

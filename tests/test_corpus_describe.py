"""Describe every tabular file of the shared corpus of real government files.

The corpus lives beside the repository (../shared/corpus/) and is never copied
into it; these tests skip when it is absent.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from frictionless import Resource, Schema

from publisher.config import SchemaOverrides
from publisher.sources.base import StagedFile
from publisher.tables import DescribedTable, describe_file, source_descriptor

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PATTERNS = ("csv/*.csv", "xlsx/*.xlsx", "json/*.json", "geojson/*.geojson", "invalid/*.csv", "datapackage/**/*.csv")
TABULAR = sorted(p for pattern in PATTERNS for p in CORPUS.glob(pattern)) if CORPUS.is_dir() else []
# Structural errors the normalised CSV must keep (blank rows are dropped, the rest stays).
EXPECTED_ERRORS = {
    "ragged_blank_duplicate_headers.csv": {"blank-label", "duplicate-label", "missing-cell", "extra-cell"},
    "cordoba_calculo_de_recursos_2017.xlsx": {"blank-label"},  # the codes column has no label
}


def corpus_file(relative: str) -> Path:
    path = CORPUS / relative
    if not path.is_file():
        pytest.skip(f"../shared/corpus/{relative} is absent")
    return path


def describe(path: Path, tmp_path: Path) -> DescribedTable:
    return describe_file(StagedFile(path=path, name=path.stem), tmp_path / "data.csv", SchemaOverrides())


def fields(table: DescribedTable) -> dict[str, str]:
    return {f["name"]: f["type"] for f in table.schema["fields"]}


def normalised_rows(table: DescribedTable) -> list[list[str]]:
    with table.path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def error_types(resource: Resource) -> set[str]:
    report = resource.validate()
    return {error.type for task in report.tasks for error in task.errors}


@pytest.mark.skipif(not TABULAR, reason="../shared/corpus/ is absent")
@pytest.mark.parametrize("path", TABULAR, ids=[str(p.relative_to(CORPUS)) for p in TABULAR])
def test_every_tabular_corpus_file(path: Path, tmp_path: Path) -> None:
    table = describe(path, tmp_path)
    assert table.row_count > 0
    data = table.path.read_bytes()
    data.decode("utf-8")  # normalised output is UTF-8 ...
    assert not data.startswith(b"\xef\xbb\xbf")  # ... without BOM ...
    assert data.endswith(b"\n") and not data.split(b"\n", 1)[0].endswith(b"\r")  # ... with LF line ends
    schema = Schema.from_descriptor(table.schema)
    normalised = Resource(path=table.path.name, basepath=str(tmp_path), schema=schema)
    assert error_types(normalised) == EXPECTED_ERRORS.get(path.name, set())


@pytest.mark.skipif(not TABULAR, reason="../shared/corpus/ is absent")
@pytest.mark.parametrize("path", [p for p in TABULAR if p.suffix == ".csv"], ids=lambda p: str(p.relative_to(CORPUS)))
def test_source_descriptor_reads_the_raw_csv(path: Path, tmp_path: Path) -> None:
    descriptor = source_descriptor(StagedFile(path=path, name=path.stem))
    table = describe(path, tmp_path)
    assert [(f["name"], f["type"]) for f in descriptor["schema"]["fields"]] == list(fields(table).items())
    errors = error_types(Resource(descriptor, basepath=str(path.parent)))
    # The raw file keeps its blank rows; otherwise it reads as cleanly as the normalised one.
    assert errors - {"blank-row"} == EXPECTED_ERRORS.get(path.name, set())


def test_acumar_is_latin1_semicolon_crlf(tmp_path: Path) -> None:
    path = corpus_file("csv/acumar_pozos_monitoreo.csv")
    table = describe(path, tmp_path)
    assert table.source_encoding in ("iso-8859-1", "cp1252")
    assert table.source_dialect == {"delimiter": ";", "lineTerminator": "\r\n"}
    assert fields(table) == {
        "pozos_id": "string",
        "pozos_tipo": "string",
        "pozos_acuifero": "string",
        "pozos_latitud": "number",
        "pozos_longitud": "number",
    }
    assert table.row_count == 281
    assert "Paraná" in {row[2] for row in normalised_rows(table)}  # the file's only non-ASCII letter


def test_cna2018_latin1_decimal_commas(tmp_path: Path) -> None:
    path = corpus_file("csv/cna2018_eaps_por_partido_pba.csv")
    table = describe(path, tmp_path)
    assert table.source_encoding == "iso-8859-1"
    assert table.source_dialect["delimiter"] == ";"
    types = fields(table)
    assert list(types)[:5] == [
        "Año del censo",
        "Provincia",
        "Código del partido",
        "Partido",
        "EAPS pequeñas (<= 500ha)",
    ]
    assert "Prácticas orgánicasbiodinámicas/agroecológicas" in types
    decimal_comma_columns = [
        "Superficie en manos de Empresas",
        "Cantidad de hectáreas implantadas de Cereales",
        "Soja por hectárea",
        "Total de HA",
        "HA ocupadas por EAPS pequeñas",
        "Total Hectáreas",
    ]
    assert {types[name] for name in decimal_comma_columns} == {"number"}
    assert types["Año del censo"] == "integer"
    first = dict(zip(normalised_rows(table)[0], normalised_rows(table)[1], strict=True))
    assert first["Superficie en manos de Empresas"] == "11657123.2"
    descriptor = source_descriptor(StagedFile(path=path, name="cna"))
    superficie = next(f for f in descriptor["schema"]["fields"] if f["name"] == "Superficie en manos de Empresas")
    assert superficie["decimalChar"] == ","


def test_cordoba_budget_drops_30_blank_rows(tmp_path: Path) -> None:
    table = describe(corpus_file("csv/cordoba_presupuesto_2017_por_objeto_del_gasto.csv"), tmp_path)
    assert "dropped 30 blank rows" in table.notes
    assert table.row_count == 190
    assert fields(table)["Total"] == "integer"
    assert normalised_rows(table)[1][1] == "Total General"  # trailing space trimmed


def test_uruguay_utf8_quoted_and_fraction_without_leading_zero(tmp_path: Path) -> None:
    table = describe(corpus_file("csv/uruguay_presupuesto_programas.csv"), tmp_path)
    assert table.source_encoding == "utf-8"
    types = fields(table)
    assert types["AÑO"] == "integer"
    assert types["pbi"] == "number"
    assert [row[-1] for row in normalised_rows(table)[1:]] == [
        "0.003465",
        "0.007937",
        "0.002576",
        "0.109327",
        "0.001586",
    ]


def test_santafe_covid_utf8_comma(tmp_path: Path) -> None:
    table = describe(corpus_file("csv/santafe_covid_por_departamento_wide.csv"), tmp_path)
    assert table.source_encoding == "utf-8"
    assert table.source_dialect["delimiter"] == ","
    assert table.row_count == 1412
    assert len(table.schema["fields"]) == 86
    assert list(fields(table))[:4] == ["TYPE", "DEPARTMENT", "PLACE", "14/3/2020"]
    assert fields(table)["14/3/2020"] == "number"


def test_cordoba_xlsx_header_on_row_8(tmp_path: Path) -> None:
    table = describe(corpus_file("xlsx/cordoba_calculo_de_recursos_2017.xlsx"), tmp_path)
    assert table.source_dialect == {"sheet": "Rec", "headerRow": 8}
    assert list(fields(table)) == ["field1", "C O N C E P T O", "RENTAS GENERALES", "AFECTACION ESPECIFICA", "TOTAL"]
    assert fields(table)["RENTAS GENERALES"] == "number"
    assert normalised_rows(table)[1][:3] == ["I -", "TOTAL DE RECURSOS", "19613839065.29"]


def test_santafe_json_envelope(tmp_path: Path) -> None:
    table = describe(corpus_file("json/santafe_gestiones_compra_listing_AP.json"), tmp_path)
    assert table.source_dialect == {"recordsPath": "data"}
    types = fields(table)
    assert types["numeroAño"] == "string"
    assert types["fechaHoraApertura"] == "date"  # 04-09-2026
    assert types["fechaHoraAperturaFija"] == "datetime"  # 2026-09-04 09:30:00
    assert types["numeroGestion"] == "string"  # "01" is a code
    row = dict(zip(normalised_rows(table)[0], normalised_rows(table)[1], strict=True))
    assert row["fechaHoraApertura"] == "2026-09-04"
    assert row["fechaHoraAperturaFija"] == "2026-09-04T09:30:00"
    assert row["numeroAño"] == "18-2026"


def test_cordoba_json_top_level_array(tmp_path: Path) -> None:
    table = describe(corpus_file("json/cordoba_recursos_totales_presupuesto_2017.json"), tmp_path)
    assert table.row_count == 51
    assert fields(table) == {
        "key": "string",
        "rec0": "string",
        "rec1": "string",
        "rec2": "string",
        "rec3": "string",
        "valor": "integer",
    }
    assert normalised_rows(table)[1][0] == "Contribución que incide sobre los Inmuebles"


def test_caba_geojson_properties(tmp_path: Path) -> None:
    path = corpus_file("geojson/caba_hospitales.geojson")
    table = describe(path, tmp_path)
    types = fields(table)
    assert table.row_count == 36
    assert types["nombre"] == "string"
    assert types["publicable"] == "boolean"  # "True" strings
    assert types["timestamp_modificacion"] == "datetime"
    assert list(types)[-2:] == ["lon", "lat"]
    assert table.extra_files == (path,)
    barrios = describe(corpus_file("geojson/caba_barrios_vulnerables.geojson"), tmp_path / "b")
    assert fields(barrios)["geometry"] == "geojson"
    assert barrios.row_count == 39


def test_lossy_question_marks_flagged(tmp_path: Path) -> None:
    table = describe(corpus_file("invalid/audiencias_lossy_encoding_question_marks.csv"), tmp_path)
    assert any("'dependencia'" in note and "cannot be repaired" in note for note in table.notes)
    assert "dropped 1 blank rows" in table.notes
    assert fields(table)["fecha_audiencia"] == "date"

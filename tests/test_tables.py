"""Describe: reading staged files as tables the way an Argentine city writes them."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from frictionless import Resource, Schema

from publisher.config import SchemaOverrides
from publisher.errors import DescribeError
from publisher.sources.base import ReadOptions, StagedFile
from publisher.tables import DescribedTable, describe_file, slugify, source_descriptor
from publisher.tables.dialect import sniff_delimiter
from publisher.tables.encoding import detect_encoding

FIXTURES = Path(__file__).parent / "fixtures" / "tables"


def describe(path: Path, tmp_path: Path, overrides: SchemaOverrides | None = None, **read: Any) -> DescribedTable:
    staged = StagedFile(path=path, name=path.stem, read=ReadOptions(**read), origin="prueba")
    return describe_file(staged, tmp_path / "out" / "data.csv", overrides or SchemaOverrides())


def write(tmp_path: Path, name: str, text: str, encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def types(table: DescribedTable) -> dict[str, str]:
    return {f["name"]: f["type"] for f in table.schema["fields"]}


def rows(table: DescribedTable) -> list[list[str]]:
    with table.path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def validate_normalised(table: DescribedTable) -> list[str]:
    resource = Resource(
        path=table.path.name, basepath=str(table.path.parent), schema=Schema.from_descriptor(table.schema)
    )
    report = resource.validate()
    return [error.type for task in report.tasks for error in task.errors]


# --- encoding ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("año;descripción\n2024;árbol\n".encode(), "utf-8"),
        (b"\xef\xbb\xbf" + "año\n2024\n".encode(), "utf-8-sig"),
        ("año;descripción\n2024;árbol\n".encode("latin-1"), "iso-8859-1"),
        ("nota\n“urgente” – sí\n".encode("cp1252"), "cp1252"),
    ],
)
def test_encoding_detection(tmp_path: Path, data: bytes, expected: str) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert detect_encoding(path).encoding == expected


def test_encoding_checks_the_whole_file_not_a_sample(tmp_path: Path) -> None:
    path = tmp_path / "tarde.csv"
    path.write_bytes(b"id;nombre\n" + b"1;Juan\n" * 400_000 + "2;Martín\n".encode("latin-1"))
    assert detect_encoding(path).encoding == "iso-8859-1"


def test_binary_named_csv_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "planilla.csv"
    path.write_bytes(b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + bytes(range(256)) * 4)
    with pytest.raises(DescribeError, match=r"cannot decode planilla\.csv as text: it contains NUL bytes"):
        describe(path, tmp_path)


def test_non_spanish_garbage_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "ruido.csv"
    path.write_bytes(bytes([0x41, 0x0E, 0x0F, 0x10, 0x11, 0x12, 0x13, 0x14, 0x80, 0x81, 0xFF] * 50))
    with pytest.raises(DescribeError, match=r"cannot decode ruido\.csv as text"):
        describe(path, tmp_path)


def test_latin1_fixture_decoded_exactly(tmp_path: Path) -> None:
    table = describe(FIXTURES / "reclamos_latin1.csv", tmp_path)
    assert table.source_encoding == "iso-8859-1"
    assert table.source_dialect == {"delimiter": ";", "lineTerminator": "\r\n"}
    assert [f["name"] for f in table.schema["fields"]][:3] == ["código", "barrio", "descripción"]
    assert rows(table)[1][2] == "Poda de árbol en vereda"


def test_cp1252_fixture_keeps_curly_quotes(tmp_path: Path) -> None:
    table = describe(FIXTURES / "tramites_cp1252.csv", tmp_path)
    assert table.source_encoding == "cp1252"
    assert table.source_dialect["delimiter"] == "|"
    assert rows(table)[1] == ["1", "Expediente “urgente” – revisar", "1500.25"]
    assert rows(table)[2][2] == "0.75"


def test_steward_encoding_wins_and_wrong_one_is_reported(tmp_path: Path) -> None:
    path = FIXTURES / "reclamos_latin1.csv"
    assert describe(path, tmp_path, encoding="cp1252").source_encoding == "cp1252"
    with pytest.raises(DescribeError, match=r"cannot decode reclamos_latin1\.csv as utf-8"):
        describe(path, tmp_path, encoding="utf-8")


def test_lossy_question_marks_are_flagged(tmp_path: Path) -> None:
    path = write(tmp_path, "audiencias.csv", "dependencia,piso\nPresidencia De La Naci??n,Piso 6??\nMinisterio,3\n")
    table = describe(path, tmp_path)
    assert any("'dependencia'" in note and "cannot be repaired" in note for note in table.notes)
    assert not any("'piso'" in note and "Naci" in note for note in table.notes)  # no raw values in notes


# --- dialect ----------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiter_sniffing(delimiter: str) -> None:
    lines = [["id", "nombre", "monto"], ["1", "Ana", "1,5"], ["2", "Luis", "2,25"], ["3", "Eva", "7"]]
    sample = "\n".join(delimiter.join(line) for line in lines) + "\n"
    if delimiter == ",":
        sample = sample.replace("1,5", '"1,5"').replace("2,25", '"2,25"')
    assert sniff_delimiter(sample, complete=True) == delimiter


def test_semicolon_file_with_decimal_commas_in_every_row() -> None:
    sample = "partido;superficie;rinde\nRosario;1,5;2,5\nCasilda;3,25;4,75\nFunes;5,5;6,5\n"
    assert sniff_delimiter(sample, complete=True) == ";"


def test_embedded_newlines_quotes_and_trailing_delimiter(tmp_path: Path) -> None:
    table = describe(FIXTURES / "comentarios_multilinea.csv", tmp_path)
    assert [f["name"] for f in table.schema["fields"]] == ["id", "nombre", "comentario", "fecha_hora"]
    assert table.row_count == 2
    assert rows(table)[1] == ["1", "Pérez, Ana", 'Vecina del barrio.\nPide poda, "urgente"', "2026-09-04T09:30:00"]
    assert types(table)["fecha_hora"] == "datetime"
    assert "dropped 1 empty trailing columns with no label" in table.notes
    assert validate_normalised(table) == []


def test_tsv_with_bom(tmp_path: Path) -> None:
    table = describe(FIXTURES / "arbolado_bom.tsv", tmp_path)
    assert table.source_format == "tsv"
    assert table.source_encoding == "utf-8-sig"
    assert types(table) == {
        "año": "integer",
        "mes": "integer",
        "cantidad de árboles plantados": "integer",
        "promedio": "number",
    }


# --- inference --------------------------------------------------------------


def test_fixture_types_and_normalised_values(tmp_path: Path) -> None:
    table = describe(FIXTURES / "reclamos_latin1.csv", tmp_path)
    assert types(table) == {
        "código": "string",
        "barrio": "string",
        "descripción": "string",
        "monto": "number",
        "fecha": "date",
        "activo": "boolean",
    }
    assert rows(table) == [
        ["código", "barrio", "descripción", "monto", "fecha", "activo"],
        ["01", "Echesortu", "Poda de árbol en vereda", "1234.56", "2026-03-14", "true"],
        ["0164A", "Alberdi", "Reparación de luminaria", "11657123.2", "2026-04-01", "false"],
        ["007", "Fisherton", "Bache en calle Córdoba", "0.5", "2026-04-02", "true"],
        ["120", "Centro", "Limpieza de microbasural", "-3.75", "2025-12-30", "false"],
    ]
    assert "dropped 1 blank rows" in table.notes
    assert table.schema["missingValues"] == [""]
    assert validate_normalised(table) == []


@pytest.mark.parametrize(
    ("values", "expected_type", "normalised"),
    [
        (["1", "0", "-25"], "integer", ["1", "0", "-25"]),
        (["01", "2"], "string", ["01", "2"]),
        (["0164A", "12"], "string", ["0164A", "12"]),
        ([".003465", "0.0", "12"], "number", ["0.003465", "0.0", "12"]),
        (["1.234", "5.5"], "number", ["1.234", "5.5"]),  # both styles fit: decimal point
        (["1.234,56", "7,5"], "number", ["1234.56", "7.5"]),
        (["1,234.5", "3"], "number", ["1234.5", "3"]),
        (["TRUE", "false", "True"], "boolean", ["true", "false", "true"]),
        (["si", "no"], "string", ["si", "no"]),
        (["14/03/2026", "1/4/2026"], "date", ["2026-03-14", "2026-04-01"]),
        (["14-03-2026", "01-04-2026"], "date", ["2026-03-14", "2026-04-01"]),
        (["2026-03-14", "2024-02-29"], "date", ["2026-03-14", "2024-02-29"]),
        (["31/02/2026", "01/03/2026"], "string", ["31/02/2026", "01/03/2026"]),
        (["14/03/2026", "2026-03-15"], "string", ["14/03/2026", "2026-03-15"]),
        (
            ["2026-09-04 09:30:00", "2026-09-05T10:00:00Z"],
            "datetime",
            ["2026-09-04T09:30:00", "2026-09-05T10:00:00+00:00"],
        ),
        (["04/09/2026 09:30", "05/09/2026 18:05"], "datetime", ["2026-09-04T09:30:00", "2026-09-05T18:05:00"]),
    ],
)
def test_inference_rules(tmp_path: Path, values: list[str], expected_type: str, normalised: list[str]) -> None:
    path = write(tmp_path, "col.csv", "valor;otro\n" + "".join(f"{v};x\n" for v in values))
    table = describe(path, tmp_path)
    assert types(table)["valor"] == expected_type
    assert [row[0] for row in rows(table)[1:]] == normalised
    assert validate_normalised(table) == []


def test_whitespace_cells_are_missing_and_text_is_trimmed(tmp_path: Path) -> None:
    path = write(tmp_path, "t.csv", 'monto , nombre \n"  12 ","  Ana "\n" ",Luis\n')
    table = describe(path, tmp_path)
    assert types(table) == {"monto": "integer", "nombre": "string"}
    assert rows(table) == [["monto", "nombre"], ["12", "Ana"], ["", "Luis"]]


def test_type_is_decided_over_all_values_not_a_sample(tmp_path: Path) -> None:
    path = write(tmp_path, "largo.csv", "codigo\n" + "".join(f"{i}\n" for i in range(1, 20_000)) + "0099\n")
    assert types(describe(path, tmp_path))["codigo"] == "string"


# --- structure --------------------------------------------------------------


def test_ragged_blank_and_duplicate_labels_are_kept_for_validation(tmp_path: Path) -> None:
    path = write(tmp_path, "roto.csv", "id,name,,name\n1,english\n\n2,german,1,2,3\n")
    table = describe(path, tmp_path)
    assert [f["name"] for f in table.schema["fields"]] == ["id", "name", "field3", "name2"]
    assert rows(table)[0] == ["id", "name", "", "name"]
    errors = set(validate_normalised(table))
    assert {"blank-label", "duplicate-label", "missing-cell", "extra-cell"} <= errors
    assert "dropped 1 blank rows" in table.notes


def test_header_only_file_is_a_valid_empty_table(tmp_path: Path) -> None:
    table = describe(write(tmp_path, "vacia.csv", "id;nombre\n"), tmp_path)
    assert table.row_count == 0
    assert "the table has a header but no data rows" in table.notes
    assert validate_normalised(table) == []


def test_result_metadata(tmp_path: Path) -> None:
    table = describe(FIXTURES / "reclamos_latin1.csv", tmp_path)
    data = table.path.read_bytes()
    assert table.sha256 == hashlib.sha256(data).hexdigest()
    assert table.bytes == len(data)
    assert table.name == "reclamos_latin1"
    assert table.origin == "prueba"
    assert table.row_count == 4
    assert b"\r" not in data and not data.startswith(b"\xef\xbb\xbf")


def test_resource_name_is_slugified(tmp_path: Path) -> None:
    staged = StagedFile(path=FIXTURES / "arbolado_bom.tsv", name="x")
    table = describe_file(staged, tmp_path / "a.csv", SchemaOverrides(), resource_name="Cálculo de Recursos 2017")
    assert table.name == "calculo-de-recursos-2017"
    assert slugify("Árbol / Poda  (Ñandú)") == "arbol-poda-nandu"


# --- spreadsheets -----------------------------------------------------------


def make_xlsx(path: Path) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    portada = workbook.add_worksheet("Portada")
    portada.write(0, 0, "Municipalidad de Rosario")
    sheet = workbook.add_worksheet("Recursos")
    sheet.write(0, 1, "  Expte. Nº 038.253  Año 2016")
    sheet.write(2, 0, "CÁLCULO DE RECURSOS 2026")
    for col, label in enumerate(["Código", " C O N C E P T O ", "Monto ", "Fecha"]):
        sheet.write(4, col, label)
    data = [("1.01", "Tasas", 1500.5, "14/03/2026"), ("1.01.01", "Derechos", 2000, "15/03/2026")]
    for row, values in enumerate(data, start=5):
        for col, value in enumerate(values):
            sheet.write(row, col, value)
    workbook.close()
    return path


def test_xlsx_banner_rows_are_skipped(tmp_path: Path) -> None:
    table = describe(make_xlsx(tmp_path / "recursos.xlsx"), tmp_path, sheet="Recursos")
    assert table.source_dialect == {"sheet": "Recursos", "headerRow": 5}
    assert types(table) == {"Código": "string", "C O N C E P T O": "string", "Monto": "number", "Fecha": "date"}
    assert rows(table)[1:] == [["1.01", "Tasas", "1500.5", "2026-03-14"], ["1.01.01", "Derechos", "2000", "2026-03-15"]]
    assert "header found on row 5; 4 banner rows above it skipped" in table.notes


def test_xlsx_sheet_by_index_and_header_row(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "recursos.xlsx")
    table = describe(path, tmp_path, sheet=2, header_row=3)
    assert table.schema["fields"][0]["name"] == "CÁLCULO DE RECURSOS 2026"
    assert describe(path, tmp_path).source_dialect["sheet"] == "Portada"


def test_xlsx_unknown_sheet_lists_the_sheets(tmp_path: Path) -> None:
    path = make_xlsx(tmp_path / "recursos.xlsx")
    with pytest.raises(DescribeError, match=r"recursos\.xlsx has no sheet named 'Hoja1'; sheets: Portada, Recursos"):
        describe(path, tmp_path, sheet="Hoja1")


def test_truncated_xlsx(tmp_path: Path) -> None:
    whole = make_xlsx(tmp_path / "entero.xlsx").read_bytes()
    path = tmp_path / "cortado.xlsx"
    path.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(
        DescribeError, match=r"cannot open cortado\.xlsx as xlsx: file is truncated or not a spreadsheet"
    ):
        describe(path, tmp_path)


# --- JSON, NDJSON, GeoJSON --------------------------------------------------


def test_json_envelope_is_found(tmp_path: Path) -> None:
    document = {
        "success": True,
        "errors": {"reason": ""},
        "data": [
            {"idGestion": "138825", "numeroAño": "18-2026", "fecha": "04-09-2026", "monto": 10.5},
            {"idGestion": "138867", "numeroAño": "01-2026", "fecha": "05-09-2026", "monto": None, "extra": [1]},
        ],
        "totalRecords": "2",
    }
    path = write(tmp_path, "gestiones.json", json.dumps(document, ensure_ascii=False))
    table = describe(path, tmp_path)
    assert types(table) == {
        "idGestion": "integer",
        "numeroAño": "string",
        "fecha": "date",
        "monto": "number",
        "extra": "string",
    }
    assert table.source_dialect == {"recordsPath": "data"}
    assert rows(table)[2] == ["138867", "01-2026", "2026-09-05", "", "[1]"]


def test_json_records_path_dotted(tmp_path: Path) -> None:
    document = {"result": {"records": [{"a": 1}, {"a": 2}]}, "otros": [{"b": 1}], "mas": [{"c": 1}]}
    path = write(tmp_path, "r.json", json.dumps(document))
    assert describe(path, tmp_path, records_path="result.records").row_count == 2
    with pytest.raises(DescribeError, match=r"r\.json: expected .* \(top-level keys holding records: otros, mas\)"):
        describe(path, tmp_path)  # two candidate lists: the steward must choose


@pytest.mark.parametrize("document", ["42", "[1, 2, 3]", '{"data": "x"}'])
def test_json_that_is_not_records(tmp_path: Path, document: str) -> None:
    path = write(tmp_path, "malo.json", document)
    with pytest.raises(
        DescribeError, match=r"malo\.json: expected an array of objects or \{\.\.\.: \[objects\]\} at records_path"
    ):
        describe(path, tmp_path, records_path="data" if document.startswith("{") else None)


def test_ndjson(tmp_path: Path) -> None:
    path = write(
        tmp_path, "eventos.ndjson", '{"id": 1, "tipo": "poda"}\n\n{"id": 2, "tipo": "bache", "barrio": "Centro"}\n'
    )
    table = describe(path, tmp_path)
    assert types(table) == {"id": "integer", "tipo": "string", "barrio": "string"}
    assert rows(table)[1:] == [["1", "poda", ""], ["2", "bache", "Centro"]]


def test_geojson_points_become_lon_lat(tmp_path: Path) -> None:
    features = [
        {
            "type": "Feature",
            "properties": {"nombre": "Hospital Centenario", "camas": 300, "publicable": "True"},
            "geometry": {"type": "Point", "coordinates": [-60.65, -32.95]},
        },
        {
            "type": "Feature",
            "properties": {"nombre": "Hospital Carrasco", "camas": None, "publicable": "False"},
            "geometry": {"type": "Point", "coordinates": [-60.68, -32.96]},
        },
    ]
    path = write(tmp_path, "hospitales.geojson", json.dumps({"type": "FeatureCollection", "features": features}))
    table = describe(path, tmp_path)
    assert types(table) == {
        "nombre": "string",
        "camas": "integer",
        "publicable": "boolean",
        "lon": "number",
        "lat": "number",
    }
    assert rows(table)[1] == ["Hospital Centenario", "300", "true", "-60.65", "-32.95"]
    assert table.extra_files == (path,)


def test_geojson_polygons_keep_a_geometry_column(tmp_path: Path) -> None:
    polygon = {"type": "Polygon", "coordinates": [[[-60.6, -32.9], [-60.7, -32.9], [-60.7, -33.0], [-60.6, -32.9]]]}
    document = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"barrio": "Centro"}, "geometry": polygon}],
    }
    table = describe(write(tmp_path, "barrios.geojson", json.dumps(document)), tmp_path)
    assert types(table) == {"barrio": "string", "geometry": "geojson"}
    assert json.loads(rows(table)[1][1]) == polygon
    assert validate_normalised(table) == []


# --- overrides --------------------------------------------------------------


def overrides(**data: Any) -> SchemaOverrides:
    return SchemaOverrides.model_validate(data)


def test_overrides_apply(tmp_path: Path) -> None:
    path = write(
        tmp_path, "o.csv", "id;importe;vigente;alta;zona;obs\n1;1.500;si;14/03/2026;A;-\n2;2.000;no;15/03/2026;B;ok\n"
    )
    table = describe(
        path,
        tmp_path,
        overrides(
            fields={
                "importe": {"decimal_char": ",", "group_char": ".", "title": "Importe en pesos"},
                "vigente": {"true_values": ["si"], "false_values": ["no"]},
                "alta": {"type": "date", "format": "%d/%m/%Y", "description": "Fecha de alta"},
                "zona": {"constraints": {"enum": ["A", "B"]}, "rename": "zona_fiscal"},
            },
            primary_key=["id"],
            unique_keys=[["zona", "alta"]],
            missing_values=["-"],
        ),
    )
    fields = {f["name"]: f for f in table.schema["fields"]}
    assert fields["importe"] == {"name": "importe", "type": "number", "title": "Importe en pesos"}
    assert fields["vigente"]["type"] == "boolean"
    assert fields["alta"] == {"name": "alta", "type": "date", "description": "Fecha de alta"}
    assert fields["zona_fiscal"] == {"name": "zona_fiscal", "type": "string", "constraints": {"enum": ["A", "B"]}}
    assert table.schema["primaryKey"] == ["id"]
    assert table.schema["uniqueKeys"] == [["zona_fiscal", "alta"]]
    assert rows(table) == [
        ["id", "importe", "vigente", "alta", "zona_fiscal", "obs"],
        ["1", "1500", "true", "2026-03-14", "A", ""],
        ["2", "2000", "false", "2026-03-15", "B", "ok"],
    ]
    assert validate_normalised(table) == []


def test_single_field_unique_key_is_checked_by_frictionless(tmp_path: Path) -> None:
    path = write(tmp_path, "k.csv", "expediente,monto\nA-1,10\nA-1,12\n")
    table = describe(path, tmp_path, overrides(unique_keys=[["expediente"]]))
    assert table.schema["uniqueKeys"] == [["expediente"]]
    assert table.schema["fields"][0]["constraints"] == {"unique": True}
    assert validate_normalised(table) == ["unique-error"]


def test_forced_type_keeps_unconvertible_values_for_validation(tmp_path: Path) -> None:
    path = write(tmp_path, "f.csv", "cantidad\n12\ndoce\n")
    table = describe(path, tmp_path, overrides(fields={"cantidad": {"type": "integer"}}))
    assert rows(table)[1:] == [["12"], ["doce"]]
    assert validate_normalised(table) == ["type-error"]


def test_override_of_unknown_field_names_the_fields(tmp_path: Path) -> None:
    path = write(tmp_path, "u.csv", "id;nombre\n1;Ana\n")
    with pytest.raises(DescribeError, match=r"u\.csv: schema override for unknown field 'nombres'; fields: id, nombre"):
        describe(path, tmp_path, overrides(fields={"nombres": {"type": "string"}}))
    with pytest.raises(DescribeError, match=r"key field 'codigo' does not exist; fields: id, nombre"):
        describe(path, tmp_path, overrides(primary_key=["codigo"]))


# --- bad input --------------------------------------------------------------


def test_empty_file(tmp_path: Path) -> None:
    with pytest.raises(DescribeError, match=r"vacio\.csv is empty \(0 bytes\)"):
        describe(write(tmp_path, "vacio.csv", ""), tmp_path)


def test_unknown_format(tmp_path: Path) -> None:
    with pytest.raises(DescribeError, match=r"cannot tell the format of datos\.dat"):
        describe(write(tmp_path, "datos.dat", "a,b\n"), tmp_path)


# --- source descriptor ------------------------------------------------------


def test_source_descriptor_reads_the_raw_file(tmp_path: Path) -> None:
    path = FIXTURES / "reclamos_latin1.csv"
    staged = StagedFile(path=path, name="reclamos")
    descriptor = source_descriptor(staged)
    assert descriptor["encoding"] == "iso-8859-1"
    assert descriptor["dialect"] == {"csv": {"delimiter": ";"}}
    fields = {f["name"]: f for f in descriptor["schema"]["fields"]}
    assert fields["monto"] == {"name": "monto", "type": "number", "decimalChar": ",", "groupChar": "."}
    assert fields["fecha"] == {"name": "fecha", "type": "date", "format": "%d/%m/%Y"}
    normalised = describe(path, tmp_path)
    assert [(f["name"], f["type"]) for f in descriptor["schema"]["fields"]] == [
        (f["name"], f["type"]) for f in normalised.schema["fields"]
    ]
    report = Resource(descriptor, basepath=str(path.parent)).validate()
    assert [e.type for t in report.tasks for e in t.errors] == ["blank-row"]  # the raw file has one
    rows_read = Resource(descriptor, basepath=str(path.parent)).read_rows()
    assert str(rows_read[0]["monto"]) == "1234.56"


def make_xls(path: Path) -> Path:
    import xlwt

    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet("Padrón")
    sheet.write(0, 0, "Reporte de arbolado público")
    for col, label in enumerate(["especie", "cantidad", "altura media"]):
        sheet.write(2, col, label)
    for row, values in enumerate([("Jacarandá", 120, 7.5), ("Tipa", 80, 12.25)], start=3):
        for col, value in enumerate(values):
            sheet.write(row, col, value)
    workbook.save(str(path))
    return path


ODS_CONTENT = """<?xml version="1.0" encoding="UTF-8"?>
<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"
 xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"
 xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">
<office:body><office:spreadsheet><table:table table:name="Hoja1">
<table:table-row><table:table-cell office:value-type="string"><text:p>barrio</text:p></table:table-cell>
<table:table-cell office:value-type="string"><text:p>habitantes</text:p></table:table-cell></table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>Echesortu</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="27125"><text:p>27125</text:p></table:table-cell>
</table:table-row>
<table:table-row><table:table-cell office:value-type="string"><text:p>Pichincha</text:p></table:table-cell>
<table:table-cell office:value-type="float" office:value="12043"><text:p>12043</text:p></table:table-cell>
</table:table-row>
</table:table></office:spreadsheet></office:body></office:document-content>"""

ODS_MANIFEST = """<?xml version="1.0" encoding="UTF-8"?>
<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">
<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>
<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>
</manifest:manifest>"""


def make_ods(path: Path) -> Path:
    import zipfile

    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet", zipfile.ZIP_STORED)
        archive.writestr("META-INF/manifest.xml", ODS_MANIFEST, zipfile.ZIP_DEFLATED)
        archive.writestr("content.xml", ODS_CONTENT.replace("\n", ""), zipfile.ZIP_DEFLATED)
    return path


def test_xls_with_banner(tmp_path: Path) -> None:
    table = describe(make_xls(tmp_path / "arbolado.xls"), tmp_path)
    assert table.source_format == "xls"
    assert table.source_dialect == {"sheet": "Padrón", "headerRow": 3}
    assert types(table) == {"especie": "string", "cantidad": "integer", "altura media": "number"}
    assert rows(table)[1:] == [["Jacarandá", "120", "7.5"], ["Tipa", "80", "12.25"]]


def test_ods(tmp_path: Path) -> None:
    table = describe(make_ods(tmp_path / "barrios.ods"), tmp_path)
    assert table.source_format == "ods"
    assert types(table) == {"barrio": "string", "habitantes": "integer"}
    assert rows(table)[1:] == [["Echesortu", "27125"], ["Pichincha", "12043"]]


def test_source_schema_hint_is_used_instead_of_inference(tmp_path: Path) -> None:
    path = write(tmp_path, "h.csv", "legajo,alta\n0012,2026-01-05\n0099,2026-02-01\n")
    hint = {"fields": [{"name": "legajo", "type": "integer"}, {"name": "alta", "type": "string"}]}
    staged = StagedFile(path=path, name="h", schema_hint=hint)
    table = describe_file(staged, tmp_path / "h_out.csv", SchemaOverrides())
    assert types(table) == {"legajo": "integer", "alta": "string"}
    assert rows(table)[1] == ["12", "2026-01-05"]
    forced = describe_file(staged, tmp_path / "h2.csv", overrides(fields={"legajo": {"type": "string"}}))
    assert types(forced)["legajo"] == "string"  # the steward wins over the source


def test_steward_delimiter_wins(tmp_path: Path) -> None:
    path = write(tmp_path, "d.csv", "a;b,c\n1;2,3\n")
    assert [f["name"] for f in describe(path, tmp_path, delimiter=",").schema["fields"]] == ["a;b", "c"]
    with pytest.raises(DescribeError, match=r"d\.csv: read\.delimiter must be one character"):
        describe(path, tmp_path, delimiter=";;")


def test_utf8_with_a_broken_byte_is_not_decoded_as_latin1(tmp_path: Path) -> None:
    path = tmp_path / "mezcla.csv"
    path.write_bytes("barrio;descripción\nÑuñoa;Poda de árbol\nEchesortu;Reparación\n".encode() + b"Centro;Cami\xf3n\n")
    with pytest.raises(DescribeError, match=r"cannot decode mezcla\.csv as text: it is UTF-8 with invalid bytes"):
        describe(path, tmp_path)


def test_schema_hint_primary_key_and_constraints_reach_the_schema(tmp_path: Path) -> None:
    from publisher.config import SchemaOverrides
    from publisher.sources import ReadOptions, StagedFile
    from publisher.tables import describe_file

    source = tmp_path / "obras.csv"
    source.write_text("id,barrio\n1,Centro\n2,Norte\n", encoding="utf-8")
    hint = {"fields": [{"name": "id", "type": "integer", "constraints": {"required": True}},
                       {"name": "barrio", "type": "string"}], "primaryKey": ["id"]}
    staged = StagedFile(path=source, name="obras", read=ReadOptions(format="csv"), schema_hint=hint)
    table = describe_file(staged, tmp_path / "out" / "obras.csv", SchemaOverrides())
    assert table.schema["primaryKey"] == ["id"]
    assert table.schema["fields"][0]["constraints"] == {"required": True}
    steward = describe_file(staged, tmp_path / "out2" / "obras.csv", SchemaOverrides(primary_key=("barrio",)))
    assert steward.schema["primaryKey"] == ["barrio"], "the steward's key wins"

"""Detectors: personal data is found per column, look-alikes are not, raw values never leave."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest

from publisher.config import SchemaOverrides
from publisher.privacy import scan_csv
from publisher.privacy.detectors import Finding, luhn_valid
from publisher.privacy.masking import mask_value
from publisher.sources import StagedFile
from publisher.tables import describe_file

ROWS = 60


def valid_cuits(prefixes: tuple[int, ...], count: int, seed: int = 1) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < count:
        prefix, body = rng.choice(prefixes), rng.randint(10_000_000, 45_000_000)
        digits = f"{prefix}{body:08d}"
        total = sum(int(d) * w for d, w in zip(digits, [5, 4, 3, 2, 7, 6, 5, 4, 3, 2], strict=True))
        check = 11 - total % 11
        if check == 10:
            continue
        out.append(f"{prefix}-{body:08d}-{0 if check == 11 else check}")
    return out


def write(path: Path, columns: dict[str, list[str]]) -> Path:
    names = list(columns)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(names)
        writer.writerows(zip(*(columns[n] for n in names), strict=True))
    return path


def scan(tmp_path: Path, columns: dict[str, list[str]], types: dict[str, str] | None = None) -> dict[str, Finding]:
    path = write(tmp_path / "table.csv", columns)
    schema = {"fields": [{"name": n, "type": (types or {}).get(n, "string")} for n in columns]}
    return {f.column: f for f in scan_csv(path, "table", schema)}


def assert_no_raw(findings: dict[str, Finding] | list[Finding], raw_values: list[str]) -> None:
    items = findings.values() if isinstance(findings, dict) else findings
    text = json.dumps([f.to_dict() for f in items], ensure_ascii=False)
    for raw in raw_values:
        assert raw not in text, "a raw value leaked into the findings"


# --- positives ------------------------------------------------------------------

def test_emails_are_found_and_masked(tmp_path: Path) -> None:
    emails = [f"vecino{i}.apellido@gmail.com" for i in range(ROWS)]
    found = scan(tmp_path, {"correo": emails, "barrio": ["Centro"] * ROWS})
    assert set(found) == {"correo"}
    finding = found["correo"]
    assert (finding.kind, finding.count, finding.cells) == ("email", ROWS, ROWS)
    assert finding.samples[0] == "v***@gmail.com"
    assert "column name" in finding.evidence
    assert_no_raw(found, emails)


def test_cuit_needs_a_valid_check_digit_and_a_person_prefix(tmp_path: Path) -> None:
    people = valid_cuits((20, 23, 24, 27), ROWS)
    companies = valid_cuits((30, 33, 34), ROWS, seed=2)
    wrong = [c[:-1] + str((int(c[-1]) + 1) % 10) for c in people]  # check digit broken
    found = scan(tmp_path, {"cuit_titular": people, "cuit_proveedor": companies, "codigo": wrong})
    assert set(found) == {"cuit_titular"}  # companies are not personal data; bad check digits are not CUITs
    assert found["cuit_titular"].kind == "cuit_cuil"
    assert found["cuit_titular"].count == ROWS
    assert found["cuit_titular"].samples[0].startswith(people[0][:2] + "-****-")
    assert_no_raw(found, people)


def test_scattered_8_digit_numbers_with_a_neutral_name_are_dni_with_low_confidence(tmp_path: Path) -> None:
    rng = random.Random(4)
    values = [str(rng.randint(5_000_000, 45_000_000)) for _ in range(ROWS)]
    found = scan(tmp_path, {"campo_3": values}, {"campo_3": "integer"})
    assert found["campo_3"].kind == "dni" and found["campo_3"].confidence < 0.9


def test_dni_with_column_name_or_dots(tmp_path: Path) -> None:
    rng = random.Random(3)
    plain = [str(rng.randint(5_000_000, 45_000_000)) for _ in range(ROWS)]
    dotted = [f"{int(v):,}".replace(",", ".") for v in plain]
    found = scan(tmp_path, {"nro_documento": plain, "campo_x": dotted}, {"nro_documento": "integer"})
    assert found["nro_documento"].kind == "dni" and found["nro_documento"].confidence >= 0.9
    assert found["campo_x"].kind == "dni"
    assert_no_raw(found, plain + dotted)


@pytest.mark.parametrize("number", [
    "+54 9 341 555-1234", "0341 15-555-1234", "(0341) 455-6789", "341-555-1234", "011 4567-8901",
    "15-5555-1234", "(011) 15 4567-8901", "0341-4556789", "(02477) 40-9937", "03461 15-59-4509",
])
def test_argentine_phone_formats(tmp_path: Path, number: str) -> None:
    found = scan(tmp_path, {"dato": [number] * ROWS, "tipo": ["Bache"] * ROWS})
    assert found["dato"].kind == "phone"
    assert_no_raw(found, [number])


def test_ip_card_and_url_with_token(tmp_path: Path) -> None:
    cards = ["4111 1111 1111 1111", "5500 0000 0000 0004", "4012888888881881"] * 20
    assert all(luhn_valid(c) for c in cards)
    found = scan(tmp_path, {
        "ip_origen": [f"190.{i}.12.{i + 1}" for i in range(ROWS)],
        "tarjeta": cards,
        "enlace": [f"https://x.gob.ar/respuesta?token=abc{i:06d}def" for i in range(ROWS)],
    })
    assert {c: f.kind for c, f in found.items()} == {"ip_origen": "ip", "tarjeta": "card", "enlace": "url_secret"}
    assert all(s.startswith("****") and s[-4:] in {"1111", "0004", "1881"} for s in found["tarjeta"].samples)
    assert_no_raw(found, [*cards, "abc000001def"])


def test_person_names_by_column_name_and_by_value(tmp_path: Path) -> None:
    names = ["Juan Pérez", "María Gómez", "Carlos López", "Ana Fernández", "PÉREZ, Juan Manuel"] * 12
    found = scan(tmp_path, {"denunciante": names, "col_sin_nombre": names, "apellido": ["Pérez", "Gómez"] * 30})
    assert {c: f.kind for c, f in found.items()} == {
        "denunciante": "person_name", "col_sin_nombre": "person_name", "apellido": "person_name"}
    assert found["denunciante"].confidence > found["col_sin_nombre"].confidence
    assert found["denunciante"].samples[0] == "J*** P***"
    assert_no_raw(found, names)


def test_personal_data_inside_free_text(tmp_path: Path) -> None:
    texts = ["llamar a Juan Pérez al 341-555-1234 por el reclamo del contenedor en la esquina"] * 5 + [
        "Bache de gran tamaño en la calzada frente a la escuela, peligroso para ciclistas y motos"] * 55
    found = scan(tmp_path, {"observaciones": texts})
    finding = found["observaciones"]
    assert finding.kind == "free_text"
    assert finding.count == 5
    assert finding.contains == {"phone": 5, "person_name": 5}
    assert_no_raw(found, ["Juan Pérez", "341-555-1234", "555-1234"])


def test_birth_dates_addresses_and_coordinates_in_a_table_about_people(tmp_path: Path) -> None:
    columns = {
        "titular": ["Juan Pérez", "María Gómez"] * 30,
        "fecha_nacimiento": ["1980-04-12", "1975-01-30"] * 30,
        "domicilio": ["Bv. Oroño 1234", "San Lorenzo 850 piso 2"] * 30,
        "lat": ["-32.951234", "-32.941234"] * 30,
    }
    found = scan(tmp_path, columns, {"fecha_nacimiento": "date", "lat": "number"})
    assert {c: f.kind for c, f in found.items()} == {
        "titular": "person_name", "fecha_nacimiento": "birth_date", "domicilio": "address", "lat": "coordinates"}
    assert_no_raw(found, ["1980-04-12", "Oroño 1234", "-32.951234"])


# --- look-alikes that must not be flagged ------------------------------------------

def test_look_alikes_are_not_personal_data(tmp_path: Path) -> None:
    rng = random.Random(5)
    columns = {
        "partida": [f"{rng.randint(1, 5)}.{rng.randint(1, 12):02d}.{rng.randint(1, 12):02d}" for _ in range(ROWS)],
        "expediente": [f"Expte. Nº {rng.randint(1, 99):03d}.{rng.randint(0, 999):03d}" for _ in range(ROWS)],
        "codigo_postal": [rng.choice(["2000", "S2000ABC", "1425", "X5000JJK"]) for _ in range(ROWS)],
        "monto": [f"{10 ** rng.uniform(2, 9):.2f}" for _ in range(ROWS)],
        "credito_vigente": [str(rng.randint(1_000_000, 99_999_999)) for _ in range(ROWS)],
        "fecha": [f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}" for _ in range(ROWS)],
        "nombre_barrio": [rng.choice(["Echesortu", "Fisherton", "La Florida", "Alberdi"]) for _ in range(ROWS)],
        "calle": [rng.choice(["Juan Manuel de Rosas", "San Martín", "Bv. Oroño"]) for _ in range(ROWS)],
        "descripcion": ["Derivado al Hospital Juan B. Alberdi según Expte. Nº 038.253 por $ 12.345.678."] * ROWS,
        "lat": [f"{-32.95 + rng.uniform(-0.05, 0.05):.6f}" for _ in range(ROWS)],
        "hora": ["10:50:00"] * ROWS,
        "dato_5": [str(30_000_000 + i) for i in range(ROWS)],  # record numbers: distinct 8 digits, consecutive
        "resumen": ["El Sr. Intendente firmó el Decreto 1.234/2024 que amplía el horario del Centro Municipal."] * ROWS,
    }
    types = {"monto": "number", "credito_vigente": "integer", "fecha": "date", "lat": "number", "hora": "time",
             "dato_5": "integer"}
    assert scan(tmp_path, columns, types) == {}


def corpus_table(corpus: Path, relative: str, tmp_path: Path) -> list[Finding]:
    path = corpus / relative
    if not path.exists():
        pytest.skip(f"{relative} is absent from the corpus")
    table = describe_file(StagedFile(path=path, name=path.stem), tmp_path / "table.csv", SchemaOverrides())
    return scan_csv(table.path, table.name, table.schema)


@pytest.mark.parametrize("relative", [
    "csv/cordoba_presupuesto_2017_por_objeto_del_gasto.csv",
    "csv/uruguay_presupuesto_programas.csv",
    "csv/cna2018_eaps_por_partido_pba.csv",
    "csv/acumar_pozos_monitoreo.csv",
    "csv/santafe_covid_por_departamento_wide.csv",
    "xlsx/cordoba_calculo_de_recursos_2017.xlsx",
    "json/cordoba_recursos_totales_presupuesto_2017.json",
    "json/santafe_gestiones_compra_listing_AP.json",
    "geojson/caba_barrios_vulnerables.geojson",
])
def test_real_files_without_personal_data_are_not_flagged(corpus: Path, tmp_path: Path, relative: str) -> None:
    assert corpus_table(corpus, relative, tmp_path) == []


def test_real_hospital_layer_flags_phones_and_director_but_not_its_name_column(
        corpus: Path, tmp_path: Path) -> None:
    """Institutional phones look like phones (the steward allows them); hospital names are not people."""
    found = {f.column: f.kind for f in corpus_table(corpus, "geojson/caba_hospitales.geojson", tmp_path)}
    assert found["telefono"] == "phone" and found["director"] == "person_name"
    assert "nombre" not in found and "especialidad" not in found


def test_real_ckan_maintainer_emails_are_found_and_institutions_are_not_people(
        corpus: Path, tmp_path: Path) -> None:
    rows: dict[str, list[str]] = {"author": [], "author_email": [], "maintainer": []}
    for name in ("ba_package_show_buenos-aires-compras.json",
                 "datosgobar_package_show_jgm-sistema-contrataciones-electronicas.json"):
        path = corpus / "ckan" / name
        if not path.exists():
            pytest.skip(f"ckan/{name} is absent from the corpus")
        package = json.loads(path.read_text(encoding="utf-8"))
        for key in rows:
            rows[key].append(package.get(key) or "")
    found = scan(tmp_path, rows)
    assert {c: f.kind for c, f in found.items()} == {"author_email": "email"}
    assert found["author_email"].count == 2
    assert_no_raw(found, [e.split("@")[0] for e in rows["author_email"]])


# --- masking ----------------------------------------------------------------------

@pytest.mark.parametrize(("kind", "raw", "masked"), [
    ("email", "juan.perez@gmail.com", "j***@gmail.com"),
    ("cuit_cuil", "20-12345678-6", "20-****-6"),
    ("dni", "23.456.789", "**.***.*89"),
    ("phone", "341-555-1234", "***-***-**34"),
    ("person_name", "Juan Pérez", "J*** P***"),
    ("ip", "190.12.34.56", "190.*.*.*"),
])
def test_masks_keep_no_more_than_a_hint(kind: str, raw: str, masked: str) -> None:
    assert mask_value(kind, raw) == masked


def test_an_unreadable_table_is_held_back_without_quoting_it(tmp_path: Path) -> None:
    from publisher.errors import PrivacyBlocked

    path = tmp_path / "broken.csv"
    path.write_bytes(b"email,nota\njuan.perez@gmail.com,\xff\xfe roto\n")
    with pytest.raises(PrivacyBlocked) as caught:
        scan_csv(path, "broken")
    assert "could not be read to screen it" in caught.value.one_line()
    assert "juan" not in caught.value.one_line()
    assert caught.value.__cause__ is None and caught.value.__suppress_context__

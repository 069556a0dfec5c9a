"""publisher.ocds: reading, validation, checks, compiling and flattening.

The OCDS schemas come from PUBLISHER_OCDS_SCHEMA_DIR or ../shared/schemas/ocds-1.1.5/
(tests skip when neither exists); the real packages from ../shared/corpus/.
"""

from __future__ import annotations

import copy
import csv
import json
import os
import socket
from pathlib import Path
from typing import Any

import pytest

from publisher import ocds
from publisher.errors import OcdsError
from publisher.ocds import reading
from publisher.ocds.persons import cuit_is_person, name_is_person, natural_person_basis
from publisher.ocds.validators import SchemaValidator

SHARED = Path(__file__).resolve().parents[2] / "shared"
MUTATIONS = int(os.environ.get("OCDS_TEST_MUTATIONS", "400"))


@pytest.fixture
def schema_dir() -> Path:
    found = os.environ.get(ocds.SCHEMA_DIR_ENV)
    path = Path(found) if found else SHARED / "schemas" / "ocds-1.1.5"
    if not (path / "release-schema.json").is_file():
        pytest.skip("the OCDS 1.1.5 schemas are absent (set PUBLISHER_OCDS_SCHEMA_DIR)")
    return path


@pytest.fixture
def settings(schema_dir: Path) -> ocds.SchemaSettings:
    return ocds.SchemaSettings(schema_dir=schema_dir, fetch_extensions=False)


def corpus_file(relative: str) -> Path:
    path = SHARED / "corpus" / relative
    if not path.is_file():
        pytest.skip(f"../shared/corpus/{relative} is absent")
    return path


def make_release(ocid: str = "ocds-abc123-0001", release_id: str = "r1", date: str = "2024-03-01T10:00:00-03:00",
                 **fields: Any) -> dict[str, Any]:
    release: dict[str, Any] = {"ocid": ocid, "id": release_id, "date": date, "tag": ["tender"],
                               "initiationType": "tender"}
    release.update(fields)
    return release


def release_package(releases: list[dict[str, Any]], **metadata: Any) -> dict[str, Any]:
    package: dict[str, Any] = {
        "uri": "https://compras.example.org/packages/1.json", "version": "1.1",
        "publishedDate": "2024-06-01T00:00:00Z", "publisher": {"name": "Municipalidad de Ejemplo"},
        "license": "https://creativecommons.org/licenses/by/4.0/",
    }
    package.update(metadata)
    package["releases"] = releases
    return package


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def check(path: Path, schema_dir: Path) -> ocds.OcdsReport:
    return ocds.check_path(path, schema_dir=schema_dir, environ={}, fetch_extensions=False)


def codes(report: ocds.OcdsReport, severity: str) -> dict[str, int]:
    return report.summary[severity]


def run(paths: list[Path], out_dir: Path, settings: ocds.SchemaSettings) -> ocds.OcdsResult:
    return ocds.process([ocds.InputFile(p, p.name) for p in paths], out_dir, settings)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def table(result: ocds.OcdsResult, name: str) -> list[dict[str, str]]:
    return read_csv(next(t.path for t in result.tables if t.name == name))


def frictionless_report(result: ocds.OcdsResult) -> Any:
    import frictionless

    descriptor = {
        "name": "ocds-test",
        "resources": [
            {"name": t.name, "path": t.path.name, "profile": "tabular-data-resource", "format": "csv",
             "encoding": "utf-8", "schema": t.schema}
            for t in result.tables
        ],
    }
    package_path = result.out_dir / "datapackage.json"
    write_json(package_path, descriptor)
    return frictionless.Package(str(package_path)).validate()


# --- the real packages ----------------------------------------------------------------

def test_cdmx_release_package_findings(schema_dir: Path) -> None:
    report = check(corpus_file("ocds/cdmx_sefin_release_package.json"), schema_dir)

    assert report.valid
    assert codes(report, "error") == {}
    assert codes(report, "warning") == {"license_missing": 1, "ocid_prefix_case": 2, "version_missing": 1}
    extra = {f.message.split()[2] for f in report.findings if f.code == "additional_field"}
    assert {"planning.budget.amountyear", "awards.valueyear", "tender.submissionmethoddetails"} <= extra
    assert report.metadata["ocid_prefixes"] == {"OCDS-87SD3T": 2}
    assert report.metadata["versions"] == ["1.0"]
    assert report.counts == {"releases": 2, "records": 0, "contracting_processes": 1}


def test_cdmx_release_package_compiles_and_flattens(settings: ocds.SchemaSettings, tmp_path: Path) -> None:
    source = corpus_file("ocds/cdmx_sefin_release_package.json")
    result = run([source], tmp_path / "out", settings)

    raw = json.loads(source.read_text(encoding="utf-8"))
    latest = max(raw["releases"], key=lambda r: r["date"])
    releases = table(result, "releases")
    assert [r["ocid"] for r in releases] == ["OCDS-87SD3T-AD-SF-DRM-065-2015"]
    assert releases[0]["date"] == latest["date"]
    assert float(releases[0]["tender_value_amount"]) == latest["tender"]["value"]["amount"]
    record_package = json.loads(result.record_package.read_text(encoding="utf-8"))  # type: ignore[union-attr]
    (record,) = record_package["records"]
    assert [r["url"].rsplit("#", 1)[1] for r in record["releases"]] == [r["id"] for r in raw["releases"]]
    assert record["compiledRelease"]["tag"] == ["compiled"]
    # 1.0 organisations became 1.1 parties (ocdskit), with their roles
    roles = {p["roles"] for p in table(result, "parties")}
    assert {"buyer;procuringEntity", "supplier"} <= roles | {r.replace("tenderer;", "") for r in roles}
    assert frictionless_report(result).valid


def test_paraguay_record_package(settings: ocds.SchemaSettings, schema_dir: Path, tmp_path: Path) -> None:
    source = corpus_file("ocds/paraguay_dncp_record_package_274231.json")
    report = check(source, schema_dir)

    assert report.valid
    assert codes(report, "warning") == {"releases_not_in_date_order": 1, "version_missing": 1}
    order = next(f for f in report.findings if f.code == "releases_not_in_date_order")
    assert order.path == "$.records[0].releases[3].date"  # the contract (18 Oct) after the award (27 Oct)
    assert report.counts["records"] == 1

    result = run([source], tmp_path / "out", settings)
    raw = json.loads(source.read_text(encoding="utf-8"))["records"][0]["compiledRelease"]
    items = table(result, "tender_items")
    assert [i["item_id"] for i in items] == [i["id"] for i in raw["tender"]["items"]]
    suppliers = table(result, "award_suppliers")
    parties = {p["party_id"]: p for p in table(result, "parties")}
    supplier = parties[suppliers[0]["supplier_id"]]
    assert supplier["identifier_id"] == raw["awards"][0]["suppliers"][0]["identifier"]["id"]
    assert table(result, "transactions") == []
    assert frictionless_report(result).valid
    extras = ocds.package_metadata(result.report)
    assert extras["ocds_license"] == "https://creativecommons.org/licenses/by/4.0/"
    assert extras["ocds_publication_policy"] == "https://www.contrataciones.gov.py/datos/legal"
    assert extras["ocds_ocid_prefix"] == "ocds-03ad3f"
    assert extras["ocds_publisher"] == "DNCP - Paraguay"
    assert extras["ocds_declared_version"] == "1.0"


def test_iso_8859_1_package_is_decoded_not_garbled(settings: ocds.SchemaSettings, tmp_path: Path) -> None:
    source = corpus_file("invalid/cdmx_release_package_iso-8859-1.json")
    result = run([source], tmp_path / "out", settings)

    (finding,) = [f for f in result.report.findings if f.code == "encoding_not_utf8"]
    assert "byte 0xD3 at offset 592" in finding.message
    assert result.report.inputs[0].encoding == "cp1252"
    expected = json.loads(source.read_bytes().decode("latin-1"))["releases"][-1]
    releases = table(result, "releases")
    assert releases[0]["tender_title"] == expected["tender"]["title"]
    assert "Á" in releases[0]["tender_title"]
    published = result.release_package.read_text(encoding="utf-8")  # type: ignore[union-attr]
    assert "\ufffd" not in published and "AUTORIZACIÓN" in published
    assert frictionless_report(result).valid


# --- encodings and shapes ------------------------------------------------------------

def test_mixed_encodings_are_refused(schema_dir: Path, tmp_path: Path) -> None:
    text = json.dumps(release_package([make_release(tender={"id": "t", "title": "Señal"})]), ensure_ascii=False)
    data = text.encode("utf-8").replace(b"Municipalidad", "Municipalidad de Cañada".encode("latin-1"))
    path = tmp_path / "mixed.json"
    path.write_bytes(data)

    with pytest.raises(OcdsError, match=r"mixed encodings: .* \(the first at byte \d+\)"):
        check(path, schema_dir)


def test_utf16_with_bom_is_converted(schema_dir: Path, tmp_path: Path) -> None:
    text = json.dumps(release_package([make_release(tender={"id": "t", "title": "Señal"})]), ensure_ascii=False)
    path = tmp_path / "utf16.json"
    path.write_bytes(text.encode("utf-16"))

    report = check(path, schema_dir)
    assert report.valid and report.counts["releases"] == 1
    assert [f.code for f in report.findings if f.severity == "warning"] == ["encoding_not_utf8"]


def test_json_lines_concatenated_and_arrays_read_alike(schema_dir: Path, tmp_path: Path) -> None:
    packages = [release_package([make_release(f"ocds-abc123-{n}", "r1")]) for n in range(3)]
    lines = write_json(tmp_path / "a.jsonl", None)
    lines.write_text("\n".join(json.dumps(p) for p in packages) + "\n", encoding="utf-8")
    concatenated = tmp_path / "b.json"
    concatenated.write_text("".join(json.dumps(p, indent=2) for p in packages), encoding="utf-8")
    array = write_json(tmp_path / "c.json", packages)
    bare = tmp_path / "d.jsonl"
    bare.write_text("\n".join(json.dumps(p["releases"][0]) for p in packages), encoding="utf-8")

    for path in (lines, concatenated, array, bare):
        report = check(path, schema_dir)
        assert report.valid, (path.name, report.findings)
        assert report.counts["releases"] == 3 and report.counts["contracting_processes"] == 3, path.name


def test_large_file_is_streamed_with_trailing_metadata(schema_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    package = release_package([make_release(release_id=f"r{n}", date=f"2024-03-0{n + 1}T10:00:00Z")
                               for n in range(4)])
    package["version"] = package.pop("version")  # the version comes after the releases
    path = tmp_path / "big.json"
    path.write_text(json.dumps({k: package[k] for k in ["uri", "releases", "publisher", "publishedDate",
                                                        "license", "version"]}), encoding="utf-8")
    whole = check(path, schema_dir)
    monkeypatch.setattr(reading, "STREAM_THRESHOLD_BYTES", 100)
    streamed = check(path, schema_dir)

    assert streamed.as_dict() == whole.as_dict()
    assert streamed.valid and streamed.counts["releases"] == 4
    assert streamed.metadata["versions"] == ["1.1"]


def test_not_json_is_reported(schema_dir: Path, tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{"releases": [ {"ocid": "x",', encoding="utf-8")

    report = check(path, schema_dir)
    assert not report.valid
    assert [f.code for f in report.findings] == ["json_invalid"]


def test_version_1_0_package_is_upgraded(schema_dir: Path, tmp_path: Path) -> None:
    buyer = {"identifier": {"scheme": "AR-CUIT", "id": "30-50000000-7"}, "name": "Municipalidad"}
    path = write_json(tmp_path / "v10.json", release_package([make_release(buyer=buyer)], version="1.0"))

    report = check(path, schema_dir)
    assert report.valid
    assert codes(report, "info") == {"upgraded_from_1_0": 1}


# --- findings that must be precise --------------------------------------------------------

def test_missing_ocid(schema_dir: Path, tmp_path: Path) -> None:
    second = make_release(release_id="r2")
    del second["ocid"]
    path = write_json(tmp_path / "p.json", release_package([make_release(), second]))

    report = check(path, schema_dir)
    assert not report.valid
    assert codes(report, "error") == {"missing_ocid": 1}
    (finding,) = [f for f in report.findings if f.severity == "error"]
    assert finding.path == "$.releases[1].ocid"
    assert finding.message == "required field 'ocid' is missing"


def test_duplicate_release_id_within_an_ocid(schema_dir: Path, tmp_path: Path) -> None:
    releases = [make_release(release_id="r1"), make_release("ocds-abc123-0002", "r1"),
                make_release(release_id="r1", date="2024-04-01T10:00:00-03:00")]
    path = write_json(tmp_path / "p.json", release_package(releases))

    report = check(path, schema_dir)
    assert codes(report, "error") == {"duplicate_release_id": 1}
    (finding,) = [f for f in report.findings if f.severity == "error"]
    assert finding.path == "$.releases[2]"
    assert "'r1' is used 2 times within ocid ocds-abc123-0001; first at $.releases[0]" in finding.message


@pytest.mark.parametrize("bad_date", ["2024-13-45T00:00:00Z", "2024-05-01", "2024-05-01T10:00:00",
                                      "01/05/2024 10:00", "2024-02-30T10:00:00Z"])
def test_malformed_release_date(schema_dir: Path, tmp_path: Path, bad_date: str) -> None:
    path = write_json(tmp_path / "p.json", release_package([make_release(), make_release("ocds-abc123-0002",
                                                                                         date=bad_date)]))

    report = check(path, schema_dir)
    assert codes(report, "error") == {"invalid_date": 1}
    (finding,) = [f for f in report.findings if f.severity == "error"]
    assert finding.path == "$.releases[1].date"
    assert repr(bad_date) in finding.message


def test_dates_after_publication_and_in_the_future(schema_dir: Path, tmp_path: Path) -> None:
    releases = [make_release(date="2024-07-01T00:00:00Z"),
                make_release("ocds-abc123-0002", date="2999-01-01T00:00:00Z")]
    path = write_json(tmp_path / "p.json", release_package(releases))

    report = check(path, schema_dir)
    assert report.valid
    assert codes(report, "warning") == {"release_date_after_published": 2, "release_date_in_future": 1}


def test_ocid_prefixes_inconsistent_and_missing(schema_dir: Path, tmp_path: Path) -> None:
    releases = [make_release("ocds-abc123-1"), make_release("ocds-zzz999-2"), make_release("compra-3")]
    path = write_json(tmp_path / "p.json", release_package(releases))

    report = check(path, schema_dir)
    assert codes(report, "warning") == {"ocid_prefix_inconsistent": 1, "ocid_prefix_missing": 1}


def test_schema_errors_carry_json_paths(schema_dir: Path, tmp_path: Path) -> None:
    release = make_release(tender={"id": "t1", "status": "abierto", "items": [{"id": "1", "quantity": "diez"}]})
    path = write_json(tmp_path / "p.json", release_package([release]))

    report = check(path, schema_dir)
    errors = {f.path: f.code for f in report.findings if f.severity == "error"}
    assert errors == {"$.releases[0].tender.status": "schema.enum",
                      "$.releases[0].tender.items[0].quantity": "schema.type"}


def test_fast_and_detailed_validators_agree(schema_dir: Path) -> None:
    schema = json.loads((schema_dir / "release-schema.json").read_text(encoding="utf-8"))
    fast, detailed = SchemaValidator(schema), SchemaValidator(schema, fast=False)
    good = make_release(tender={"id": "t", "value": {"amount": 10, "currency": "ARS"}, "items": [{"id": "1"}]})
    broken = []
    for change in ({"date": "ayer"}, {"tag": ["licitacion"]}, {"tender": {"id": "t", "value": {"amount": "10"}}},
                   {"parties": [{"id": "1"}, {"id": "1"}]}, {"awards": [{"title": "sin id"}]},
                   {"tender": {"id": "t", "items": [{"id": "1", "quantity": True}]}}):
        broken.append({**copy.deepcopy(good), **change})
    for release in [good, *broken]:
        assert fast.findings(release, ()) == detailed.findings(release, ())
    assert fast.findings(good, ()) == []
    assert all(fast.findings(release, ()) for release in broken)


# --- compiling and flattening -----------------------------------------------------------------

def test_amendments_compile_to_the_latest_values(settings: ocds.SchemaSettings, tmp_path: Path) -> None:
    ocid = "ocds-abc123-0100"
    tender = {"id": "t1", "status": "active", "value": {"amount": 100.0, "currency": "ARS"},
              "items": [{"id": "1", "description": "Resmas", "quantity": 10}, {"id": "2", "quantity": 5}]}
    amended = copy.deepcopy(tender)
    amended["value"]["amount"] = 150.0
    amended["items"] = [{"id": "1", "quantity": 12}]
    amended["amendments"] = [{"id": "a1", "date": "2024-02-01T00:00:00Z", "rationale": "más resmas"}]
    award = {"id": "aw1", "status": "active", "value": {"amount": 140.0, "currency": "ARS"},
             "suppliers": [{"id": "AR-CUIT-30-71000000-1", "name": "Papelera SA"}]}
    releases = [  # out of date order on purpose: compiling sorts by date
        make_release(ocid, "r3", "2024-03-01T00:00:00Z", tag=["award"], awards=[award],
                     tender={"id": "t1", "status": "complete"}),
        make_release(ocid, "r1", "2024-01-01T00:00:00Z", tender=tender),
        make_release(ocid, "r2", "2024-02-01T00:00:00Z", tag=["tenderAmendment"], tender=amended),
    ]
    path = write_json(tmp_path / "p.json", release_package(releases))
    result = run([path], tmp_path / "out", settings)

    assert result.report.valid, result.report.findings
    (row,) = table(result, "releases")
    assert (row["tender_status"], float(row["tender_value_amount"]), row["date"]) == (
        "complete", 150.0, "2024-03-01T00:00:00+00:00")
    items = {i["item_id"]: i for i in table(result, "tender_items")}
    assert (items["1"]["quantity"], items["1"]["description"], items["2"]["quantity"]) == ("12", "Resmas", "5")
    assert [(a["award_id"], float(a["value_amount"])) for a in table(result, "awards")] == [("aw1", 140.0)]
    record = json.loads(result.record_package.read_text(encoding="utf-8"))["records"][0]  # type: ignore[union-attr]
    assert [r["url"].rsplit("#", 1)[1] for r in record["releases"]] == ["r1", "r2", "r3"]
    assert frictionless_report(result).valid


def test_tables_have_foreign_keys_to_releases(settings: ocds.SchemaSettings, tmp_path: Path) -> None:
    transactions = [{"id": "p1", "date": "2024-05-01T00:00:00Z", "value": {"amount": 5, "currency": "ARS"},
                     "payee": {"id": "s1", "name": "Papelera SA"}}]
    release = make_release(
        parties=[{"id": "s1", "name": "Papelera SA", "roles": ["supplier"]}],
        awards=[{"id": "a1", "suppliers": [{"id": "s1", "name": "Papelera SA"}]}],
        contracts=[{"id": "c1", "awardID": "a1", "implementation": {"transactions": transactions}}],
    )
    path = write_json(tmp_path / "p.json", release_package([release]))
    result = run([path], tmp_path / "out", settings)

    schemas = {t.name: t.schema for t in result.tables}
    assert schemas["releases"]["primaryKey"] == ["ocid"]
    for name, schema in schemas.items():
        if name != "releases":
            assert {"fields": ["ocid"], "reference": {"resource": "releases", "fields": ["ocid"]}} in \
                schema["foreignKeys"], name
    assert [t["transaction_id"] for t in table(result, "transactions")] == ["p1"]
    assert frictionless_report(result).valid

    # the foreign keys are real: a supplier row pointing at an unknown award breaks the package
    suppliers = next(t.path for t in result.tables if t.name == "award_suppliers")
    suppliers.write_text(suppliers.read_text(encoding="utf-8").replace(",a1,", ",a9,"), encoding="utf-8")
    broken = frictionless_report(result)
    assert not broken.valid
    errors = {(task.name, error.type) for task in broken.tasks for error in task.errors}
    assert errors == {("award_suppliers", "foreign-key")}


def test_natural_persons_are_flagged(settings: ocds.SchemaSettings, tmp_path: Path) -> None:
    parties = [
        {"id": "p1", "name": "GARCIA, MARIA LAURA", "roles": ["supplier"],
         "identifier": {"scheme": "AR-CUIT", "id": "27-12345678-0"}},
        {"id": "p2", "name": "Papelera del Litoral SA", "roles": ["supplier"],
         "identifier": {"scheme": "AR-CUIT", "id": "30-71000000-1"}},
        {"id": "p3", "name": "Juan Pérez", "roles": ["tenderer"]},
        {"id": "p4", "name": "Municipalidad de Rosario", "roles": ["buyer"]},
    ]
    path = write_json(tmp_path / "p.json", release_package([make_release(parties=parties)]))
    result = run([path], tmp_path / "out", settings)

    flags = {p["party_id"]: (p["natural_person"], p["natural_person_basis"], p["identifier_id"])
             for p in table(result, "parties")}
    assert flags == {
        "p1": ("true", natural_person_basis("27-12345678-0", None), "27-12345678-0"),
        "p2": ("false", "", "30-71000000-1"),
        "p3": ("true", "name", ""),
        "p4": ("false", "", ""),
    }


def test_person_rules() -> None:
    assert cuit_is_person("20-12345678-6") and cuit_is_person("20123456786")
    assert not cuit_is_person("20-12345678-5")  # wrong check digit
    assert not cuit_is_person("30-50000000-7")  # a company prefix
    assert name_is_person("PEREZ, JUAN CARLOS") and name_is_person("María José Gómez")
    assert not name_is_person("BENTLEY SYSTEMS DE MEXICO SA de CV")
    assert not name_is_person("Municipalidad de Rosario") and not name_is_person("Juan")
    assert natural_person_basis("GOMJ800101AB1", None) == "rfc_person"
    assert natural_person_basis("BSM971107ME6", "BENTLEY SYSTEMS") is None


# --- schemas and extensions -------------------------------------------------------------------

def test_no_schema_anywhere_is_a_clear_error(tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", release_package([make_release()]))
    with pytest.raises(OcdsError, match="no OCDS schemas found") as caught:
        ocds.check_path(path, environ={}, schema_dir=None, cache_dir=None)
    assert "PUBLISHER_OCDS_SCHEMA_DIR" in (caught.value.hint or "")


def test_schema_dir_from_the_environment(schema_dir: Path, tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", release_package([make_release()]))
    report = ocds.check_path(path, environ={ocds.SCHEMA_DIR_ENV: str(schema_dir)}, fetch_extensions=False)
    assert report.valid and report.schema == {"version": "1.1.5", "origin": str(schema_dir)}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_extension_warns_and_uses_the_core_schema(schema_dir: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/ocds_lots_extension/extension.json"
    release = make_release(tender={"id": "t", "lots": [{"id": "1"}]}, awards=[{"id": "a", "value": "x"}])
    path = write_json(tmp_path / "p.json", release_package([release], extensions=[url]))

    report = ocds.check_path(path, schema_dir=schema_dir, environ={}, fetch_extensions=True)
    (warning,) = [f for f in report.findings if f.code == "extension_unavailable"]
    assert url in warning.message and "connection failed" in warning.message
    assert "validated against the core schema only" in warning.message
    assert codes(report, "error") == {"schema.type": 1}  # awards[0].value, by the core schema
    assert any(f.code == "additional_field" and "tender.lots" in f.message for f in report.findings)


def test_extension_patches_the_schema(schema_dir: Path, tmp_path: Path, httpserver: Any) -> None:
    httpserver.expect_request("/ext/extension.json").respond_with_json(
        {"name": {"en": "Budget code"}, "schemas": ["release-schema.json"]})
    httpserver.expect_request("/ext/release-schema.json").respond_with_json(
        {"definitions": {"Tender": {"properties": {"budgetCode": {"type": "integer"}}}}})
    url = httpserver.url_for("/ext/extension.json")
    path = write_json(tmp_path / "p.json", release_package(
        [make_release(tender={"id": "t", "budgetCode": "abc"})], extensions=[url]))

    report = ocds.check_path(path, schema_dir=schema_dir, environ={}, cache_dir=tmp_path / "cache")
    assert codes(report, "error") == {"schema.type": 1}
    assert report.findings[0].path == "$.releases[0].tender.budgetCode"
    assert report.metadata["extensions"] == [url]
    # cached: a second check needs no server
    httpserver.clear()
    again = ocds.check_path(path, schema_dir=schema_dir, environ={}, cache_dir=tmp_path / "cache")
    assert again.summary == report.summary


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*path, index))
    return found


def _mutate(release: dict[str, Any], rng: Any) -> dict[str, Any]:
    mutated = copy.deepcopy(release)
    path = rng.choice(_paths(mutated))
    parent = mutated
    for part in path[:-1]:
        parent = parent[part]
    last = path[-1]
    action = rng.randrange(5)
    replacements = [None, True, 1, 1.5, "", "x", "2024-01-01", [], [1, 1], {}, {"id": 1}, "closed"]
    if action == 0 and isinstance(parent, dict):
        del parent[last]
    elif action == 1 and isinstance(parent, list):
        parent.append(copy.deepcopy(parent[last]))  # a duplicate item
    elif action == 2 and isinstance(parent, dict):
        parent[f"{last}_es"] = rng.choice(replacements)  # a language variant (patternProperties) or an extra
    else:
        parent[last] = rng.choice(replacements)
    return mutated


def test_fast_checker_agrees_with_jsonschema_on_mutated_releases(schema_dir: Path) -> None:
    import random

    from publisher.ocds.fastcheck import compile_checker

    schema = json.loads((schema_dir / "release-schema.json").read_text(encoding="utf-8"))
    schema.pop("id")
    checker, detailed = compile_checker(schema), SchemaValidator(schema, fast=False)
    assert checker is not None
    base = make_release(
        parties=[{"id": "p1", "name": "Papelera SA", "roles": ["supplier"], "identifier": {"id": "30-1", "scheme": "X"},
                  "address": {"countryName": "Argentina"}}],
        tender={"id": "t1", "title": "Resmas", "status": "active", "value": {"amount": 10, "currency": "ARS"},
                "items": [{"id": "1", "quantity": 2, "unit": {"name": "u"}}], "submissionMethod": ["written"],
                "tenderPeriod": {"startDate": "2024-01-01T00:00:00Z"}, "documents": [{"id": "d", "url": "http://x"}]},
        awards=[{"id": "a1", "suppliers": [{"id": "p1"}], "date": "2024-02-01T00:00:00Z"}],
        contracts=[{"id": "c1", "awardID": "a1",
                    "implementation": {"transactions": [{"id": "x", "value": {"amount": 1}}]}}],
    )
    rng = random.Random(20241129)
    outcomes = set()
    for _ in range(MUTATIONS):
        release = _mutate(base, rng)
        expected = not detailed.findings(release, ())
        assert checker(release) == expected, json.dumps(release)
        outcomes.add(expected)
    assert outcomes == {True, False}  # both kinds were exercised


def test_duplicate_ids_in_an_array_are_reported_when_compiling(settings: ocds.SchemaSettings,
                                                                tmp_path: Path) -> None:
    release = make_release(awards=[{"id": "a1", "title": "uno"}, {"id": "a1", "title": "dos"}])
    path = write_json(tmp_path / "p.json", release_package([release]))
    result = run([path], tmp_path / "out", settings)

    assert result.report.summary["error"] == {}  # the two objects differ, so uniqueItems holds
    assert result.report.summary["warning"] == {"duplicate_id_in_array": 1}
    assert [a["title"] for a in table(result, "awards")] == ["dos"]


def test_worker_processes_give_the_same_outputs(schema_dir: Path, tmp_path: Path) -> None:
    releases = [make_release(f"ocds-abc123-{n % 7}", f"r{n}", f"2024-0{1 + n % 9}-01T00:00:00Z",
                             tender={"id": "t", "value": {"amount": n, "currency": "ARS"}, "extra": n})
                for n in range(40)]
    path = write_json(tmp_path / "p.json", release_package(releases))
    settings = ocds.SchemaSettings(schema_dir=schema_dir, fetch_extensions=False)
    outputs = []
    for workers in (1, 2):
        out = tmp_path / f"out{workers}"
        result = ocds.process([ocds.InputFile(path, "p.json")], out, settings, ocds.ProcessOptions(workers=workers))
        files = {t.name: t.path.read_bytes() for t in result.tables}
        files["records"] = result.record_package.read_bytes()  # type: ignore[union-attr]
        outputs.append((files, result.report.as_dict()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0]["releases"].count(b"\n") == 1 + 7


def test_schemas_are_downloaded_once_and_cached(schema_dir: Path, tmp_path: Path, httpserver: Any) -> None:
    from publisher.ocds.schemas import CORE_FILES, load_core_schemas

    for name in CORE_FILES:
        httpserver.expect_oneshot_request(f"/schema/1__1__5/{name}").respond_with_data(
            (schema_dir / name).read_bytes(), content_type="application/json")
    base_url = httpserver.url_for("/schema/").rstrip("/") + "/{tag}/"
    settings = ocds.SchemaSettings(cache_dir=tmp_path / "cache", base_url=base_url)

    first = load_core_schemas(settings)
    assert first.version == "1.1.5" and first.origin == str(tmp_path / "cache" / "1__1__5")
    httpserver.check_assertions()
    again = load_core_schemas(settings)  # the one-shot handlers are used up: this comes from the cache
    assert again.release == first.release
    assert sorted(p.name for p in (tmp_path / "cache" / "1__1__5").iterdir()) == sorted(CORE_FILES)


def test_a_failed_download_names_the_way_out(tmp_path: Path) -> None:
    from publisher.ocds.schemas import load_core_schemas

    settings = ocds.SchemaSettings(cache_dir=tmp_path / "cache", timeout=1.0,
                                   base_url=f"http://127.0.0.1:{_closed_port()}/schema/{{tag}}/")
    with pytest.raises(OcdsError, match=r"cannot download the OCDS 1\.1\.5 schemas") as caught:
        load_core_schemas(settings)
    assert "PUBLISHER_OCDS_SCHEMA_DIR" in (caught.value.hint or "")


def test_streamed_package_with_an_array_after_the_releases(schema_dir: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    package = release_package([make_release(release_id=f"r{n}") for n in range(3)])
    ordered = {"uri": package["uri"], "releases": package["releases"],  # an array after the releases
               "extensions": [], "version": "1.0", "publisher": package["publisher"],
               "publishedDate": package["publishedDate"]}
    path = write_json(tmp_path / "big.json", ordered)
    whole = check(path, schema_dir)
    monkeypatch.setattr(reading, "STREAM_THRESHOLD_BYTES", 100)
    streamed = check(path, schema_dir)

    assert streamed.as_dict() == whole.as_dict()
    assert streamed.metadata["versions"] == ["1.0"] and streamed.counts["releases"] == 3


def test_large_files_that_are_not_one_package(schema_dir: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    text = json.dumps(release_package([make_release(release_id=f"r{n}") for n in range(3)]), indent=1)
    cut = tmp_path / "cut.json"
    cut.write_text(text[: text.index('"r2"')], encoding="utf-8")
    concatenated = tmp_path / "two.json"
    concatenated.write_text(text + text.replace("ocds-abc123-0001", "ocds-abc123-0002"), encoding="utf-8")
    monkeypatch.setattr(reading, "STREAM_THRESHOLD_BYTES", 100)

    report = check(cut, schema_dir)
    assert report.summary["error"] == {"json_invalid": 1}
    report = check(concatenated, schema_dir)  # a large file of several packages must be JSON Lines
    assert report.summary["error"] == {"json_invalid": 1}
    (finding,) = [f for f in report.findings if f.code == "json_invalid"]
    assert "must be JSON Lines" in finding.message
    assert report.counts["releases"] == 3  # the first package was read

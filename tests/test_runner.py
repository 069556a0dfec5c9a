"""The pipeline end to end on local files: outcomes, idempotence, bad input that loses nothing."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.outcomes import Outcome
from publisher.runner import RunDeps, run

GOOD_CSV = "fecha;distrito;cantidad;monto\r\n01/02/2025;Centro;12;1.234,50\r\n02/02/2025;Norte;7;99,90\r\n"


def make_config(tmp_path: Path, datasets: str, defaults: str = "") -> Path:
    path = tmp_path / "harvest_config.toml"
    path.write_text(f"[defaults]\n{defaults}\n{datasets}", encoding="utf-8")
    return path


def dataset(name: str, filename: str, extra: str = "") -> str:
    return (f'[[datasets]]\nname = "{name}"\ntitle = "{name.title()}"\n'
            f'source = {{ kind = "file", path = "{filename}" }}\n{extra}\n')


def run_all(config_path: Path, *names: str, dry_run: bool = False):  # type: ignore[no-untyped-def]
    return run(load_config(config_path), names, dry_run=dry_run, deps=RunDeps())


def test_first_run_writes_the_package_and_second_run_is_unchanged(tmp_path: Path) -> None:
    (tmp_path / "reclamos.csv").write_bytes(GOOD_CSV.encode("latin-1"))
    config_path = make_config(tmp_path, dataset("reclamos", "reclamos.csv"))
    report = run_all(config_path)
    (result,) = report.results
    assert result.outcome is Outcome.WRITTEN, result.message
    assert report.exit_code == 0
    package_dir = tmp_path / "datapackages" / "reclamos"
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    fields = {f["name"]: f["type"] for f in descriptor["resources"][0]["schema"]["fields"]}
    assert fields == {"fecha": "date", "distrito": "string", "cantidad": "integer", "monto": "number"}
    data = (package_dir / "data" / "reclamos.csv").read_text(encoding="utf-8")
    assert data.splitlines() == ["fecha,distrito,cantidad,monto", "2025-02-01,Centro,12,1234.50",
                                 "2025-02-02,Norte,7,99.90"]
    assert json.loads((package_dir / "validation.json").read_text(encoding="utf-8"))["valid"] is True
    assert result.rows == 2 and result.package_sha256

    again = run_all(config_path).results[0]
    assert again.outcome is Outcome.UNCHANGED
    assert again.package_sha256 == result.package_sha256


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "reclamos.csv").write_bytes(GOOD_CSV.encode("latin-1"))
    report = run_all(make_config(tmp_path, dataset("reclamos", "reclamos.csv")), dry_run=True)
    assert report.results[0].message.startswith("would write")
    assert not (tmp_path / "datapackages").exists()
    assert report.exit_code == 0


def corrupt_xlsx(path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook>")
    path.write_bytes(path.read_bytes()[:40])


BAD_INPUTS = {
    "empty": ("datos.csv", lambda p: p.write_bytes(b"")),
    "binary named csv": ("datos.csv", lambda p: p.write_bytes(bytes(range(256)) * 40)),
    "truncated xlsx": ("datos.xlsx", corrupt_xlsx),
    "json not records": ("datos.json", lambda p: p.write_text("[1, 2, 3]", encoding="utf-8")),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_one_dataset_in_one_line_and_keeps_the_previous_package(tmp_path: Path, case: str) -> None:
    filename, spoil = BAD_INPUTS[case]
    good = "id,nombre_barrio\n1,Centro\n" if not filename.endswith(".json") else '[{"id": 1, "b": "Centro"}]'
    source = tmp_path / filename
    if filename.endswith(".xlsx"):
        import xlsxwriter

        book = xlsxwriter.Workbook(str(source))
        sheet = book.add_worksheet()
        sheet.write_row(0, 0, ["id", "barrio"])
        sheet.write_row(1, 0, [1, "Centro"])
        book.close()
    else:
        source.write_text(good, encoding="utf-8")
    (tmp_path / "otro.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    config_path = make_config(tmp_path, dataset("datos", filename) + dataset("otro", "otro.csv"))
    assert run_all(config_path).exit_code == 0
    package_dir = tmp_path / "datapackages" / "datos"
    before = (package_dir / "datapackage.json").read_text(encoding="utf-8")

    spoil(source)
    report = run_all(config_path)
    failed, other = report.results
    assert failed.outcome is Outcome.FAILED
    assert failed.stage == "describe"
    assert failed.message.startswith("dataset 'datos' [describe]: ")
    assert "\n" not in failed.message
    assert other.outcome is Outcome.UNCHANGED, "one bad dataset never stops the others"
    assert report.exit_code == 1
    assert (package_dir / "datapackage.json").read_text(encoding="utf-8") == before


def test_header_only_file_is_a_valid_empty_table(tmp_path: Path) -> None:
    (tmp_path / "vacio.csv").write_text("id,barrio\n", encoding="utf-8")
    result = run_all(make_config(tmp_path, dataset("vacio", "vacio.csv"))).results[0]
    assert result.ok, result.message
    assert result.rows == 0


def test_invalid_data_is_blocked_and_kept_for_inspection(tmp_path: Path) -> None:
    (tmp_path / "reclamos.csv").write_bytes(GOOD_CSV.encode("latin-1"))
    rule = '[datasets.schema.fields.cantidad]\nconstraints = { maximum = 10 }\n'
    config_path = make_config(tmp_path, dataset("reclamos", "reclamos.csv", rule))
    result = run_all(config_path).results[0]
    assert result.outcome is Outcome.BLOCKED
    assert result.stage == "validate"
    assert "1 constraint-error" in result.message
    assert not (tmp_path / "datapackages" / "reclamos").exists()
    rejected = json.loads((tmp_path / "datapackages" / ".rejected" / "reclamos" / "validation.json").read_text())
    assert rejected["valid"] is False
    assert result.validation["by_type"] == {"constraint-error": 1}


def test_on_invalid_warn_publishes_anyway(tmp_path: Path) -> None:
    (tmp_path / "reclamos.csv").write_bytes(GOOD_CSV.encode("latin-1"))
    rule = 'on_invalid = "warn"\n[datasets.schema.fields.cantidad]\nconstraints = { maximum = 10 }\n'
    result = run_all(make_config(tmp_path, dataset("reclamos", "reclamos.csv", rule))).results[0]
    assert result.outcome is Outcome.WRITTEN
    assert result.validation["valid"] is False


def test_steward_overrides_reach_the_schema(tmp_path: Path) -> None:
    (tmp_path / "barrios.csv").write_text("codigo,barrio\n01,Centro\n02,Norte\n", encoding="utf-8")
    rules = ('[datasets.schema]\nprimary_key = ["codigo"]\n'
             '[datasets.schema.fields.barrio]\ntitle = "Barrio"\nconstraints = { required = true }\n')
    config_path = make_config(tmp_path, dataset("barrios", "barrios.csv", rules))
    result = run_all(config_path).results[0]
    assert result.ok, result.message
    descriptor = json.loads((tmp_path / "datapackages" / "barrios" / "datapackage.json").read_text())
    schema = descriptor["resources"][0]["schema"]
    assert schema["primaryKey"] == ["codigo"]
    fields = {f["name"]: f for f in schema["fields"]}
    assert fields["codigo"]["type"] == "string", "leading zeros stay text"
    assert fields["barrio"]["title"] == "Barrio"
    assert fields["barrio"]["constraints"] == {"required": True}


def test_duplicate_primary_key_blocks(tmp_path: Path) -> None:
    (tmp_path / "barrios.csv").write_text("codigo,barrio\n01,Centro\n01,Norte\n", encoding="utf-8")
    rules = '[datasets.schema]\nprimary_key = ["codigo"]\n'
    result = run_all(make_config(tmp_path, dataset("barrios", "barrios.csv", rules))).results[0]
    assert result.outcome is Outcome.BLOCKED
    assert "primary-key" in result.message


def test_repository_samples_run_end_to_end(tmp_path: Path) -> None:
    """The embedded default: the repository's own config over its sample files."""
    repo = Path(__file__).resolve().parents[1]
    config = load_config(repo / "harvest_config.toml")
    config = config.model_copy(update={"output_dir": str(tmp_path / "out")})
    report = run(config, deps=RunDeps())
    assert [r.outcome for r in report.results] == [Outcome.WRITTEN] * len(config.datasets), [
        r.message for r in report.results
    ]
    assert report.exit_code == 0


def test_http_source_not_modified_is_unchanged_until_the_config_changes(tmp_path: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    from werkzeug import Request, Response

    body = "id,barrio\n1,Centro\n2,Norte\n"
    requests_seen: list[str | None] = []

    def handler(request: Request) -> Response:
        requests_seen.append(request.headers.get("If-None-Match"))
        if request.headers.get("If-None-Match") == '"v1"':
            return Response(status=304)
        return Response(body, headers={"ETag": '"v1"', "Content-Type": "text/csv"})

    httpserver.expect_request("/barrios.csv").respond_with_handler(handler)
    entry = (f'[[datasets]]\nname = "barrios"\ntitle = "Barrios"\n'
             f'source = {{ kind = "http", url = "{httpserver.url_for("/barrios.csv")}" }}\n')
    config_path = make_config(tmp_path, entry)
    deps = RunDeps()  # one state store across the runs, as the SQLite one would be
    assert run(load_config(config_path), deps=deps).results[0].outcome is Outcome.WRITTEN
    second = run(load_config(config_path), deps=deps).results[0]
    assert second.outcome is Outcome.UNCHANGED
    assert second.message == "source not modified since the last run"
    assert requests_seen == [None, '"v1"']

    config_path.write_text(entry.replace('title = "Barrios"', 'title = "Barrios de la ciudad"'), encoding="utf-8")
    third = run(load_config(config_path), deps=deps).results[0]
    assert third.outcome is Outcome.WRITTEN, "a config change rebuilds the package from a full download"
    descriptor = json.loads((tmp_path / "datapackages" / "barrios" / "datapackage.json").read_text())
    assert descriptor["title"] == "Barrios de la ciudad"


def test_files_beside_the_tables_are_withheld_when_a_privacy_policy_changed_data(tmp_path: Path) -> None:
    from publisher.privacy import screen_tables

    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-60.65, -32.95]},
                 "properties": {"denunciante": "Juan Pérez", "email": f"vecino{i}@gmail.com", "barrio": "Centro"}}
                for i in range(8)]
    (tmp_path / "denuncias.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                                                encoding="utf-8")
    policies = ('[datasets.privacy.columns]\nemail = { policy = "drop" }\ndenunciante = { policy = "drop" }\n'
                'lon = { policy = "generalise", decimals = 2 }\nlat = { policy = "generalise", decimals = 2 }\n')
    config_path = make_config(tmp_path, dataset("denuncias", "denuncias.geojson", policies))
    result = run(load_config(config_path), deps=RunDeps(screen=screen_tables)).results[0]
    assert result.ok, result.message
    package_dir = tmp_path / "datapackages" / "denuncias"
    assert not list(package_dir.glob("data/*.geojson")), "the unscreened GeoJSON is not published"
    text = "".join(p.read_text(encoding="utf-8") for p in package_dir.rglob("*") if p.is_file())
    assert "vecino1@gmail.com" not in text and "Juan Pérez" not in text
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    assert any("withheld denuncias.geojson" in note for notes in descriptor["publisher"]["notes"].values()
               for note in notes)


def test_a_geojson_without_personal_data_is_published_beside_its_table(tmp_path: Path) -> None:
    from publisher.privacy import screen_tables

    features = [{"type": "Feature", "geometry": {"type": "Point", "coordinates": [-60.65, -32.95 - i / 100]},
                 "properties": {"hospital": f"Hospital {i}", "camas": 10 + i}} for i in range(6)]
    (tmp_path / "hospitales.geojson").write_text(json.dumps({"type": "FeatureCollection", "features": features}),
                                                 encoding="utf-8")
    config_path = make_config(tmp_path, dataset("hospitales", "hospitales.geojson"))
    result = run(load_config(config_path), deps=RunDeps(screen=screen_tables)).results[0]
    assert result.ok, result.message
    assert list((tmp_path / "datapackages" / "hospitales").glob("data/*.geojson"))


@pytest.mark.parametrize("engine", ["frictionless", "auto"])
def test_large_files_give_the_same_outcome_whichever_engine_validates(tmp_path: Path, engine: str) -> None:
    """auto picks the fast engine above 1 MB: the run's outcome and summary must not change."""
    rows = [f"{i};Barrio {i % 7};{i % 300}" for i in range(60_000)]
    rows[41_234] = "41234;Barrio 3;999"  # breaks the maximum below
    (tmp_path / "grande.csv").write_text("id;barrio;cantidad\n" + "\n".join(rows) + "\n", encoding="utf-8")
    assert (tmp_path / "grande.csv").stat().st_size > 1_000_000
    rule = ('[datasets.schema]\nprimary_key = ["id"]\n'
            '[datasets.schema.fields.cantidad]\nconstraints = { maximum = 299 }\n')
    config = load_config(make_config(tmp_path, dataset("grande", "grande.csv", rule)))
    result = run(config, deps=RunDeps(validation_engine=engine)).results[0]
    assert result.outcome is Outcome.BLOCKED
    assert result.validation["by_type"] == {"constraint-error": 1}
    assert result.validation["first_errors"][0]["row"] == 41_236
    assert result.validation["first_errors"][0]["field"] == "cantidad"


def test_an_unexpected_error_fails_only_its_dataset(tmp_path: Path) -> None:
    from publisher.outcomes import DatasetResult

    (tmp_path / "a.csv").write_text("id\n1\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("id\n2\n", encoding="utf-8")
    config = load_config(make_config(tmp_path, dataset("primero", "a.csv") + dataset("segundo", "b.csv")))

    def buggy_screen(config, dataset, tables, result: DatasetResult):  # type: ignore[no-untyped-def]
        if dataset.name == "primero":
            raise KeyError("a value from the data")
        return tables

    report = run(config, deps=RunDeps(screen=buggy_screen))
    first, second = report.results
    assert first.outcome is Outcome.FAILED and first.error_type == "KeyError"
    assert first.message.startswith("dataset 'primero' [screen]: internal error (KeyError)")
    assert "a value from the data" not in first.message
    assert second.outcome is Outcome.WRITTEN
    assert report.exit_code == 1


def test_a_zero_byte_download_fails_extract_and_keeps_the_previous_package(tmp_path: Path, httpserver) -> None:  # type: ignore[no-untyped-def]
    httpserver.expect_oneshot_request("/barrios.csv").respond_with_data("id,barrio\n1,Centro\n",
                                                                        content_type="text/csv")
    httpserver.expect_request("/barrios.csv").respond_with_data("", content_type="text/csv")
    entry = (f'[[datasets]]\nname = "barrios"\ntitle = "Barrios"\n'
             f'source = {{ kind = "http", url = "{httpserver.url_for("/barrios.csv")}", retries = 0 }}\n')
    config = load_config(make_config(tmp_path, entry))
    assert run(config).results[0].outcome is Outcome.WRITTEN
    result = run(config).results[0]
    assert result.outcome is Outcome.FAILED
    assert result.message.startswith("dataset 'barrios' [extract]: ")
    assert "empty body" in result.message
    data = (tmp_path / "datapackages" / "barrios" / "data").glob("*.csv")
    assert [p.read_text(encoding="utf-8") for p in data] == ["id,barrio\n1,Centro\n"]

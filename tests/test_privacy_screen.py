"""The screen in the pipeline: policies rewrite the data, unhandled findings block the dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.errors import ConfigError, PrivacyBlocked
from publisher.outcomes import DatasetResult, Outcome
from publisher.privacy import screen_tables
from publisher.runner import RunDeps, run
from publisher.sources import StagedFile
from publisher.tables import describe_file
from publisher.tables.model import DescribedTable

KEY = "a-test-hmac-key-of-32-characters"
OTHER_KEY = "another-hmac-key-of-32-characters"
HEADER = ["id", "email", "dni", "telefono", "fecha_nacimiento", "edad", "nombre_barrio", "lat", "observaciones"]
ROWS = [
    ["1", "juan.perez@gmail.com", "23.456.789", "341-555-1234", "1980-04-12", "37", "Echesortu", "-32.951234",
     "llamar a Juan Pérez al 341-555-1234 por el contenedor desbordado en la esquina"],
    ["2", "maria.gomez@hotmail.com", "12345678", "(0341) 455-6789", "1975-11-30", "52", "Fisherton", "-32.941234",
     "Bache de gran tamaño en la calzada frente a la escuela, peligroso para los ciclistas"],
]
RAW_VALUES = ["juan.perez", "maria.gomez", "23.456.789", "23456789", "12345678", "555-1234", "455-6789",
              "1980-04-12", "Juan Pérez"]

POLICIES = """
[datasets.privacy.columns]
email = { policy = "drop" }
dni = { policy = "hash" }
telefono = { policy = "mask" }
fecha_nacimiento = { policy = "generalise", to = "year" }
edad = { policy = "generalise", bands = 10 }
lat = { policy = "generalise", decimals = 2 }
observaciones = { policy = "mask" }
nombre_barrio = { policy = "allow", reason = "barrio names are not personal" }
"""


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def write_config(tmp_path: Path, privacy: str, *, name: str = "reclamos", filename: str = "reclamos.csv",
                 defaults: str = "") -> Path:
    if not (tmp_path / filename).exists():
        write_csv(tmp_path / filename, ["a"], [["1"]])  # the file source checks its path at load
    path = tmp_path / "harvest_config.toml"
    path.write_text(
        f"[defaults]\n{defaults}\n[[datasets]]\nname = \"{name}\"\ntitle = \"Reclamos\"\n"
        f"source = {{ kind = \"file\", path = \"{filename}\" }}\n{privacy}\n",
        encoding="utf-8",
    )
    return path


def described(tmp_path: Path, header: list[str], rows: list[list[str]], name: str = "reclamos") -> DescribedTable:
    source = write_csv(tmp_path / f"{name}-source.csv", header, rows)
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    from publisher.config import SchemaOverrides

    return describe_file(StagedFile(path=source, name=name), out / f"{name}.csv", SchemaOverrides(),
                         resource_name=name)


def read_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def screen(tmp_path: Path, privacy: str, environ: dict[str, str] | None = None,
           header: list[str] = HEADER, rows: list[list[str]] = ROWS,
           ) -> tuple[list[DescribedTable], DatasetResult]:
    config = load_config(write_config(tmp_path, privacy))
    dataset = config.dataset("reclamos")
    result = DatasetResult(dataset="reclamos")
    tables = screen_tables(config, dataset, [described(tmp_path, header, rows)], result,
                           environ={"PUBLISHER_HASH_KEY": KEY} if environ is None else environ)
    return tables, result


# --- blocking ---------------------------------------------------------------------

def test_unhandled_personal_data_blocks_with_a_one_line_message(tmp_path: Path) -> None:
    with pytest.raises(PrivacyBlocked) as caught:
        screen(tmp_path, "")
    error = caught.value
    line = error.one_line()
    assert "\n" not in line
    assert line.startswith("dataset 'reclamos' [screen]: personal data in ")
    for column_and_kind in ("reclamos.email (email)", "reclamos.dni (dni)", "reclamos.telefono (phone)",
                            "reclamos.fecha_nacimiento (birth_date)", "reclamos.observaciones (free_text)"):
        assert column_and_kind in line
    assert "[datasets.privacy.columns] in harvest_config.toml" in line
    assert not any(raw in line for raw in RAW_VALUES)


def test_blocked_result_carries_the_masked_findings(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ""))
    result = DatasetResult(dataset="reclamos")
    with pytest.raises(PrivacyBlocked):
        screen_tables(config, config.dataset("reclamos"), [described(tmp_path, HEADER, ROWS)], result)
    kinds = {f["column"]: (f["kind"], f["policy"]) for f in result.findings}
    assert kinds["email"] == ("email", "unhandled")
    assert "nombre_barrio" not in kinds
    text = json.dumps(result.findings, ensure_ascii=False)
    assert not any(raw in text for raw in RAW_VALUES)


def test_one_missing_policy_is_enough_to_block(tmp_path: Path) -> None:
    partial = POLICIES.replace('telefono = { policy = "mask" }\n', "")
    with pytest.raises(PrivacyBlocked, match=r"personal data in 1 column with no privacy policy: "
                                             r"reclamos\.telefono \(phone\);"):
        screen(tmp_path, partial)


# --- policies ---------------------------------------------------------------------

def test_mask_policy_on_free_text_masks_names_numbers_and_emails_only() -> None:
    from publisher.privacy.policies import redact_prose

    assert redact_prose("llamar a Juan Pérez al 341-555-1234, o a juan@x.com") == (
        "llamar a J*** P*** al ***-***-**34, o a j***@x.com")
    assert redact_prose("la Sra. Gómez dijo") == "la Sra. G*** dijo"
    assert redact_prose("Derivado al Hospital Juan B. Alberdi") == "Derivado al Hospital Juan B. Alberdi"


def test_every_policy_is_applied_to_the_data_and_the_schema(tmp_path: Path) -> None:
    (table,), result = screen(tmp_path, POLICIES)
    rows = read_rows(table.path)
    assert list(rows[0]) == ["id", "dni", "telefono", "fecha_nacimiento", "edad", "nombre_barrio", "lat",
                             "observaciones"]  # email dropped
    first = rows[0]
    assert len(first["dni"]) == 64 and first["dni"] != "23456789"
    assert first["telefono"] == "***-***-**34"
    assert first["fecha_nacimiento"] == "1980"
    assert first["edad"] == "30-39"
    assert first["lat"] == "-32.95"
    assert first["nombre_barrio"] == "Echesortu"
    assert "Juan" not in first["observaciones"] and "contenedor desbordado" in first["observaciones"]
    text = table.path.read_text(encoding="utf-8")
    assert not any(raw in text for raw in RAW_VALUES)
    fields = {f["name"]: f for f in table.schema["fields"]}
    assert "email" not in fields
    assert fields["dni"]["type"] == "string" and "HMAC" in fields["dni"]["description"]
    assert fields["fecha_nacimiento"]["type"] == "year"
    (tmp_path / "again").mkdir()
    assert table.sha256 != described(tmp_path / "again", HEADER, ROWS).sha256
    assert table.bytes == table.path.stat().st_size
    allowed = [f for f in result.findings if f["policy"] == "allow"]
    assert allowed == [{"resource": "reclamos", "column": "nombre_barrio", "kind": None, "confidence": 0.0,
                        "count": 0, "cells": 0, "samples": [], "evidence": [], "policy": "allow",
                        "reason": "barrio names are not personal"}]


def test_hash_links_one_person_across_datasets_with_one_key_only(tmp_path: Path) -> None:
    policy = '[datasets.privacy.columns]\ndni = { policy = "hash" }\n'
    header, rows = ["dni"], [["23.456.789"], ["23456789"], ["30111222"]]
    for folder in "abc":
        (tmp_path / folder).mkdir()
    (first,), _ = screen(tmp_path / "a", policy, header=header, rows=rows)
    (second,), _ = screen(tmp_path / "b", policy, header=header, rows=rows)
    (other,), _ = screen(tmp_path / "c", policy, {"PUBLISHER_HASH_KEY": OTHER_KEY}, header, rows)
    hashed = [r["dni"] for r in read_rows(first.path)]
    assert hashed == [r["dni"] for r in read_rows(second.path)]  # stable across datasets
    assert hashed[0] == hashed[1]  # 23.456.789 and 23456789 are one person
    assert hashed[0] != hashed[2]
    assert set(hashed).isdisjoint(r["dni"] for r in read_rows(other.path))  # another key, other pseudonyms


def test_hash_without_its_key_fails_naming_the_variable_only(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        screen(tmp_path, '[datasets.privacy.columns]\ndni = { policy = "hash" }\n', environ={},
               header=["dni"], rows=[["23456789"]])
    line = caught.value.one_line()
    assert "PUBLISHER_HASH_KEY" in line and "\n" not in line
    assert str(caught.value.stage) == "screen" and caught.value.dataset == "reclamos"


def test_small_cells_are_suppressed_with_a_note(tmp_path: Path) -> None:
    header = ["barrio", "tipo", "casos", "poblacion"]
    rows = [["Centro", "violencia", "3", "20000"], ["Norte", "violencia", "12", "18000"],
            ["Sur", "violencia", "0", "15000"], ["Oeste", "violencia", "5", "9000"], ["Este", "violencia", "4", "1"]]
    (table,), result = screen(tmp_path, '[datasets.privacy]\nsuppress_small_cells = { columns = ["casos"] }\n',
                              header=header, rows=rows)
    assert [r["casos"] for r in read_rows(table.path)] == ["", "12", "0", "5", ""]
    assert [r["poblacion"] for r in read_rows(table.path)] == ["20000", "18000", "15000", "9000", "1"]
    (note,) = [f for f in result.findings if f["policy"] == "suppress"]
    assert note == {"resource": "reclamos", "column": "casos", "kind": "small_cells", "count": 2, "policy": "suppress",
                    "k": 5, "note": "2 counts from 1 to 4 suppressed (left empty)"}
    field = next(f for f in table.schema["fields"] if f["name"] == "casos")
    assert "suppressed" in field["description"]


def test_small_cell_k_comes_from_the_dataset_or_the_defaults(tmp_path: Path) -> None:
    header, rows = ["casos"], [["3"], ["7"], ["12"]]
    config = load_config(write_config(tmp_path, '[datasets.privacy]\nsuppress_small_cells = { columns = ["casos"] }\n',
                                      defaults="[defaults.privacy]\nsmall_cell_k = 10\n"))
    result = DatasetResult(dataset="reclamos")
    (table,) = screen_tables(config, config.dataset("reclamos"), [described(tmp_path, header, rows)], result)
    assert [r["casos"] for r in read_rows(table.path)] == ["", "", "12"]


# --- configuration ----------------------------------------------------------------

@pytest.mark.parametrize(("privacy", "message"), [
    ('[datasets.privacy.columns]\nx = { policy = "allow" }\n', "allow needs a reason"),
    ('[datasets.privacy.columns]\nx = { policy = "generalise" }\n', "generalise needs exactly one of"),
    ('[datasets.privacy.columns]\nx = { policy = "drop", to = "year" }\n', "to applies only to policy"),
    ('[datasets.privacy.columns]\nx = { policy = "erase" }\n', "datasets[0].privacy.columns.x.policy"),
    ('[datasets.privacy.columns]\nx = { policy = "drop", why = "no" }\n', "unknown key"),
    ('[datasets.privacy]\nsupress_small_cells = { columns = ["casos"] }\n', "unknown key"),
])
def test_bad_privacy_config_is_an_error_at_load(tmp_path: Path, privacy: str, message: str) -> None:
    (tmp_path / "reclamos.csv").write_text("a\n1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]").replace(".", r"\.")):
        load_config(write_config(tmp_path, privacy))


# --- in the pipeline ----------------------------------------------------------------

def test_runner_blocks_then_publishes_once_policies_are_set(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_csv(tmp_path / "reclamos.csv", HEADER, ROWS)
    blocked = run(load_config(write_config(tmp_path, "")), deps=RunDeps(screen=screen_tables)).results[0]
    assert blocked.outcome is Outcome.BLOCKED and str(blocked.stage) == "screen"
    assert blocked.error_type == "PrivacyBlocked"
    assert not (tmp_path / "datapackages" / "reclamos").exists()
    assert not any(raw in json.dumps(blocked.to_dict(), ensure_ascii=False) for raw in RAW_VALUES)

    monkeypatch.setenv("PUBLISHER_HASH_KEY", KEY)
    written = run(load_config(write_config(tmp_path, POLICIES)), deps=RunDeps(screen=screen_tables)).results[0]
    assert written.outcome is Outcome.WRITTEN, written.message
    package_dir = tmp_path / "datapackages" / "reclamos"
    for path in package_dir.rglob("*"):
        if path.is_file():
            text = path.read_text(encoding="utf-8", errors="replace")
            leaked = [raw for raw in RAW_VALUES if raw in text]
            assert not leaked, f"{path.name} holds a raw personal value ({len(leaked)})"
    assert any(f["policy"] == "allow" and f["reason"] for f in written.findings)
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    recorded = {(p["column"], p["policy"]) for p in descriptor["publisher"]["privacy"]}
    assert ("email", "drop") in recorded and ("dni", "hash") in recorded
    allowed = [p for p in descriptor["publisher"]["privacy"] if p["policy"] == "allow"]
    assert [(p["column"], p["reason"]) for p in allowed] == [("nombre_barrio", "barrio names are not personal")]

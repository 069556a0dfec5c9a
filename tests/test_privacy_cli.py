"""`publisher screen`: exit codes, masked output, --json equals the library result."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from click.testing import CliRunner

from publisher.cli import cli
from publisher.config import load_config
from publisher.privacy import screen_dataset, screen_file

RAW = ["juan.perez@gmail.com", "juan.perez", "23456789", "341-555-1234", "555-1234"]


def invoke(*args: str):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def personal_csv(path: Path) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["id", "email", "dni", "telefono", "barrio"])
        for i in range(20):
            writer.writerow([i, "juan.perez@gmail.com", "23456789", "341-555-1234", "Centro"])
    return path


def clean_csv(path: Path) -> Path:
    path.write_text("partida;monto;fecha\n1.01.02;1.234,50;01/02/2025\n1.01.03;99,90;02/02/2025\n",
                    encoding="utf-8")
    return path


def test_a_file_with_personal_data_exits_1_and_shows_masked_samples_only(tmp_path: Path) -> None:
    result = invoke("screen", str(personal_csv(tmp_path / "reclamos.csv")))
    assert result.exit_code == 1
    assert "email: email, 20 cells" in result.output and "j***@gmail.com" in result.output
    assert "unhandled" in result.output
    assert not any(raw in result.output for raw in RAW)


def test_a_clean_file_exits_0(tmp_path: Path) -> None:
    result = invoke("screen", str(clean_csv(tmp_path / "presupuesto.csv")))
    assert result.exit_code == 0, result.output
    assert "no personal data found" in result.output


def test_json_output_equals_the_library_result(tmp_path: Path) -> None:
    path = personal_csv(tmp_path / "reclamos.csv")
    result = invoke("screen", str(path), "--json")
    assert result.exit_code == 1
    assert json.loads(result.output) == screen_file(path).to_dict()
    assert not any(raw in result.output for raw in RAW)


def test_a_configured_dataset_uses_its_policies(tmp_path: Path) -> None:
    personal_csv(tmp_path / "reclamos.csv")
    config_path = tmp_path / "harvest_config.toml"
    config_path.write_text(
        '[[datasets]]\nname = "reclamos"\ntitle = "Reclamos"\nsource = { kind = "file", path = "reclamos.csv" }\n'
        "[datasets.privacy.columns]\n"
        'email = { policy = "drop" }\ndni = { policy = "hash" }\n'
        'telefono = { policy = "allow", reason = "the city\'s own switchboard" }\n',
        encoding="utf-8",
    )
    result = invoke("--config", str(config_path), "screen", "reclamos", "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data == screen_dataset(load_config(config_path), load_config(config_path).dataset("reclamos")).to_dict()
    assert {f["column"]: f["policy"] for f in data["findings"]} == {
        "email": "drop", "dni": "hash", "telefono": "allow"}
    assert data["unhandled"] == 0 and data["blocked"] is False

    text = invoke("--config", str(config_path), "screen", "reclamos")
    assert text.exit_code == 0
    assert "allow (the city's own switchboard)" in text.output


def test_an_unknown_dataset_is_a_usage_error(tmp_path: Path) -> None:
    config_path = tmp_path / "harvest_config.toml"
    config_path.write_text("", encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(config_path), "screen", "nope"])
    assert result.exit_code == 2
    assert "no dataset named 'nope'" in result.output

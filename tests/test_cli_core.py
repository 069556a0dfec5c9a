"""The core commands through click: exit codes, one-line errors, --json equals the library result."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from publisher.cli import cli
from publisher.config_check import check_config
from publisher.sources import StagedFile
from publisher.tables.describe import source_descriptor

REPO = Path(__file__).resolve().parents[1]
LATIN1_CSV = "fecha;barrio;monto\r\n01/02/2025;Echesortu;1.234,50\r\n15/02/2025;Ludueña;99,90\r\n"


def invoke(*args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def all_commands(group: click.Group, prefix: str = "") -> list[str]:
    names = []
    for name, command in sorted(group.commands.items()):
        names.append(f"{prefix}{name}")
        if isinstance(command, click.Group):
            names.extend(all_commands(command, f"{prefix}{name} "))
    return names


@pytest.mark.parametrize("command", all_commands(cli))
def test_every_command_has_help_and_is_in_the_readme(command: str) -> None:
    result = invoke(*command.split(), "--help")
    assert result.exit_code == 0
    assert "Usage:" in result.output
    assert f"publisher {command}" in (REPO / "README.md").read_text(encoding="utf-8")


def test_config_check_valid_and_json_equals_library() -> None:
    config = str(REPO / "harvest_config.toml")
    result = invoke("config", "check", "--config", config)
    assert result.exit_code == 0
    assert "valid" in result.output
    as_json = invoke("config", "check", "--config", config, "--json")
    assert json.loads(as_json.output) == check_config(Path(config))


def test_config_check_invalid_exits_2_with_key_paths(tmp_path: Path) -> None:
    path = tmp_path / "harvest_config.toml"
    path.write_text('[[datasets]]\nname = "X"\ntitle = "x"\nsource = { kind = "file", path = "nada.csv" }\n')
    result = CliRunner().invoke(cli, ["config", "check", "--config", str(path)])
    assert result.exit_code == 2
    assert "harvest_config.toml: datasets[0].name: expected a CKAN name" in result.output
    assert "harvest_config.toml: datasets[0].source.path: " in result.output


def test_global_config_option_and_environment_variable(tmp_path: Path) -> None:
    config = str(REPO / "harvest_config.toml")
    by_option = invoke("--config", config, "list", "--json")
    by_env = invoke("list", "--json", env={"PUBLISHER_CONFIG": config})
    assert by_option.exit_code == by_env.exit_code == 0
    assert json.loads(by_option.output) == json.loads(by_env.output)
    assert json.loads(by_option.output)[0]["name"] == "reclamos-ciudadanos"


def test_describe_json_is_the_library_descriptor(tmp_path: Path) -> None:
    path = tmp_path / "montos.csv"
    path.write_bytes(LATIN1_CSV.encode("latin-1"))
    result = invoke("describe", str(path), "--json")
    assert result.exit_code == 0
    printed = json.loads(result.output)
    assert printed == json.loads(json.dumps(source_descriptor(StagedFile(path=path, name="montos",
                                                                         origin=str(path)))))
    assert printed["encoding"] in ("iso-8859-1", "latin-1", "cp1252", "windows-1252")
    fields = {f["name"]: f["type"] for f in printed["schema"]["fields"]}
    assert fields == {"fecha": "date", "barrio": "string", "monto": "number"}


def test_describe_human_output(tmp_path: Path) -> None:
    path = tmp_path / "montos.csv"
    path.write_bytes(LATIN1_CSV.encode("latin-1"))
    result = invoke("describe", str(path))
    assert result.exit_code == 0
    assert "monto" in result.output and "number" in result.output


def test_validate_valid_file_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "montos.csv"
    path.write_bytes(LATIN1_CSV.encode("latin-1"))
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "valid" in result.output


def test_validate_invalid_file_exits_1_and_json_is_the_report(tmp_path: Path) -> None:
    path = tmp_path / "roto.csv"
    path.write_text("id,name,,name\n1,english\n\n2,german,1,2,3\n", encoding="utf-8")
    result = invoke("validate", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.output)
    assert report["valid"] is False
    types = {e["type"] for e in report["tasks"][0]["errors"]}
    assert {"blank-label", "duplicate-label", "missing-cell", "blank-row", "extra-cell"} <= types


def test_validate_with_a_schema_file(tmp_path: Path) -> None:
    data = tmp_path / "ids.csv"
    data.write_text("id\n1\n2\nx\n", encoding="utf-8")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps({"fields": [{"name": "id", "type": "integer"}]}), encoding="utf-8")
    result = invoke("validate", str(data), "--schema", str(schema))
    assert result.exit_code == 1
    assert "type-error" in result.output


def test_run_prints_one_line_per_dataset_and_exit_code(tmp_path: Path) -> None:
    (tmp_path / "bueno.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    (tmp_path / "malo.csv").write_bytes(b"")
    config = tmp_path / "harvest_config.toml"
    config.write_text(
        '[[datasets]]\nname = "bueno"\ntitle = "Bueno"\nsource = { kind = "file", path = "bueno.csv" }\n'
        '[[datasets]]\nname = "malo"\ntitle = "Malo"\nsource = { kind = "file", path = "malo.csv" }\n',
        encoding="utf-8",
    )
    result = CliRunner().invoke(cli, ["--config", str(config), "run"])
    assert result.exit_code == 1
    lines = [line for line in result.output.splitlines() if line.startswith(("written", "failed"))]
    assert len(lines) == 2
    assert lines[0].startswith("written") and "bueno" in lines[0]
    assert lines[1].startswith("failed") and "dataset 'malo' [describe]:" in lines[1]
    only_good = CliRunner().invoke(cli, ["--config", str(config), "run", "bueno", "--json"])
    assert only_good.exit_code == 0
    assert json.loads(only_good.output)["results"][0]["outcome"] == "unchanged"


def test_run_unknown_dataset_name_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["--config", str(REPO / "harvest_config.toml"), "run", "no-existe"])
    assert result.exit_code == 2
    assert "no dataset named 'no-existe'" in result.output


def test_missing_config_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nada.toml"), "list"])
    assert result.exit_code == 2
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_log_lines_are_masked() -> None:
    import logging

    from publisher.cli import MaskSecrets

    record = logging.LogRecord("urllib3", logging.DEBUG, __file__, 1, '"GET /datos.csv?token=%s HTTP/1.1" 200',
                               ("s3cr3t",), None)
    assert MaskSecrets().filter(record) is True
    assert record.getMessage() == '"GET /datos.csv?token=*** HTTP/1.1" 200'

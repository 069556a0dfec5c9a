"""``publisher ocds check``: exit codes, and --json equal to the library's report."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from publisher import ocds
from publisher.cli import cli
from tests.test_ocds import corpus_file, make_release, release_package, schema_dir, write_json

__all__ = ["schema_dir"]  # the fixture, imported for pytest


def invoke(*args: str, schema_dir: Path | None = None) -> tuple[int, str]:
    env = {ocds.SCHEMA_DIR_ENV: str(schema_dir)} if schema_dir else {ocds.SCHEMA_DIR_ENV: ""}
    result = CliRunner().invoke(cli, ["ocds", "check", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.output


def test_valid_file_exits_0_and_json_equals_the_library(schema_dir: Path) -> None:
    path = corpus_file("ocds/paraguay_dncp_record_package_274231.json")

    code, output = invoke(str(path), "--json", "--no-extensions", schema_dir=schema_dir)

    assert code == 0
    expected = ocds.check_path(path, schema_dir=schema_dir, environ={}, fetch_extensions=False)
    assert json.loads(output) == json.loads(json.dumps(expected.as_dict()))


def test_invalid_file_exits_1(schema_dir: Path, tmp_path: Path) -> None:
    second = make_release(release_id="r2")
    del second["ocid"]
    path = write_json(tmp_path / "p.json", release_package([make_release(), second]))

    code, output = invoke(str(path), "--json", schema_dir=schema_dir)
    assert code == 1
    assert json.loads(output)["summary"]["error"] == {"missing_ocid": 1}

    code, output = invoke(str(path), "--schema-dir", str(schema_dir))
    assert code == 1
    assert "error missing_ocid at $.releases[1].ocid: required field 'ocid' is missing" in output
    assert "p.json: invalid OCDS 1.1.5" in output


def test_human_output_names_the_findings(schema_dir: Path) -> None:
    path = corpus_file("invalid/cdmx_release_package_iso-8859-1.json")

    code, output = invoke(str(path), schema_dir=schema_dir)
    assert code == 0
    assert "warning encoding_not_utf8" in output and "decoded as cp1252" in output
    assert "valid OCDS 1.1.5 (3 releases, 0 records, 1 contracting processes)" in output


def test_missing_schema_dir_is_a_usage_error(tmp_path: Path) -> None:
    path = write_json(tmp_path / "p.json", release_package([make_release()]))

    code, output = invoke(str(path), "--schema-dir", str(tmp_path / "nowhere"))
    assert code == 2
    assert "does not exist" in output

"""harvest_config.toml loading: typed models, precise errors, no leaked secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import EnvRef, load_config, normalise_frequency, resolve
from publisher.config_check import check_config
from publisher.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]

MINIMAL = """
[[datasets]]
name = "reclamos"
title = "Reclamos"
source = { kind = "file", path = "data.csv" }
"""


def write_config(tmp_path: Path, text: str) -> Path:
    (tmp_path / "data.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    path = tmp_path / "harvest_config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_repository_config_is_valid() -> None:
    config = load_config(REPO / "harvest_config.toml")
    assert len(config.datasets) >= 4
    assert config.portal is None
    assert config.defaults.timezone == "America/Argentina/Cordoba"
    first = config.datasets[0]
    assert config.frequency_of(first) == "R/P1D"


def test_minimal_config_gets_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL))
    dataset = config.dataset("reclamos")
    assert config.license_of(dataset) == "CC-BY-4.0"
    assert config.schedule_of(dataset) == "0 3 * * *"
    assert config.on_invalid_of(dataset) == "block"
    assert config.output_path == tmp_path / "datapackages"


def test_models_are_frozen(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, MINIMAL))
    with pytest.raises(ValueError):
        config.datasets[0].name = "otro"  # type: ignore[misc]


def test_unknown_key_is_an_error_with_its_path(tmp_path: Path) -> None:
    text = MINIMAL.replace('title = "Reclamos"', 'title = "Reclamos"\ntitel = "typo"')
    assert problems_of(write_config(tmp_path, text)) == [
        "harvest_config.toml: datasets[0].titel: unknown key (check its spelling)"
    ]


def test_missing_file_names_the_key_path(tmp_path: Path) -> None:
    text = MINIMAL.replace('path = "data.csv"', 'path = "samples/nada.csv"')
    problems = problems_of(write_config(tmp_path, text))
    assert len(problems) == 1
    assert problems[0].startswith("harvest_config.toml: datasets[0].source.path: ")
    assert "samples/nada.csv" in problems[0]


def test_unknown_source_kind_lists_the_available_ones(tmp_path: Path) -> None:
    text = MINIMAL.replace('kind = "file", path = "data.csv"', 'kind = "ftp", host = "x"')
    (problem,) = problems_of(write_config(tmp_path, text))
    assert problem.startswith("harvest_config.toml: datasets[0].source.kind: unknown source kind 'ftp'; available: ")
    assert "file" in problem and "http" in problem


@pytest.mark.parametrize("name", ["A", "x", "con espacio", "Mayusculas", "ñandú", "a" * 101])
def test_dataset_names_follow_ckan_rules(tmp_path: Path, name: str) -> None:
    (problem,) = problems_of(write_config(tmp_path, MINIMAL.replace('"reclamos"', f'"{name}"')))
    assert problem.startswith("harvest_config.toml: datasets[0].name: expected a CKAN name")


def test_duplicate_dataset_names(tmp_path: Path) -> None:
    problems = problems_of(write_config(tmp_path, MINIMAL + MINIMAL))
    assert any("duplicate dataset name 'reclamos'" in p for p in problems)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    text = "[defaults]\nlicense = \"WTFPL\"\nschedule = \"every night\"\ntimezone = \"Mars/Olympus\"\n" + MINIMAL
    problems = problems_of(write_config(tmp_path, text))
    keys = sorted(p.split(": ")[1] for p in problems)
    assert keys == ["defaults.license", "defaults.schedule", "defaults.timezone"]


def test_update_frequency_words_become_iso_8601() -> None:
    assert normalise_frequency("daily") == "R/P1D"
    assert normalise_frequency("mensual") == "R/P1M"
    assert normalise_frequency("R/P6M") == "R/P6M"
    with pytest.raises(ValueError, match="ISO 8601"):
        normalise_frequency("a veces")


def test_literal_api_key_is_refused_without_echoing_it(tmp_path: Path) -> None:
    secret = "s3cr3t-token-value"
    text = f'[portal]\nurl = "http://127.0.0.1:5000"\napi_key = "{secret}"\norganization = "muni"\n' + MINIMAL
    problems = problems_of(write_config(tmp_path, text))
    assert problems and all(secret not in p for p in problems)
    assert "portal.api_key" in problems[0]


def test_env_reference_resolves_and_names_only_the_variable() -> None:
    ref = EnvRef(env="CKAN_API_TOKEN")
    assert resolve(ref, "portal.api_key", {"CKAN_API_TOKEN": "abc"}) == "abc"
    with pytest.raises(ConfigError) as caught:
        resolve(ref, "portal.api_key", {})
    assert caught.value.problems == ["portal.api_key: environment variable CKAN_API_TOKEN is not set"]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "harvest_config.toml"
    path.write_text("[[datasets]\nname = ", encoding="utf-8")
    (problem,) = problems_of(path)
    assert problem.startswith("harvest_config.toml: not valid TOML")


def test_missing_config_file(tmp_path: Path) -> None:
    (problem,) = problems_of(tmp_path / "nope.toml")
    assert "file not found" in problem


def test_check_config_warns_about_unset_environment_variables(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLISHER_TEST_TOKEN", raising=False)
    text = ('[portal]\nurl = "http://127.0.0.1:5000"\napi_key = { env = "PUBLISHER_TEST_TOKEN" }\n'
            'organization = "muni"\n' + MINIMAL)
    result = check_config(write_config(tmp_path, text))
    assert result["valid"] is True
    assert result["warnings"] == [
        "harvest_config.toml: portal.api_key: environment variable PUBLISHER_TEST_TOKEN is not set"
    ]


def test_schema_override_unknown_constraint(tmp_path: Path) -> None:
    text = MINIMAL + '\n[datasets.schema.fields.a]\nconstraints = { minimun = 0 }\n'
    (problem,) = problems_of(write_config(tmp_path, text))
    assert "datasets[0].schema.fields.a.constraints" in problem
    assert "unknown constraint 'minimun'" in problem

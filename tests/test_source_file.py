"""The ``file`` source kind: paths and globs, load-time checks, staged copies."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.config import load_config
from publisher.errors import ConfigError, SourceError
from publisher.sources import SourceContext, registry
from publisher.sources.file import FileOptions, FileSource

CSV_TEXT = "barrio;cantidad\nCentro;12\nEchesortu;7\n"


def write(path: Path, text: str = CSV_TEXT) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def source_for(base_dir: Path, **options: object) -> FileSource:
    validated = FileOptions.model_validate({"kind": "file", **options}, context={"base_dir": base_dir})
    return FileSource(validated, SourceContext(dataset="reclamos", base_dir=base_dir, environ={}))


def write_config(base_dir: Path, *sources: str) -> Path:
    """A harvest_config.toml with one dataset per source table (given as TOML inline tables)."""
    blocks = [
        f'[[datasets]]\nname = "dataset-{i}"\ntitle = "Dataset {i}"\nsource = {source}\n'
        for i, source in enumerate(sources)
    ]
    path = base_dir / "harvest_config.toml"
    path.write_text("\n".join(blocks), encoding="utf-8")
    return path


def config_problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_registry_finds_the_file_kind() -> None:
    assert registry.get("file") is FileSource
    assert "file" in registry.kinds()


def test_a_single_path_is_copied_into_the_workdir(tmp_path: Path) -> None:
    original = write(tmp_path / "samples" / "reclamos_2025.csv")
    workdir = tmp_path / "work" / "staging"

    extraction = source_for(tmp_path, path="samples/reclamos_2025.csv").extract(workdir)

    assert not extraction.not_modified
    [staged] = extraction.files
    assert staged.path.parent == workdir
    assert staged.path != original
    assert staged.path.read_bytes() == original.read_bytes()
    assert staged.name == "reclamos_2025"
    assert staged.origin == "samples/reclamos_2025.csv"
    assert staged.read.format == "csv"
    # the copy is independent: later stages may change it, the steward's file stays
    staged.path.write_text("changed", encoding="utf-8")
    assert original.read_text(encoding="utf-8") == CSV_TEXT


def test_a_glob_stages_every_matching_file_in_order(tmp_path: Path) -> None:
    for month in ("03", "01", "02"):
        write(tmp_path / "samples" / "reclamos" / f"Reclamos 2025-{month}.csv")
    write(tmp_path / "samples" / "reclamos" / "notas.md", "no es una tabla")
    write(tmp_path / "samples" / "reclamos" / "~$Reclamos 2025-04.csv")  # an Excel lock file

    source = source_for(tmp_path, path="samples/reclamos/*.csv", delimiter=";")
    extraction = source.extract(tmp_path / "staging")

    assert [f.name for f in extraction.files] == ["reclamos-2025-01", "reclamos-2025-02", "reclamos-2025-03"]
    assert [f.origin for f in extraction.files] == [
        f"samples/reclamos/Reclamos 2025-{m}.csv" for m in ("01", "02", "03")
    ]
    assert all(f.path.is_file() and f.path.parent == tmp_path / "staging" for f in extraction.files)
    assert all(f.read.delimiter == ";" and f.read.format == "csv" for f in extraction.files)
    assert source.describe_origin() == "samples/reclamos/*.csv"


def test_a_recursive_glob_keeps_resource_names_unique(tmp_path: Path) -> None:
    write(tmp_path / "datos" / "norte" / "arbolado.csv")
    write(tmp_path / "datos" / "sur" / "arbolado.csv", "especie\nJacarandá\n")

    extraction = source_for(tmp_path, path="datos/**/*.csv").extract(tmp_path / "staging")

    assert [f.name for f in extraction.files] == ["arbolado", "arbolado-2"]
    assert extraction.files[1].path.read_text(encoding="utf-8") == "especie\nJacarandá\n"


def test_read_keys_reach_the_staged_file(tmp_path: Path) -> None:
    (tmp_path / "calidad_del_aire.xlsx").write_bytes(b"PK\x03\x04 not read by the source")
    write(tmp_path / "padron.txt", "a|b\n1|2\n")

    [sheet] = source_for(tmp_path, path="calidad_del_aire.xlsx", sheet="Mediciones", skip_rows=2,
                         name="mediciones").extract(tmp_path / "s1").files
    [text] = source_for(tmp_path, path="padron.txt", encoding="cp1252").extract(tmp_path / "s2").files

    assert (sheet.name, sheet.read.format, sheet.read.sheet, sheet.read.skip_rows) == ("mediciones", "xlsx",
                                                                                       "Mediciones", 2)
    assert (text.read.format, text.read.encoding) == ("csv", "cp1252")  # .txt is read as delimited text
    assert text.path.suffix == ".txt"


def test_format_aliases_are_accepted(tmp_path: Path) -> None:
    write(tmp_path / "eventos.log", '{"a": 1}\n{"a": 2}\n')
    [staged] = source_for(tmp_path, path="eventos.log", format="jsonl").extract(tmp_path / "staging").files
    assert staged.read.format == "ndjson"


def test_a_valid_config_loads_with_file_options(tmp_path: Path) -> None:
    write(tmp_path / "samples" / "reclamos.csv")
    config = load_config(write_config(tmp_path, '{ kind = "file", path = "samples/reclamos.csv", delimiter = ";" }'))
    options = config.datasets[0].source
    assert isinstance(options, FileOptions)
    assert (options.path, options.delimiter) == ("samples/reclamos.csv", ";")


def test_a_missing_file_is_reported_at_config_load_with_its_key_path(tmp_path: Path) -> None:
    write(tmp_path / "samples" / "reclamos.csv")
    path = write_config(
        tmp_path,
        '{ kind = "file", path = "samples/reclamos.csv" }',
        '{ kind = "file", path = "samples/x.csv" }',
        '{ kind = "file", path = "samples/*.xlsx" }',
    )
    problems = config_problems(path)
    assert "harvest_config.toml: datasets[1].source.path: file not found: samples/x.csv" in problems
    assert "harvest_config.toml: datasets[2].source.path: no file matches the glob 'samples/*.xlsx'" in problems
    assert not any("datasets[0]" in p for p in problems)


def test_paths_are_relative_to_the_config_folder_not_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path / "cfg" / "samples" / "reclamos.csv")
    monkeypatch.chdir(tmp_path)  # samples/ is not under the working directory
    config = load_config(write_config(tmp_path / "cfg", '{ kind = "file", path = "samples/reclamos.csv" }'))
    assert config.datasets[0].source.kind == "file"


def test_a_folder_is_not_a_file(tmp_path: Path) -> None:
    write(tmp_path / "samples" / "reclamos.csv")
    problems = config_problems(write_config(tmp_path, '{ kind = "file", path = "samples" }'))
    assert problems == [
        "harvest_config.toml: datasets[0].source.path: samples is a folder; "
        "expected a file or a glob such as 'samples/*.csv'"
    ]


def test_an_unknown_format_is_reported_at_config_load(tmp_path: Path) -> None:
    write(tmp_path / "samples" / "reclamos.dat")
    problems = config_problems(write_config(tmp_path, '{ kind = "file", path = "samples/reclamos.dat" }'))
    assert len(problems) == 1
    assert problems[0].startswith(
        "harvest_config.toml: datasets[0].source.path: cannot tell the format of 'samples/reclamos.dat' "
        "from its extension; set format = one of csv, tsv"
    )


def test_an_explicit_format_makes_any_extension_readable(tmp_path: Path) -> None:
    write(tmp_path / "samples" / "reclamos.dat")
    config = load_config(write_config(tmp_path, '{ kind = "file", path = "samples/reclamos.dat", format = "csv" }'))
    assert config.datasets[0].source.format == "csv"  # type: ignore[attr-defined]


def test_an_unknown_format_value_and_an_unknown_key_are_errors(tmp_path: Path) -> None:
    write(tmp_path / "reclamos.csv")
    problems = config_problems(write_config(
        tmp_path,
        '{ kind = "file", path = "reclamos.csv", format = "pdf" }',
        '{ kind = "file", path = "reclamos.csv", delimeter = ";" }',
    ))
    assert any(p.startswith("harvest_config.toml: datasets[0].source.format: ") for p in problems)
    assert "harvest_config.toml: datasets[1].source.delimeter: unknown key (check its spelling)" in problems


def test_name_needs_a_single_file(tmp_path: Path) -> None:
    write(tmp_path / "a.csv")
    write(tmp_path / "b.csv")
    problems = config_problems(write_config(tmp_path, '{ kind = "file", path = "*.csv", name = "reclamos" }'))
    assert problems == [
        "harvest_config.toml: datasets[0].source.name: name applies to a single file, but '*.csv' matches "
        "2 files; remove name (each file's stem becomes its resource name)"
    ]


def test_a_file_removed_after_loading_fails_the_extract(tmp_path: Path) -> None:
    original = write(tmp_path / "reclamos.csv")
    source = source_for(tmp_path, path="reclamos.csv")
    original.unlink()
    with pytest.raises(SourceError) as caught:
        source.extract(tmp_path / "staging")
    assert caught.value.message == "file not found: reclamos.csv"
    assert caught.value.stage == "extract"


def test_options_validate_without_a_config_folder(tmp_path: Path) -> None:
    # library users may build options by hand; existence is then checked at extract
    options = FileOptions.model_validate({"kind": "file", "path": "nowhere/*.csv"})
    source = FileSource(options, SourceContext(dataset="x", base_dir=tmp_path, environ={}))
    with pytest.raises(SourceError, match=r"no file matches the glob 'nowhere/\*\.csv'"):
        source.extract(tmp_path / "staging")

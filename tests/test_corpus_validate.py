"""`publisher validate` over every real file in ../shared/corpus/: read correctly or rejected precisely."""

from __future__ import annotations

from pathlib import Path

import pytest

from publisher.errors import DescribeError
from publisher.sources import StagedFile
from publisher.validation import summarise, validate_file

CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
TABULAR = ("csv", "tsv", "xlsx", "json", "geojson")


def corpus_files() -> list[Path]:
    if not CORPUS.is_dir():
        return []
    return sorted(p for p in CORPUS.rglob("*") if p.suffix.lstrip(".") in TABULAR and "ocds" not in p.parts
                  and "dcat" not in p.parts and "ckan" not in p.parts and "datapackage" not in p.parts)


def staged(path: Path) -> StagedFile:
    return StagedFile(path=path, name=path.stem, origin=path.name)


@pytest.fixture(params=corpus_files() or [None], ids=lambda p: p.name if p else "no-corpus")
def corpus_file(request: pytest.FixtureRequest) -> Path:
    if request.param is None:
        pytest.skip("../shared/corpus/ is absent")
    return request.param  # type: ignore[no-any-return]


def test_every_corpus_file_validates_or_is_rejected_precisely(corpus_file: Path) -> None:
    try:
        report = validate_file(staged(corpus_file))
    except DescribeError as e:
        line = e.one_line()
        assert corpus_file.name in line and "\n" not in line
        return
    assert report["tasks"], "one task per file"
    task = report["tasks"][0]
    by_type = summarise(report)["by_type"]
    if corpus_file.name in EXPECTED_ERRORS:
        assert set(by_type) == EXPECTED_ERRORS[corpus_file.name], summarise(report)["first_errors"]
    else:
        # A wrong encoding, delimiter or decimal mark shows up here as type or cell errors.
        assert report["valid"], (corpus_file.name, summarise(report)["first_errors"])
        assert task["stats"]["rows"] > 0


# Real defects of real files, reported as read (the pipeline drops blank rows when it normalises).
EXPECTED_ERRORS = {
    "cordoba_presupuesto_2017_por_objeto_del_gasto.csv": {"blank-row"},
    "cordoba_calculo_de_recursos_2017.xlsx": {"blank-label", "blank-row"},
    "audiencias_lossy_encoding_question_marks.csv": {"blank-row"},
    "ragged_blank_duplicate_headers.csv": {"blank-label", "duplicate-label", "missing-cell", "blank-row",
                                           "extra-cell"},
    # OCDS JSON in ISO-8859-1: JSON must be UTF-8, so it is reported, never decoded as mojibake.
    "cdmx_release_package_iso-8859-1.json": {"source-error"},
}


def test_ragged_blank_duplicate_headers_report_every_structural_error() -> None:
    path = CORPUS / "invalid" / "ragged_blank_duplicate_headers.csv"
    if not path.exists():
        pytest.skip("../shared/corpus/ is absent")
    by_type = summarise(validate_file(staged(path)))["by_type"]
    assert {"blank-label", "duplicate-label", "missing-cell", "blank-row", "extra-cell"} <= set(by_type)


def test_lossy_question_marks_file_has_its_blank_row_reported() -> None:
    path = CORPUS / "invalid" / "audiencias_lossy_encoding_question_marks.csv"
    if not path.exists():
        pytest.skip("../shared/corpus/ is absent")
    report = validate_file(staged(path))
    assert "blank-row" in summarise(report)["by_type"]


def test_latin1_decimal_comma_file_validates_with_numbers() -> None:
    path = CORPUS / "csv" / "cna2018_eaps_por_partido_pba.csv"
    if not path.exists():
        pytest.skip("../shared/corpus/ is absent")
    report = validate_file(staged(path))
    assert report["valid"], summarise(report)["first_errors"]
    labels = report["tasks"][0]["labels"]
    assert any("pequeñas" in label for label in labels)

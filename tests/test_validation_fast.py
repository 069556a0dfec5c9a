"""The fast validation engine: named cases, deliberate differences, fallbacks, bounded memory.

Every case compares the fast engine with frictionless on the same file and
schema (whole report minus timings), so a case fails if either the error set
or a message differs. The generated-table comparison is in
test_validation_fast_differential.py.
"""

from __future__ import annotations

import csv
import logging
from pathlib import Path
from typing import Any

import pytest

from publisher.validation import choose_engine
from publisher.validation.fast import validate_csv
from tests.test_validation_fast_differential import assert_same, comparable, error_keys, frictionless_report


def write(tmp_path: Path, text: str, name: str = "data.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def field(name: str, kind: str = "string", **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": kind, **extra}


CASES: dict[str, tuple[dict[str, Any], str]] = {
    "structure": (
        {"fields": [field("id", "integer"), field("a"), field("b")]},
        'id,a,a\n1,x\n2,x,y,z\n\n,,\n3,"multi\nline",ok\n',
    ),
    "blank and duplicate labels": (
        {"fields": [field("a"), field("b"), field("c")]},
        "a,,a\n1,2,3\n",
    ),
    "integer and bareNumber": (
        {"fields": [field("n", "integer"), field("m", "integer", bareNumber=False)]},
        "n,m\n007,€ 5\n+5,5 %\n 5,x\n1_000,-3\n5.0,\n",
    ),
    "number with decimal and group chars": (
        {"fields": [field("es", "number", decimalChar=",", groupChar="."), field("en", "number", groupChar=",")]},
        'es,en\n"1.234,5","1,234.5"\n"1,5",1.5\n"1.5",x\nNaN,1e3\n',
    ),
    "boolean true and false values": (
        {"fields": [field("b", "boolean"), field("si", "boolean", trueValues=["sí", "si"], falseValues=["no"])]},
        "b,si\ntrue,sí\nTRUE,no\nyes,true\n1,si\n",
    ),
    "dates times and years": (
        {
            "fields": [
                field("d", "date"),
                field("dm", "date", format="%d/%m/%Y"),
                field("dt", "datetime"),
                field("t", "time"),
                field("y", "year"),
                field("any", "date", format="any"),
            ]
        },
        "d,dm,dt,t,y,any\n2024-02-29,29/02/2024,2024-02-29T10:00:00,10:00:00,2024,2024-02-29\n"
        "2023-02-29,31/04/2024,2024-02-29 10:00:00,25:00:00,24,29 Feb 2024\n"
        "2024-1-5,1/2/2024,2024-02-29T10:00:00Z,10:00,0000,x\n",
    ),
    "string formats": (
        {"fields": [field("e", format="email"), field("u", format="uri"), field("id", format="uuid")]},
        "e,u,id\nana@rosario.gob.ar,https://rosario.gob.ar,0e4c9c5e-8d3a-4b1c-9a3f-1c2b3d4e5f60\n"
        "ana@,rosario.gob.ar,0e4c9c5e8d3a4b1c9a3f1c2b3d4e5f60\nA.B+c@X.ORG,mailto:a@b.c,x\n",
    ),
    "geopoint": (
        {"fields": [field("g", "geopoint")]},
        'g\n"-60.63,-32.95"\n"-60.63, -32.95"\n"181,0"\n"0,90.0000001"\nx\n',
    ),
    "string constraints": (
        {
            "fields": [
                field(
                    "code", constraints={"required": True, "minLength": 2, "maxLength": 4, "pattern": "[A-Z]+[0-9]*"}
                ),
                field("kind", constraints={"enum": ["a", "b"]}),
            ]
        },
        "code,kind\nAB1,a\nA,b\nab,c\n,a\nABCDE,\n",
    ),
    "numeric and date bounds": (
        {
            "fields": [
                field("n", "number", constraints={"minimum": 0, "maximum": 10}),
                field("i", "integer", constraints={"minimum": 1, "enum": [1, 2, 3]}),
                field("d", "date", constraints={"minimum": "2024-01-01"}),
            ]
        },
        "n,i,d\n10,1,2024-01-01\n10.01,4,2023-12-31\n-0.0,0,x\n",
    ),
    "missing values": (
        {
            "fields": [field("a", "integer", constraints={"required": True}), field("b", "integer")],
            "missingValues": ["", "NA", "-"],
        },
        "a,b\nNA,-\n1,\n-,2\n,,\n",
    ),
    "unique and primary key": (
        {
            "fields": [field("id", "integer", constraints={"unique": True}), field("k"), field("v", "number")],
            "primaryKey": ["k", "v"],
        },
        "id,k,v\n1,a,1.0\n01,a,1\n2,b,\n2,b,\n3,,\n,,\n+3,c,x\n",
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_named_case_matches_frictionless(tmp_path: Path, caplog: pytest.LogCaptureFixture, name: str) -> None:
    schema, text = CASES[name]
    report = assert_same(write(tmp_path, text), schema, caplog)
    assert not report["valid"]


def test_a_valid_file_is_valid_with_frictionless_stats(tmp_path: Path) -> None:
    path = write(tmp_path, "id,nombre\n1,Ana\n2,Luis\n")
    schema = {"fields": [field("id", "integer", constraints={"unique": True}), field("nombre")], "primaryKey": ["id"]}
    report = assert_same(path, schema)
    assert report["valid"] is True
    stats = report["tasks"][0]["stats"]
    assert stats["rows"] == 2 and stats["bytes"] == path.stat().st_size and len(stats["sha256"]) == 64


def test_dialect_and_encoding(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "año;monto\n2024;1,5\n2025;x\n", encoding="latin-1")
    schema = {"fields": [field("año", "year"), field("monto", "number", decimalChar=",")]}
    assert_same(path, schema, caplog, dialect={"csv": {"delimiter": ";"}}, encoding="latin-1")


def test_error_limit_cuts_where_frictionless_cuts(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},x" for i in range(1, 40))
    path = write(tmp_path, "id,n\n" + rows + "\n")
    schema = {"fields": [field("id", "integer"), field("n", "integer")]}
    report = assert_same(path, schema, limit_errors=7)
    task = report["tasks"][0]
    assert len(task["errors"]) == 7 and task["warnings"] == ["reached error limit: 7"]
    assert task["stats"]["rows"] == 7


@pytest.mark.parametrize(
    ("duplicates", "expected"),
    [
        # a key repeated only after the cut: the walk kept the keys of the rows it read, none twice
        ({200_000: 5, 250_000: 5}, [("type-error", 3), ("type-error", 7), ("type-error", 8)]),
        # a key repeated before the cut: the walk's kept keys show it, the keys are grouped again from the file
        ({4: 1, 200_000: 1}, [("type-error", 3), ("unique-error", 6), ("type-error", 7)]),
    ],
)
def test_error_limit_with_keys_repeated_before_or_after_the_cut(
    tmp_path: Path, duplicates: dict[int, int], expected: list[tuple[str, int]]
) -> None:
    """A file of several Arrow batches whose walk stops at the error limit in the first one."""
    path = tmp_path / "keys.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "n"])
        for i in range(300_000):
            writer.writerow([duplicates.get(i, i), "x" if i in (1, 5, 6) else i])
    schema = {"fields": [field("id", "integer", constraints={"unique": True}), field("n", "integer")]}
    report = assert_same(path, schema, limit_errors=3)
    assert [(e["type"], e["rowNumber"]) for e in report["tasks"][0]["errors"]] == expected


# --- deliberate differences (documented in publisher.validation.fast) ---------------------


def test_partial_report_has_file_size_and_no_hashes(tmp_path: Path) -> None:
    rows = "\n".join(f"{i},x" for i in range(1, 3000))
    path = write(tmp_path, "id,n\n" + rows + "\n")
    schema = {"fields": [field("id", "integer"), field("n", "integer")]}
    fast = validate_csv(path, schema, limit_errors=5)["tasks"][0]["stats"]
    slow = frictionless_report(path, schema, limit_errors=5)["tasks"][0]["stats"]
    assert fast["bytes"] == path.stat().st_size and "sha256" not in fast and "md5" not in fast
    assert slow["bytes"] < path.stat().st_size  # frictionless: what its reader had consumed
    assert {k: v for k, v in fast.items() if k not in ("bytes", "seconds")} == {
        k: v for k, v in slow.items() if k not in ("bytes", "seconds", "md5", "sha256")
    }


def test_hashes_can_be_skipped(tmp_path: Path) -> None:
    path = write(tmp_path, "a\n1\n")
    stats = validate_csv(path, {"fields": [field("a", "integer")]}, hashes=False)["tasks"][0]["stats"]
    assert "md5" not in stats and "sha256" not in stats and stats["rows"] == 1


def test_unique_keys_are_ignored_like_frictionless(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b\n1,x\n1,x\n")
    schema = {"fields": [field("a", "integer"), field("b")], "uniqueKeys": [["a", "b"]]}
    try:
        expected = frictionless_report(path, schema)
    except Exception as e:  # this frictionless may reject the v2 property outright
        pytest.skip(f"frictionless refuses uniqueKeys: {e}")
    assert comparable(validate_csv(path, schema)) == comparable(expected)
    assert not error_keys(expected)


def test_aware_times_are_compared_by_offset_spelling(tmp_path: Path) -> None:
    """Equal instants with different UTC offsets: frictionless reports a duplicate, the fast engine not."""
    path = write(tmp_path, "t\n10:00:00+01:00\n09:00:00+00:00\n10:00:00+01:00\n")
    schema = {"fields": [field("t", "time", format="any", constraints={"unique": True})]}
    fast = error_keys(validate_csv(path, schema))
    slow = error_keys(frictionless_report(path, schema))
    assert ("unique-error", 4, "t") in fast and ("unique-error", 4, "t") in slow  # same spelling: both
    assert ("unique-error", 3, "t") in slow and ("unique-error", 3, "t") not in fast


def test_long_decimals_are_compared_exactly(tmp_path: Path) -> None:
    path = write(tmp_path, "n\n12345678901234567.50\n12345678901234567.5\n1.5\n1.50\n")
    assert_same(path, {"fields": [field("n", "number", constraints={"unique": True})]})


# --- hand-overs to frictionless ------------------------------------------------------------


@pytest.mark.parametrize(
    "dialect",
    [{"csv": {"escapeChar": "\\", "doubleQuote": False}}, {"csv": {"skipInitialSpace": True}}, {"commentChar": "#"}],
)
def test_unsupported_dialects_hand_over_to_frictionless(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, dialect: dict[str, Any]
) -> None:
    path = write(tmp_path, 'a,b\n1, "x"\n#c\n2,y\n')
    schema = {"fields": [field("a", "integer"), field("b")]}
    with caplog.at_level(logging.WARNING, logger="publisher.validation.fast"):
        assert_same(path, schema, dialect=dialect)
    assert "hands data.csv to frictionless" in caplog.text


def test_undecodable_file_hands_over(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"a\n\xff\xfe\n")
    with caplog.at_level(logging.WARNING, logger="publisher.validation.fast"):
        assert_same(path, {"fields": [field("a")]}, encoding="utf-8")
    assert "to frictionless" in caplog.text


def test_a_row_wider_than_the_spare_columns(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = write(tmp_path, "a,b\n1,2\n" + ",".join(str(i) for i in range(30)) + "\n3,4\n")
    assert_same(path, {"fields": [field("a", "integer"), field("b", "integer")]}, caplog)


# --- bounded memory ------------------------------------------------------------------------


def test_duplicates_in_a_table_larger_than_duckdb_memory(tmp_path: Path) -> None:
    """DuckDB spills under a small memory_limit; the duplicate rows are still exact."""
    path = tmp_path / "big.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["id", "texto"])
        for i in range(300_000):
            writer.writerow([i if i not in (150_000, 299_999) else 7, "x" * 40])
    schema = {"fields": [field("id", "integer", constraints={"unique": True}), field("texto")]}
    report = validate_csv(path, schema, memory_limit="40MB", threads=1)
    errors = report["tasks"][0]["errors"]
    assert [(e["type"], e["rowNumber"], e["note"]) for e in errors] == [
        ("unique-error", 150_002, "the same as in the row at position 9"),
        ("unique-error", 300_001, "the same as in the row at position 150002"),
    ]
    assert report["tasks"][0]["stats"]["rows"] == 300_000


def test_auto_engine_picks_fast_above_the_threshold(tmp_path: Path) -> None:
    small = write(tmp_path, "a\n1\n", "small.csv")
    large = write(tmp_path, "a\n" + "1\n" * 600_000, "large.csv")
    assert choose_engine("auto", small) == "frictionless"
    assert choose_engine("auto", large) == "fast"
    assert choose_engine("frictionless", large) == "frictionless"
    assert choose_engine("fast", small) == "fast"

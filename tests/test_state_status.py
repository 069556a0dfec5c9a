"""`publisher status` and `publisher history`: freshness arithmetic, and CLI output equal to the library's."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from publisher.cli import cli
from publisher.config import load_config
from publisher.logs import JsonLinesFormatter, run_progress, setup_logging
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.state import dataset_status, open_state, parse_age
from publisher.state.status import Period, add_months, freshness, parse_duration, parse_frequency
from tests.test_state_support import file_dataset, write_config

T0 = dt.datetime(2026, 1, 31, 6, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(("text", "months", "exact"), [
    ("P1D", 0, dt.timedelta(days=1)), ("PT6H", 0, dt.timedelta(hours=6)), ("P1M", 1, dt.timedelta(0)),
    ("P1Y2M3DT4H5M6S", 14, dt.timedelta(days=3, hours=4, minutes=5, seconds=6)), ("P2W", 0, dt.timedelta(weeks=2)),
])
def test_parse_duration(text: str, months: int, exact: dt.timedelta) -> None:
    assert parse_duration(text) == Period(months, exact)


@pytest.mark.parametrize("bad", ["P", "PT", "1D", "P1H", "R/P1D", "P1DT"])
def test_parse_duration_rejects(bad: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_duration(bad)


def test_months_are_calendar_months() -> None:
    assert add_months(T0, 1) == dt.datetime(2026, 2, 28, 6, 0, tzinfo=dt.UTC)
    assert add_months(T0, 13) == dt.datetime(2027, 2, 28, 6, 0, tzinfo=dt.UTC)
    assert add_months(dt.datetime(2026, 11, 15, tzinfo=dt.UTC), 2) == dt.datetime(2027, 1, 15, tzinfo=dt.UTC)
    assert parse_frequency("eventual") is None


@pytest.mark.parametrize(("frequency", "grace", "age", "expected"), [
    ("R/P1D", "PT6H", dt.timedelta(hours=29, minutes=59), "fresh"),
    ("R/P1D", "PT6H", dt.timedelta(hours=30, minutes=1), "overdue"),
    ("R/P1M", "P1D", dt.timedelta(days=29), "fresh"),   # 31 Jan + 1 month = 28 Feb, + 1 day
    ("R/P1M", "P1D", dt.timedelta(days=30), "overdue"),
    ("R/P1W", "PT0S", dt.timedelta(days=6), "fresh"),
    ("eventual", "PT6H", dt.timedelta(days=900), "eventual"),
])
def test_freshness(frequency: str, grace: str, age: dt.timedelta, expected: str) -> None:
    label, _due = freshness(T0, parse_frequency(frequency), parse_duration(grace), T0 + age)
    assert label == expected


def test_never_succeeded_is_never() -> None:
    assert freshness(None, parse_frequency("R/P1D"), parse_duration("PT6H"), T0) == ("never", None)


@pytest.mark.parametrize(("text", "delta"), [("90d", dt.timedelta(days=90)), ("12h", dt.timedelta(hours=12)),
                                             ("2w", dt.timedelta(weeks=2)), ("P90D", dt.timedelta(days=90))])
def test_parse_age(text: str, delta: dt.timedelta) -> None:
    assert parse_age(text) == delta


# --- status over a real store --------------------------------------------------------

@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "d.csv").write_text("id\n1\n", encoding="utf-8")
    datasets = (file_dataset("diario", "d.csv") + file_dataset("mensual", "d.csv", 'update_frequency = "mensual"')
                + file_dataset("nunca", "d.csv") + file_dataset("eventual", "d.csv", 'update_frequency = "eventual"'))
    return write_config(tmp_path, datasets, '[state]\nfreshness_grace = "PT6H"')


def record(state, dataset: str, outcome: Outcome, when: dt.datetime) -> None:  # type: ignore[no-untyped-def]
    report = RunReport(trigger="scheduled", started_at=when, finished_at=when)
    report.run_id = state.begin_run(report)
    result = DatasetResult(dataset=dataset, outcome=outcome, finished_at=when, message=f"{outcome} at {when:%d}")
    report.results.append(result)
    state.record(report, result)
    state.finish_run(report)


def test_status_rows_and_freshness(project: Path) -> None:
    config = load_config(project)
    state = open_state(config)
    now = dt.datetime(2026, 3, 10, 12, 0, tzinfo=dt.UTC)
    record(state, "diario", Outcome.PUBLISHED, now - dt.timedelta(days=3))
    record(state, "diario", Outcome.FAILED, now - dt.timedelta(hours=9))
    record(state, "mensual", Outcome.UNCHANGED, now - dt.timedelta(days=20))
    record(state, "nunca", Outcome.BLOCKED, now - dt.timedelta(hours=9))
    rows = {row.dataset: row for row in dataset_status(config, state, now)}
    assert [r.dataset for r in dataset_status(config, state, now)] == ["diario", "mensual", "nunca", "eventual"]
    diario = rows["diario"]
    assert (diario.last_outcome, diario.freshness, diario.update_frequency) == ("failed", "overdue", "R/P1D")
    assert diario.last_success_at == diario.last_published_at == (now - dt.timedelta(days=3)).isoformat(
        timespec="microseconds")
    assert diario.due_by == (now - dt.timedelta(days=2) + dt.timedelta(hours=6)).isoformat(timespec="microseconds")
    assert (rows["mensual"].freshness, rows["mensual"].last_published_at) == ("fresh", None)
    assert (rows["nunca"].freshness, rows["nunca"].last_outcome) == ("never", "blocked")
    assert (rows["eventual"].freshness, rows["eventual"].last_run_at) == ("eventual", None)


def test_status_json_equals_the_library_result(project: Path) -> None:
    config = load_config(project)
    state = open_state(config)
    record(state, "diario", Outcome.PUBLISHED, dt.datetime.now(dt.UTC) - dt.timedelta(hours=2))
    result = CliRunner().invoke(cli, ["--config", str(project), "status", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == [row.to_dict() for row in dataset_status(config, state)]
    assert json.loads(result.output)[0]["freshness"] == "fresh"
    text = CliRunner().invoke(cli, ["--config", str(project), "status"])
    assert text.exit_code == 0 and "diario" in text.output and "overdue" not in text.output and "never" in text.output


def test_history_json_equals_the_library_result_and_prune_deletes(project: Path) -> None:
    config = load_config(project)
    state = open_state(config)
    now = dt.datetime.now(dt.UTC)
    for days in (200, 100, 10, 1):
        record(state, "diario", Outcome.PUBLISHED, now - dt.timedelta(days=days))
    record(state, "mensual", Outcome.FAILED, now)
    runner = CliRunner()
    listed = runner.invoke(cli, ["--config", str(project), "history", "diario", "--limit", "3", "--json"])
    assert listed.exit_code == 0, listed.output
    assert json.loads(listed.output) == json.loads(json.dumps(state.history("diario", 3)))
    assert len(json.loads(listed.output)) == 3
    everything = runner.invoke(cli, ["--config", str(project), "history", "--json"])
    assert [r["dataset"] for r in json.loads(everything.output)] == ["mensual"] + ["diario"] * 4
    assert runner.invoke(cli, ["--config", str(project), "history", "nosuch"]).exit_code == 2
    pruned = runner.invoke(cli, ["--config", str(project), "history", "prune", "--older-than", "90d", "--json"])
    assert pruned.exit_code == 0, pruned.output
    assert {k: v for k, v in json.loads(pruned.output).items() if k != "cutoff"} == {"runs": 2, "outcomes": 2}
    assert len(state.history("diario")) == 2
    bad = runner.invoke(cli, ["--config", str(project), "history", "prune", "--older-than", "soon"])
    assert bad.exit_code == 2 and "--older-than" in bad.output


def test_status_shows_who_holds_a_lock(project: Path) -> None:
    config = load_config(project)
    state = open_state(config)
    with state.lock("mensual"):
        rows = {row.dataset: row for row in dataset_status(config, state)}
    assert rows["mensual"].locked_by and rows["mensual"].locked_by.startswith("pid ")
    assert rows["diario"].locked_by is None


# --- operator logs ------------------------------------------------------------------------

def test_json_lines_logs_when_not_on_a_terminal() -> None:
    stream = io.StringIO()
    handler = setup_logging(logging.INFO, stream=stream)
    try:
        assert isinstance(handler.formatter, JsonLinesFormatter)
        logging.getLogger("publisher.test").warning("dataset '%s' failed", "obras", extra={"dataset": "obras"})
        line = json.loads(stream.getvalue().splitlines()[-1])
        assert (line["level"], line["message"], line["dataset"]) == ("warning", "dataset 'obras' failed", "obras")
        with run_progress(1, stream=stream) as on_result:
            on_result(DatasetResult("obras", Outcome.WRITTEN))
        assert json.loads(stream.getvalue().splitlines()[-1])["outcome"] == "written"
    finally:
        logging.getLogger().removeHandler(handler)


def test_progress_bar_on_a_terminal() -> None:
    stream = io.StringIO()
    with run_progress(2, stream=stream, enabled=True) as on_result:
        on_result(DatasetResult("obras", Outcome.WRITTEN))
        on_result(DatasetResult("aire", Outcome.FAILED))
    assert "2/2" in stream.getvalue()

"""The ``ocds`` source kind: options, files, paginated APIs, staged tables."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from publisher.errors import SourceError, ValidationFailed
from publisher.ocds import RECORD_PACKAGE_FILE, RELEASE_PACKAGE_FILE, REPORT_FILE, SCHEMA_DIR_ENV
from publisher.sources import SourceContext, registry
from tests.test_ocds import corpus_file, make_release, release_package, schema_dir, write_json

__all__ = ["schema_dir"]  # the fixture, imported for pytest

TABLE_NAMES = ["releases", "parties", "tender_items", "awards", "award_suppliers", "contracts", "transactions"]


def options(base_dir: Path, **raw: Any) -> Any:
    source_class = registry.get("ocds")
    assert source_class is not None
    return source_class.Options.model_validate({"kind": "ocds", **raw}, context={"base_dir": base_dir})


def source(base_dir: Path, schema_dir: Path, **raw: Any) -> Any:
    source_class = registry.get("ocds")
    assert source_class is not None
    context = SourceContext(dataset="compras", base_dir=base_dir, environ={SCHEMA_DIR_ENV: str(schema_dir)})
    return source_class(options(base_dir, **raw), context)


def test_registered_kind() -> None:
    assert "ocds" in registry.kinds()
    source_class = registry.get("ocds")
    assert source_class is not None and source_class.kind == "ocds"


@pytest.mark.parametrize(("raw", "message"), [
    ({}, "set exactly one of path"),
    ({"path": "a.json", "url": "https://x.org/a.json"}, "set exactly one of path"),
    ({"path": "missing/*.json"}, "no file matches the glob 'missing/*.json'"),
    ({"url": "ftp://x.org/a.json"}, "expected an http(s) URL"),
    ({"url": "https://x.org/a.json", "schema_dir": "nowhere"}, "folder not found: nowhere"),
    ({"url": "https://x.org/a.json", "encoding": "klingon"}, "unknown encoding 'klingon'"),
    ({"url": "https://x.org/a.json", "max_pages": 0}, "greater than or equal to 1"),
    ({"url": "https://x.org/a.json", "colour": "red"}, "Extra inputs are not permitted"),
])
def test_options_are_checked(tmp_path: Path, raw: dict[str, Any], message: str) -> None:
    (tmp_path / "a.json").write_text("{}", encoding="utf-8")
    with pytest.raises(ValidationError, match=re.escape(message)):
        options(tmp_path, **raw)


def test_files_become_tables_with_schemas_and_package_files(schema_dir: Path, tmp_path: Path) -> None:
    corpus = corpus_file("ocds/cdmx_sefin_release_package.json").parent
    extraction = source(tmp_path, schema_dir, path=str(corpus / "*.json")).extract(tmp_path / "work")

    assert [f.name for f in extraction.files] == TABLE_NAMES
    for staged in extraction.files:
        assert (staged.read.format, staged.read.encoding, staged.read.delimiter) == ("csv", "utf-8", ",")
        assert staged.schema_hint is not None and staged.path.is_file()
        header = staged.path.read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header == [f["name"] for f in staged.schema_hint["fields"]]
    releases = extraction.files[0].path.read_text(encoding="utf-8").splitlines()
    assert len(releases) == 1 + 2  # the CDMX and the Paraguay contracting processes
    work = tmp_path / "work" / "ocds"
    assert {p.name for p in work.glob("ocds-*.json")} == {RELEASE_PACKAGE_FILE, RECORD_PACKAGE_FILE, REPORT_FILE}
    report = json.loads((work / REPORT_FILE).read_text(encoding="utf-8"))
    assert [i["label"] for i in report["inputs"]] == [
        str(corpus / "cdmx_sefin_release_package.json"), str(corpus / "paraguay_dncp_record_package_274231.json")]
    assert report["counts"]["contracting_processes"] == 2


def test_staged_tables_validate_as_one_frictionless_package(schema_dir: Path, tmp_path: Path) -> None:
    import frictionless

    corpus = corpus_file("ocds/paraguay_dncp_record_package_274231.json")
    extraction = source(tmp_path, schema_dir, path=str(corpus)).extract(tmp_path / "work")
    descriptor = {"name": "compras", "resources": [
        {"name": f.name, "path": f.path.name, "profile": "tabular-data-resource", "format": "csv",
         "encoding": "utf-8", "schema": f.schema_hint} for f in extraction.files]}
    package_path = write_json(extraction.files[0].path.parent / "datapackage.json", descriptor)
    report = frictionless.Package(str(package_path)).validate()
    assert report.valid, report.flatten(["rowNumber", "fieldName", "type"])


def test_invalid_data_blocks_and_keeps_the_report(schema_dir: Path, tmp_path: Path) -> None:
    write_json(tmp_path / "bad.json", release_package([make_release(date="ayer")]))

    with pytest.raises(ValidationFailed, match=re.escape("OCDS validation: 1 error, 1 warning: "
                                                         "invalid_date at $.releases[0].date")) as caught:
        source(tmp_path, schema_dir, path="bad.json").extract(tmp_path / "work")
    kept = tmp_path / ".publisher" / "ocds-reports" / "compras.json"
    assert json.loads(kept.read_text(encoding="utf-8"))["summary"]["error"] == {"invalid_date": 1}
    assert 'on_invalid = "warn"' in (caught.value.hint or "")

    extraction = source(tmp_path, schema_dir, path="bad.json", on_invalid="warn").extract(tmp_path / "work2")
    assert [f.name for f in extraction.files] == TABLE_NAMES


def _page(number: int, next_url: str | None) -> dict[str, Any]:
    releases = [make_release(f"ocds-abc123-{number}{n}", "r1") for n in range(2)]
    package = release_package(releases, uri=f"https://compras.example.org/page/{number}")
    if next_url:
        package["links"] = {"next": next_url}
    return package


def test_paginated_api_follows_links_next(schema_dir: Path, tmp_path: Path, httpserver: Any) -> None:
    httpserver.expect_request("/api/releases").respond_with_json(_page(1, httpserver.url_for("/api/releases/2")))
    httpserver.expect_request("/api/releases/2").respond_with_json(_page(2, "3?cursor=abc"))  # relative
    httpserver.expect_request("/api/releases/3", query_string="cursor=abc").respond_with_json(_page(3, None))

    work = tmp_path / "work"
    extraction = source(tmp_path, schema_dir, url=httpserver.url_for("/api/releases")).extract(work)

    ocids = [line.split(",")[0] for line in extraction.files[0].path.read_text(encoding="utf-8").splitlines()[1:]]
    assert ocids == [f"ocds-abc123-{p}{n}" for p in (1, 2, 3) for n in range(2)]
    report = json.loads((work / "ocds" / REPORT_FILE).read_text(encoding="utf-8"))
    assert [i["label"] for i in report["inputs"]] == ["page 1", "page 2", "page 3"]
    records = json.loads((work / "ocds" / RECORD_PACKAGE_FILE).read_text(encoding="utf-8"))["records"]
    assert records[2]["releases"][0]["url"] == "https://compras.example.org/page/2#r1"


def test_pagination_stops_at_max_pages_with_an_error(schema_dir: Path, tmp_path: Path, httpserver: Any) -> None:
    httpserver.expect_request("/p1").respond_with_json(_page(1, httpserver.url_for("/p2")))
    httpserver.expect_request("/p2").respond_with_json(_page(2, httpserver.url_for("/p3")))

    with pytest.raises(SourceError, match=r"still a links\.next after 2 pages") as caught:
        source(tmp_path, schema_dir, url=httpserver.url_for("/p1"), max_pages=2).extract(tmp_path / "work")
    assert "max_pages" in (caught.value.hint or "")


@pytest.mark.parametrize(("next_url", "message"), [
    ("/loop", "loops back to a page already read"),
    ("https://elsewhere.example.org/p2", "points to another site"),
])
def test_pagination_refuses_loops_and_other_sites(schema_dir: Path, tmp_path: Path, httpserver: Any,
                                                  next_url: str, message: str) -> None:
    httpserver.expect_request("/loop").respond_with_json(_page(1, next_url))

    with pytest.raises(SourceError, match=message):
        source(tmp_path, schema_dir, url=httpserver.url_for("/loop")).extract(tmp_path / "work")


def test_describe_origin_hides_secrets(tmp_path: Path, schema_dir: Path) -> None:
    shown = source(tmp_path, schema_dir, url="https://user:pw@compras.example.org/api?token=s3cret").describe_origin()
    assert "pw" not in shown and "s3cret" not in shown


def test_the_runner_writes_one_valid_package(schema_dir: Path, tmp_path: Path) -> None:
    from publisher.config import parse_config
    from publisher.runner import RunDeps, run

    corpus = corpus_file("ocds/cdmx_sefin_release_package.json").parent
    raw = {"datasets": [{"name": "compras", "title": "Compras (OCDS)", "on_invalid": "block",
                         "source": {"kind": "ocds", "path": str(corpus / "*.json")}}]}
    config = parse_config(raw, tmp_path / "harvest_config.toml")
    report = run(config, deps=RunDeps(environ={SCHEMA_DIR_ENV: str(schema_dir)}))

    (result,) = report.results
    assert result.ok, result.message
    descriptor = json.loads((tmp_path / "datapackages" / "compras" / "datapackage.json").read_text(encoding="utf-8"))
    resources = {r["name"]: r for r in descriptor["resources"]}
    assert [n for n in TABLE_NAMES if n in resources] == TABLE_NAMES
    assert resources["releases"]["schema"]["primaryKey"] == ["ocid"]
    assert {"fields": ["ocid"], "reference": {"resource": "releases", "fields": ["ocid"]}} in \
        resources["awards"]["schema"]["foreignKeys"]
    # The package JSON and the OCDS report are published beside the tables ...
    assert {"ocds-release-package.json", "ocds-validation.json"} <= set(resources)
    # ... and the portal carries the OCDS metadata as extras.
    from publisher.portal.mapping import desired_dataset

    portal = {"url": "http://127.0.0.1:5002", "organization": "muni"}
    with_portal = parse_config({**raw, "portal": portal}, tmp_path / "harvest_config.toml")
    desired = desired_dataset(with_portal, with_portal.datasets[0], tmp_path / "datapackages" / "compras")
    assert desired.extras["ocds_ocid_prefix"]
    assert desired.extras["ocds_releases"] == "2"

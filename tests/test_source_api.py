"""The api source against a real HTTP server on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import base64
import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publisher.errors import SourceError, TransientSourceError
from publisher.sources import registry
from publisher.sources.api import ApiOptions, ApiSource
from publisher.sources.base import Extraction, SourceContext

TOKEN = "tok-3e8f-secret"


def options(**raw: Any) -> ApiOptions:
    return ApiOptions.model_validate({"kind": "api", **raw}, context={"base_dir": Path(".")})


def extract(opts: ApiOptions, tmp_path: Path, environ: dict[str, str] | None = None) -> Extraction:
    context = SourceContext(dataset="gestiones", base_dir=tmp_path, environ=environ or {})
    return ApiSource(opts, context).extract(tmp_path / "staging")


def rows(extraction: Extraction) -> list[dict[str, str]]:
    with extraction.files[0].path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


PEOPLE = [{"id": n, "nombre": f"Obra {n}", "barrio": {"nombre": "Echesortu", "zona": {"id": 3}}}
          for n in range(1, 8)]


def paged(request: Request, size: int = 3) -> Response:
    page = int(request.args.get("page", "1"))
    chunk = PEOPLE[(page - 1) * size: page * size]
    return Response(json.dumps({"ok": True, "data": chunk}), content_type="application/json")


def test_page_numbers_bearer_auth_and_flattening(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras", headers={"Authorization": f"Bearer {TOKEN}"},
                              query_string={"page": "1", "anio": "2024"}).respond_with_handler(paged)
    httpserver.expect_request("/obras", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_handler(paged)
    opts = options(url=httpserver.url_for("/obras"), params={"anio": 2024}, records_path="data",
                   pagination={"type": "page", "param": "page"},
                   auth={"type": "bearer", "token": {"env": "OBRAS_TOKEN"}}, separator="__")
    extraction = extract(opts, tmp_path, {"OBRAS_TOKEN": TOKEN})
    got = rows(extraction)
    assert [r["id"] for r in got] == [str(n) for n in range(1, 8)]
    assert got[0] == {"id": "1", "nombre": "Obra 1", "barrio__nombre": "Echesortu", "barrio__zona__id": "3"}
    pages = [req.args.get("page") for req, _ in httpserver.log]
    assert pages == ["1", "2", "3"]  # page 3 has 1 record < 3: the last page, no extra request
    assert registry.get("api") is ApiSource
    assert extraction.files[0].read.format == "csv" and TOKEN not in extraction.files[0].origin


def test_nested_objects_kept_as_json(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_json([{"id": 1, "tags": ["a", "ñ"], "geo": {"x": 1}}])
    got = rows(extract(options(url=httpserver.url_for("/obras"), nested="json"), tmp_path))
    assert got == [{"id": "1", "tags": '["a","ñ"]', "geo": '{"x":1}'}]


def test_real_envelope_with_string_total_and_dd_mm_yyyy_dates(httpserver: HTTPServer, tmp_path: Path,
                                                            corpus: Path, caplog: pytest.LogCaptureFixture) -> None:
    body = (corpus / "json" / "santafe_gestiones_compra_listing_AP.json").read_bytes()
    empty = json.dumps({"success": True, "errors": {"reason": ""}, "data": [], "totalRecords": "95"})
    httpserver.expect_request("/gestiones", query_string={"start": "0", "length": "5"}).respond_with_data(
        body, content_type="application/json")
    httpserver.expect_request("/gestiones", query_string={"start": "5", "length": "5"}).respond_with_data(
        empty, content_type="application/json")
    opts = options(url=httpserver.url_for("/gestiones"), records_path="data", total_path="totalRecords",
                   pagination={"type": "offset", "offset_param": "start", "limit_param": "length", "limit": 5})
    with caplog.at_level(logging.WARNING):
        got = rows(extract(opts, tmp_path))
    assert len(got) == 5
    assert got[0]["numeroAño"] == "18-2026" and got[0]["fechaHoraApertura"] == "04-09-2026"
    assert got[0]["tipoGestion"] == "LICITACIÓN PÚBLICA" and got[0]["idGestion"] == "138825"
    assert "announced 95 records and returned 5" in caplog.text


def test_cursor_token_pagination(httpserver: HTTPServer, tmp_path: Path) -> None:
    def handler(request: Request) -> Response:
        cursor = int(request.args.get("cursor", "0"))
        following = cursor + 2 if cursor + 2 < len(PEOPLE) else None
        body = {"items": PEOPLE[cursor:cursor + 2], "meta": {"next": following}}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/obras").respond_with_handler(handler)
    opts = options(url=httpserver.url_for("/obras"), records_path="items",
                   pagination={"type": "cursor", "param": "cursor", "next_path": "meta.next"})
    assert [r["id"] for r in rows(extract(opts, tmp_path))] == [str(n) for n in range(1, 8)]


def test_link_header_pagination_and_api_key(httpserver: HTTPServer, tmp_path: Path) -> None:
    def handler(request: Request) -> Response:
        page = int(request.args.get("p", "1"))
        headers = {"Link": f'<{httpserver.url_for("/obras")}?p={page + 1}>; rel="next"'} if page < 3 else {}
        return Response(json.dumps(PEOPLE[(page - 1) * 3: page * 3]), headers=headers,
                        content_type="application/json")

    httpserver.expect_request("/obras", headers={"X-Api-Key": TOKEN}).respond_with_handler(handler)
    opts = options(url=httpserver.url_for("/obras"), pagination={"type": "link"},
                   auth={"type": "api_key", "header": "X-Api-Key", "key": {"env": "K"}})
    assert len(rows(extract(opts, tmp_path, {"K": TOKEN}))) == 7


def test_next_url_in_body_with_post_and_basic_auth(httpserver: HTTPServer, tmp_path: Path) -> None:
    expected_auth = "Basic " + base64.b64encode(f"lector:{TOKEN}".encode()).decode()

    def handler(request: Request) -> Response:
        assert request.json == {"filtro": {"anio": 2024}}
        page = int(request.args.get("page", "1"))
        following = f"/obras?page={page + 1}" if page < 3 else None
        body = {"results": PEOPLE[(page - 1) * 3: page * 3], "next": following}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request("/obras", method="POST", headers={"Authorization": expected_auth}
                              ).respond_with_handler(handler)
    opts = options(url=httpserver.url_for("/obras"), method="POST", body={"filtro": {"anio": 2024}},
                   records_path="results", pagination={"type": "next_url", "next_path": "next"},
                   auth={"type": "basic", "username": "lector", "password": {"env": "PW"}})
    assert len(rows(extract(opts, tmp_path, {"PW": TOKEN}))) == 7


def test_a_server_that_ignores_the_page_parameter_is_a_loop(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_json({"data": PEOPLE[:3]})
    opts = options(url=httpserver.url_for("/obras"), pagination={"type": "page"}, max_pages=50)
    with pytest.raises(SourceError, match=r"page loop: page 2 of http://localhost:\d+/obras repeats page 1"):
        extract(opts, tmp_path)
    assert len(httpserver.log) == 2


def test_a_repeated_next_cursor_is_a_loop(httpserver: HTTPServer, tmp_path: Path) -> None:
    chain = {"": ("B", 0), "B": ("A", 1), "A": ("B", 2)}  # B -> A -> B again

    def handler(request: Request) -> Response:
        following, n = chain[request.args.get("cursor", "")]
        return Response(json.dumps({"items": [{"n": n}], "next": following}), content_type="application/json")

    httpserver.expect_request("/x").respond_with_handler(handler)
    opts = options(url=httpserver.url_for("/x"), records_path="items",
                   pagination={"type": "cursor", "next_path": "next"})
    with pytest.raises(SourceError, match="page loop"):
        extract(opts, tmp_path)


def test_html_instead_of_json_is_one_line(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_data("<html><body>Iniciar sesión</body></html>",
                                                          content_type="text/html; charset=utf-8")
    with pytest.raises(SourceError) as caught:
        extract(options(url=httpserver.url_for("/obras") + "?token=abc123"), tmp_path)
    line = caught.value.one_line()
    assert "expected JSON from http://localhost" in line and "HTML page (HTTP 200, text/html)" in line
    assert "abc123" not in line and "\n" not in line


def test_retry_after_is_honoured_on_429(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_oneshot_request("/obras").respond_with_data("slow down", status=429,
                                                                  headers={"Retry-After": "1"})
    httpserver.expect_request("/obras").respond_with_json([{"id": 1}])
    started = time.monotonic()
    assert rows(extract(options(url=httpserver.url_for("/obras")), tmp_path)) == [{"id": "1"}]
    assert time.monotonic() - started >= 1.0
    assert len(httpserver.log) == 2


def test_persistent_5xx_is_transient_after_the_retries(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_data("boom", status=503, headers={"Retry-After": "0"})
    with pytest.raises(TransientSourceError, match="answered HTTP 503 after 3 attempts"):
        extract(options(url=httpserver.url_for("/obras"), retries=2), tmp_path)
    assert len(httpserver.log) == 3


def test_unauthorized_is_terminal_and_names_no_secret(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_data("no", status=401)
    opts = options(url=httpserver.url_for("/obras"), auth={"type": "bearer", "token": {"env": "T"}})
    with pytest.raises(SourceError) as caught:
        extract(opts, tmp_path, {"T": TOKEN})
    assert not isinstance(caught.value, TransientSourceError)
    assert "HTTP 401" in caught.value.one_line() and TOKEN not in caught.value.one_line()
    assert len(httpserver.log) == 1


def test_rate_limit_spaces_the_requests(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_handler(lambda r: paged(r, size=1))
    opts = options(url=httpserver.url_for("/obras"), pagination={"type": "page"}, rate_limit=10)
    started = time.monotonic()
    assert len(rows(extract(opts, tmp_path))) == 7
    assert len(httpserver.log) == 8  # 7 pages of one record, then the empty page
    assert time.monotonic() - started >= 0.7  # 8 requests at 10/s


def test_records_path_errors_name_the_candidates(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_json({"data": [{"a": 1}], "otros": [{"b": 2}]})
    with pytest.raises(SourceError) as caught:
        extract(options(url=httpserver.url_for("/obras")), tmp_path)
    assert "(set records_path (candidates: data, otros))" in caught.value.one_line()
    with pytest.raises(SourceError) as caught:
        extract(options(url=httpserver.url_for("/obras"), records_path="resultados"), tmp_path)
    assert "records_path 'resultados' not found" in caught.value.one_line()
    assert "top-level keys: data, otros" in caught.value.one_line()


def test_options_are_checked_at_load() -> None:
    with pytest.raises(ValidationError, match="expected an http"):
        options(url="ftp://x")
    with pytest.raises(ValidationError):
        options(url="http://x", auth={"type": "bearer", "token": "literal-token"})
    with pytest.raises(ValidationError):
        options(url="http://x", pagination={"type": "pages"})


def test_retry_after_longer_than_the_cap_fails_at_once(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/obras").respond_with_data("later", status=503, headers={"Retry-After": "3600"})
    started = time.monotonic()
    with pytest.raises(TransientSourceError, match="asks to wait 3600 s"):
        extract(options(url=httpserver.url_for("/obras"), max_retry_wait=5), tmp_path)
    assert time.monotonic() - started < 5 and len(httpserver.log) == 1


def test_retry_after_as_seconds_or_http_date() -> None:
    import email.utils

    from publisher.sources._fetch import retry_after_seconds

    assert retry_after_seconds("7") == 7.0
    in_a_minute = email.utils.formatdate(time.time() + 60, usegmt=True)
    assert 55 <= (retry_after_seconds(in_a_minute) or 0) <= 61
    assert retry_after_seconds("pronto") is None

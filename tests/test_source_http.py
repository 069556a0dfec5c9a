"""The ``http`` source kind against real HTTP servers on 127.0.0.1 (pytest-httpserver)."""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publisher.config import load_config
from publisher.errors import ConfigError, SourceError, TransientSourceError, is_transient
from publisher.sources import SourceContext, registry
from publisher.sources._download import mask_url, parse_retry_after, retry_delay
from publisher.sources.base import Extraction
from publisher.sources.http import HttpOptions, HttpSource

BODY = "id;barrio;especie\n1;Echesortu;Jacarandá\n2;Alberdi;Ceibo\n".encode("cp1252")
TOKEN = "s3cr3t-t0ken-value"


@pytest.fixture
def server(httpserver_ipv4: HTTPServer) -> Iterator[HTTPServer]:
    yield httpserver_ipv4
    httpserver_ipv4.check_assertions()


@pytest.fixture
def other_server() -> Iterator[HTTPServer]:
    """A second server: another origin (another port) for redirect tests."""
    with HTTPServer(host="127.0.0.1", port=0) as other:
        yield other


def source(url: str, tmp_path: Path, *, environ: dict[str, str] | None = None,
           previous_state: dict[str, str] | None = None, package_exists: bool = True,
           full_refresh: bool = False, **options: Any) -> HttpSource:
    validated = HttpOptions.model_validate({"kind": "http", "url": url, "backoff": 0.01, **options})
    context = SourceContext(
        dataset="arbolado", base_dir=tmp_path, environ=environ or {}, previous_state=previous_state or {},
        previous_package_dir=tmp_path / "previous" if package_exists else None, full_refresh=full_refresh,
    )
    return HttpSource(validated, context)


def extract(src: HttpSource, tmp_path: Path, folder: str = "staging") -> Extraction:
    return src.extract(tmp_path / folder)


def etag_handler(etag: str) -> Any:
    def handle(request: Request) -> Response:
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(BODY, headers={"ETag": etag}, content_type="text/csv")
    return handle


# --- plain downloads ---------------------------------------------------------

def test_registry_finds_the_http_kind() -> None:
    assert registry.get("http") is HttpSource


def test_a_csv_is_downloaded_byte_for_byte(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/datos/arbolado.csv").respond_with_data(BODY, content_type="text/csv")

    extraction = extract(source(server.url_for("/datos/arbolado.csv"), tmp_path, delimiter=";"), tmp_path)

    [staged] = extraction.files
    assert staged.path == tmp_path / "staging" / "arbolado.csv"
    assert staged.path.read_bytes() == BODY  # no decoding here: describe detects cp1252
    assert (staged.name, staged.read.format, staged.read.delimiter) == ("arbolado", "csv", ";")
    assert staged.origin == server.url_for("/datos/arbolado.csv")
    assert extraction.state["sha256"] == hashlib.sha256(BODY).hexdigest()
    assert "etag" not in extraction.state and "last_modified" not in extraction.state
    assert [p.name for p in (tmp_path / "staging").iterdir()] == ["arbolado.csv"]  # no partial file left
    request, _ = server.log[0]
    assert request.headers["User-Agent"].startswith("publisher/")


def test_the_format_comes_from_the_content_type_when_the_url_has_no_extension(
    server: HTTPServer, tmp_path: Path
) -> None:
    server.expect_request("/api/v1/Presupuesto Participativo").respond_with_json(
        {"success": True, "data": [{"id": 1}]})

    src = source(server.url_for("/api/v1/Presupuesto%20Participativo"), tmp_path, records_path="data")
    [staged] = extract(src, tmp_path).files

    assert (staged.name, staged.read.format, staged.read.records_path) == ("presupuesto-participativo", "json",
                                                                          "data")
    assert staged.path.suffix == ".json"


def test_an_unknown_format_fails_with_advice(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/export").respond_with_data(b"\x00\x01", content_type="application/octet-stream")
    with pytest.raises(SourceError) as caught:
        extract(source(server.url_for("/export"), tmp_path), tmp_path)
    assert "cannot tell the format" in caught.value.one_line()
    assert "set source.format" in caught.value.one_line()
    assert list((tmp_path / "staging").iterdir()) == []


# --- conditional requests ----------------------------------------------------

def test_etag_then_304_transfers_no_body(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_handler(etag_handler('"v1"'))
    url = server.url_for("/arbolado.csv")

    first = extract(source(url, tmp_path), tmp_path, "run1")
    assert first.state["etag"] == '"v1"'

    second = extract(source(url, tmp_path, previous_state=dict(first.state)), tmp_path, "run2")

    assert second.not_modified and second.files == ()
    assert second.state == first.state  # kept for the next run
    assert list((tmp_path / "run2").iterdir()) == []
    request, response = server.log[1]
    assert request.headers["If-None-Match"] == '"v1"'
    assert response.status_code == 304 and response.get_data() == b""


def test_last_modified_is_sent_back_as_if_modified_since(server: HTTPServer, tmp_path: Path) -> None:
    stamp = "Wed, 05 Feb 2025 10:00:00 GMT"

    def handle(request: Request) -> Response:
        if request.headers.get("If-Modified-Since") == stamp:
            return Response(status=304)
        return Response(BODY, headers={"Last-Modified": stamp}, content_type="text/csv")

    server.expect_request("/arbolado.csv").respond_with_handler(handle)
    url = server.url_for("/arbolado.csv")

    first = extract(source(url, tmp_path), tmp_path, "run1")
    second = extract(source(url, tmp_path, previous_state=dict(first.state)), tmp_path, "run2")

    assert first.state["last_modified"] == stamp
    assert second.not_modified
    assert server.log[1][0].headers["If-Modified-Since"] == stamp


def test_no_conditional_request_without_a_previous_package_or_on_full_refresh(
    server: HTTPServer, tmp_path: Path
) -> None:
    # a 304 would leave nothing to describe when the package is gone, or ignore a full refresh
    server.expect_request("/arbolado.csv").respond_with_handler(etag_handler('"v1"'))
    url = server.url_for("/arbolado.csv")
    state = {"etag": '"v1"'}

    gone = extract(source(url, tmp_path, previous_state=state, package_exists=False), tmp_path, "run1")
    refresh = extract(source(url, tmp_path, previous_state=state, full_refresh=True), tmp_path, "run2")

    assert not gone.not_modified and not refresh.not_modified
    assert len(gone.files) == len(refresh.files) == 1
    assert all("If-None-Match" not in request.headers for request, _ in server.log)


def test_a_changed_configuration_downloads_again(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_handler(etag_handler('"v1"'))
    url = server.url_for("/arbolado.csv")
    first = extract(source(url, tmp_path), tmp_path, "run1")

    # the steward changed how the file is read: the unchanged remote file must be described again
    second = extract(source(url, tmp_path, previous_state=dict(first.state), delimiter=";"), tmp_path, "run2")

    assert not second.not_modified
    assert "If-None-Match" not in server.log[1][0].headers


def test_an_unchanged_body_without_validators_is_still_returned(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")
    url = server.url_for("/arbolado.csv")
    first = extract(source(url, tmp_path), tmp_path, "run1")
    second = extract(source(url, tmp_path, previous_state=dict(first.state)), tmp_path, "run2")
    assert not second.not_modified and len(second.files) == 1  # the runner compares package hashes
    assert second.state["sha256"] == first.state["sha256"]


# --- retries: transient failures only ------------------------------------------

def test_a_500_is_retried_then_succeeds(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_oneshot_request("/arbolado.csv").respond_with_data("boom", status=500)
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")

    extraction = extract(source(server.url_for("/arbolado.csv"), tmp_path), tmp_path)

    assert extraction.files[0].path.read_bytes() == BODY
    assert [response.status_code for _, response in server.log] == [500, 200]


def test_5xx_that_persists_is_transient_after_all_retries(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data("down", status=503)

    with pytest.raises(TransientSourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path, retries=2), tmp_path)

    assert is_transient(caught.value)
    assert len(server.log) == 3
    line = caught.value.one_line()
    assert "answered 503" in line and "(3 attempts)" in line and "next run will try again" in line


def test_a_404_fails_at_once(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data("not here", status=404)

    with pytest.raises(SourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path, retries=3), tmp_path)

    assert not is_transient(caught.value)
    assert len(server.log) == 1
    assert caught.value.one_line() == (
        f"[extract]: GET {server.url_for('/arbolado.csv')} answered 404 NOT FOUND "
        "(check source.url: the file may have moved)"
    )


def test_a_429_honours_retry_after(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_oneshot_request("/arbolado.csv").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "0"})
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")

    started = time.monotonic()
    # backoff alone would wait 30 s: Retry-After: 0 wins
    extraction = extract(source(server.url_for("/arbolado.csv"), tmp_path, backoff=30), tmp_path)

    assert time.monotonic() - started < 5
    assert len(extraction.files) == 1
    assert [response.status_code for _, response in server.log] == [429, 200]


def test_a_read_timeout_is_transient_after_retries(tmp_path: Path) -> None:
    def slow(request: Request) -> Response:
        time.sleep(0.6)
        return Response(BODY, content_type="text/csv")

    # its own threaded server: the sleeping handler must not delay other tests
    with HTTPServer(host="127.0.0.1", port=0, threaded=True) as slow_server:
        slow_server.expect_request("/arbolado.csv").respond_with_handler(slow)
        src = source(slow_server.url_for("/arbolado.csv"), tmp_path, read_timeout=0.1, retries=1)
        started = time.monotonic()
        with pytest.raises(TransientSourceError) as caught:
            extract(src, tmp_path)
        elapsed = time.monotonic() - started

    assert "timed out: no data for 0.1 s (2 attempts)" in caught.value.one_line()
    assert "raise source.read_timeout" in caught.value.one_line()
    assert elapsed < 0.6 * 2


def test_connection_refused_is_transient(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # nothing listens on the port now
    with pytest.raises(TransientSourceError) as caught:
        extract(source(f"http://127.0.0.1:{port}/arbolado.csv", tmp_path, retries=1), tmp_path)
    assert "cannot connect ([Errno 111] Connection refused) (2 attempts)" in caught.value.one_line()


# --- size limits and empty bodies ---------------------------------------------

def test_an_oversize_body_is_refused_from_its_content_length(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")

    with pytest.raises(SourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path, max_bytes=10), tmp_path)

    assert not is_transient(caught.value)
    assert f"the body is {len(BODY)} bytes, over max_bytes = 10" in caught.value.one_line()
    assert list((tmp_path / "staging").iterdir()) == []
    assert len(server.log) == 1


def test_an_oversize_streamed_body_is_cut_off(server: HTTPServer, tmp_path: Path) -> None:
    chunks_sent: list[int] = []

    def endless(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for index in range(1000):  # 64 MB if nobody stops it
                chunks_sent.append(index)
                yield b"x" * 65536
        return Response(chunks(), content_type="text/csv")  # no Content-Length

    server.expect_request("/arbolado.csv").respond_with_handler(endless)

    with pytest.raises(SourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path, max_bytes=300_000), tmp_path)

    assert "the body exceeds max_bytes = 300,000; download stopped" in caught.value.one_line()
    assert list((tmp_path / "staging").iterdir()) == []
    assert len(chunks_sent) < 1000


def test_an_empty_body_is_an_error(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data(b"", content_type="text/csv")

    with pytest.raises(SourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path), tmp_path)

    assert not is_transient(caught.value)
    assert "the server returned an empty body" in caught.value.one_line()
    assert len(server.log) == 1


# --- authentication and secrets ------------------------------------------------

def test_a_bearer_token_is_sent_from_the_environment(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv", headers={"Authorization": f"Bearer {TOKEN}"}).respond_with_data(
        BODY, content_type="text/csv")

    src = source(server.url_for("/arbolado.csv"), tmp_path, environ={"ARBOLADO_TOKEN": TOKEN},
                 auth={"type": "bearer", "token": {"env": "ARBOLADO_TOKEN"}})
    extraction = extract(src, tmp_path)

    assert extraction.files[0].path.read_bytes() == BODY
    assert TOKEN not in repr(src.options) and TOKEN not in str(extraction.state)


def test_a_refused_token_never_appears_in_the_error(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data("bad token", status=401)

    src = source(server.url_for("/arbolado.csv") + f"?access_token={TOKEN}&anio=2025", tmp_path,
                 environ={"ARBOLADO_TOKEN": TOKEN}, auth={"type": "bearer", "token": {"env": "ARBOLADO_TOKEN"}})
    with pytest.raises(SourceError) as caught:
        extract(src, tmp_path)

    line = caught.value.one_line()
    assert TOKEN not in line and TOKEN not in src.describe_origin()
    assert "answered 401" in line and "check $ARBOLADO_TOKEN" in line
    assert "access_token=***&anio=2025" in line
    assert len(server.log) == 1  # 401 is not retried


def test_basic_and_header_auth(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/basic.csv", headers={"Authorization": "Basic ZGF0b3M6Y2xhdmU="}).respond_with_data(
        BODY, content_type="text/csv")
    server.expect_request("/key.csv", headers={"X-API-Key": TOKEN}).respond_with_data(
        BODY, content_type="text/csv")
    environ = {"PASS": "clave", "KEY": TOKEN}

    basic = source(server.url_for("/basic.csv"), tmp_path, environ=environ,
                   auth={"type": "basic", "username": "datos", "password": {"env": "PASS"}})
    keyed = source(server.url_for("/key.csv"), tmp_path, environ=environ,
                   auth={"type": "header", "name": "X-API-Key", "value": {"env": "KEY"}})

    assert len(extract(basic, tmp_path, "s1").files) == 1
    assert len(extract(keyed, tmp_path, "s2").files) == 1


def test_secret_headers_do_not_follow_a_redirect_to_another_origin(
    server: HTTPServer, other_server: HTTPServer, tmp_path: Path
) -> None:
    server.expect_request("/same").respond_with_data("", status=302, headers={"Location": "/arbolado.csv"})
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")
    server.expect_request("/away").respond_with_data(
        "", status=302, headers={"Location": other_server.url_for("/arbolado.csv")})
    other_server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")
    environ = {"ARBOLADO_TOKEN": TOKEN, "TENANT": "rosario"}
    options: dict[str, Any] = {"auth": {"type": "bearer", "token": {"env": "ARBOLADO_TOKEN"}},
                               "headers": {"Accept": "text/csv", "X-Tenant": {"env": "TENANT"}}}

    extract(source(server.url_for("/same"), tmp_path, environ=environ, **options), tmp_path, "s1")
    away = extract(source(server.url_for("/away"), tmp_path, environ=environ, format="csv", **options),
                   tmp_path, "s2")

    same_origin_request = server.log[1][0]
    assert same_origin_request.headers["Authorization"] == f"Bearer {TOKEN}"
    [(foreign_request, _)] = other_server.log
    assert "Authorization" not in foreign_request.headers
    assert "X-Tenant" not in foreign_request.headers  # its value came from the environment
    assert foreign_request.headers["Accept"] == "text/csv"
    assert away.files[0].path.read_bytes() == BODY


def test_a_url_from_the_environment(server: HTTPServer, tmp_path: Path) -> None:
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")
    url = server.url_for("/arbolado.csv")

    ok = source({"env": "ARBOLADO_URL"}, tmp_path, environ={"ARBOLADO_URL": url})  # type: ignore[arg-type]
    missing = source({"env": "ARBOLADO_URL"}, tmp_path)  # type: ignore[arg-type]

    assert len(extract(ok, tmp_path).files) == 1
    with pytest.raises(ConfigError) as caught:
        extract(missing, tmp_path, "s2")
    assert caught.value.message == "source.url: environment variable ARBOLADO_URL is not set"
    assert missing.describe_origin() == "the URL in $ARBOLADO_URL"


def test_urls_are_masked() -> None:
    assert mask_url("https://ana:clave@datos.example/a.csv?token=abc&anio=2025&apiKey=x&access_token=y#f") == (
        "https://***@datos.example/a.csv?token=***&anio=2025&apiKey=***&access_token=***"
    )
    assert mask_url("https://datos.example/a.csv?monkey=1&key=2&x-api-key=3&client_secret=4") == (
        "https://datos.example/a.csv?monkey=1&key=***&x-api-key=***&client_secret=***"
    )


def test_retry_delays() -> None:
    assert [retry_delay(1.0, attempt, None) for attempt in (1, 2, 3)] == [1.0, 2.0, 4.0]
    assert retry_delay(1.0, 30, None) == 60.0  # capped
    assert retry_delay(1.0, 1, 7.0) == 7.0
    assert retry_delay(1.0, 1, 10_000.0) == 120.0  # a server cannot park the nightly run
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("soon") is None
    import datetime as dt
    now = dt.datetime(2025, 2, 5, 10, 0, 0, tzinfo=dt.UTC)
    assert parse_retry_after("Wed, 05 Feb 2025 10:00:30 GMT", now) == 30.0


# --- configuration ---------------------------------------------------------------

def config_problems(tmp_path: Path, source_toml: str) -> list[str]:
    path = tmp_path / "harvest_config.toml"
    path.write_text(f'[[datasets]]\nname = "arbolado"\ntitle = "Arbolado"\nsource = {source_toml}\n',
                    encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    return caught.value.problems


def test_a_valid_http_config_loads_with_defaults(tmp_path: Path) -> None:
    path = tmp_path / "harvest_config.toml"
    path.write_text(
        '[[datasets]]\nname = "arbolado"\ntitle = "Arbolado"\n'
        'source = { kind = "http", url = "https://datos.example/arbolado.csv", '
        'auth = { type = "bearer", token = { env = "ARBOLADO_TOKEN" } }, delimiter = ";" }\n',
        encoding="utf-8",
    )
    options = load_config(path).datasets[0].source
    assert isinstance(options, HttpOptions)
    assert (options.connect_timeout, options.read_timeout, options.max_bytes, options.retries, options.backoff) == (
        10.0, 60.0, 500_000_000, 3, 1.0)
    assert options.delimiter == ";"


@pytest.mark.parametrize(("source_toml", "expected"), [
    ('{ kind = "http", url = "ftp://datos.example/a.csv" }',
     "datasets[0].source.url: expected an http(s) URL, got 'ftp://datos.example/a.csv'"),
    ('{ kind = "http", url = "https://d.example/a.csv", auth = { type = "bearer", token = "abc123" } }',
     'datasets[0].source.auth.bearer.token: a literal secret is not accepted: use { env = "NAME" }'),
    ('{ kind = "http", url = "https://d.example/a.csv", headers = { Authorization = "Bearer abc123" } }',
     "datasets[0].source.headers: header 'Authorization' looks secret"),
    ('{ kind = "http", url = "https://d.example/a.csv", timeout = 5 }',
     "datasets[0].source.timeout: unknown key (check its spelling)"),
    ('{ kind = "http", url = "https://d.example/a.csv", retries = 50 }',
     "datasets[0].source.retries: Input should be less than or equal to 10"),
])
def test_bad_http_options_are_reported_with_their_key_path(tmp_path: Path, source_toml: str, expected: str) -> None:
    problems = config_problems(tmp_path, source_toml)
    assert len(problems) == 1
    assert problems[0].startswith(f"harvest_config.toml: {expected}")
    assert "abc123" not in problems[0]


# --- transfer encodings and broken transfers -----------------------------------

def test_a_gzip_encoded_body_is_staged_decoded(server: HTTPServer, tmp_path: Path) -> None:
    import gzip

    server.expect_request("/arbolado.csv").respond_with_data(
        gzip.compress(BODY), content_type="text/csv", headers={"Content-Encoding": "gzip"})

    extraction = extract(source(server.url_for("/arbolado.csv"), tmp_path), tmp_path)

    assert extraction.files[0].path.read_bytes() == BODY
    assert extraction.state["sha256"] == hashlib.sha256(BODY).hexdigest()


def test_a_truncated_body_is_transient(server: HTTPServer, tmp_path: Path) -> None:
    # the server promises more bytes than it sends, then closes the connection
    # (an iterable body: werkzeug would correct the Content-Length of a bytes body)
    server.expect_request("/arbolado.csv").respond_with_handler(lambda request: Response(
        iter([BODY[:20]]), headers={"Content-Length": str(len(BODY) * 10)}, content_type="text/csv"))

    with pytest.raises(TransientSourceError) as caught:
        extract(source(server.url_for("/arbolado.csv"), tmp_path, retries=1, read_timeout=2), tmp_path)

    assert re.search(r"the connection broke after \d+ bytes \(2 attempts\)", caught.value.one_line())
    assert list((tmp_path / "staging").iterdir()) == []
    assert len(server.log) == 2


def test_logs_never_carry_the_token(server: HTTPServer, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import logging

    from publisher.sources._download import mask_urls_in

    # A CLI test earlier in the session may have installed the CLI's masking filter on the root
    # handlers; it rewrites records in place, which would hide urllib3's raw lines from this test.
    for handler in logging.getLogger().handlers:
        monkeypatch.setattr(handler, "filters", [])

    server.expect_oneshot_request("/arbolado.csv").respond_with_data("busy", status=503)
    server.expect_request("/arbolado.csv").respond_with_data(BODY, content_type="text/csv")
    caplog.set_level(logging.DEBUG)

    url = server.url_for("/arbolado.csv") + f"?token={TOKEN}"
    extract(source(url, tmp_path, environ={"T": TOKEN}, auth={"type": "bearer", "token": {"env": "T"}}), tmp_path)

    ours = [r.getMessage() for r in caplog.records if r.name.startswith("publisher")]
    assert any("retry 1 of 3" in line for line in ours)
    assert not any(TOKEN in line for line in ours)
    # urllib3's own debug lines quote the path and query: mask_urls_in is the filter for them
    theirs = [r.getMessage() for r in caplog.records if r.name.startswith("urllib3")]
    assert any(TOKEN in line for line in theirs)
    assert not any(TOKEN in mask_urls_in(line) for line in theirs)
    assert mask_urls_in("https://ana:clave@d.example/a?x=1&api_key=k") == "https://***@d.example/a?x=1&api_key=***"

"""Notifications: content computed from outcomes, sent to a real SMTP server and a real HTTP server."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from email import message_from_bytes
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from pytest_httpserver import HTTPServer

from publisher.config import load_config
from publisher.errors import Stage
from publisher.notify import notify, run_status, should_notify, summarise
from publisher.outcomes import DatasetResult, Outcome, RunReport
from tests.test_state_support import write_config

START = dt.datetime(2026, 3, 2, 6, 0, tzinfo=dt.UTC)


def mixed_report() -> RunReport:
    return RunReport(trigger="scheduled", started_at=START, finished_at=START + dt.timedelta(minutes=3), run_id=7,
                     results=[
        DatasetResult("obras", Outcome.PUBLISHED, Stage.PUBLISH, "published", ckan_url="http://ckan/dataset/obras"),
        DatasetResult("arbolado", Outcome.UNCHANGED, Stage.EXTRACT, "source not modified"),
        DatasetResult("reclamos", Outcome.BLOCKED, Stage.SCREEN, "dataset 'reclamos' [screen]: column 'dni' "
                      "holds national ID numbers (DNI) in 98% of rows", error_type="PrivacyBlocked"),
        DatasetResult("compras", Outcome.FAILED, Stage.PUBLISH, "dataset 'compras' [publish]: CKAN answered 500",
                      error_type="TransientPortalError"),
        DatasetResult("aire", Outcome.SKIPPED, Stage.EXTRACT, "dataset 'aire' (lock): locked by pid 4 on web1 since x",
                      error_type="StateError"),
    ])


def all_good() -> RunReport:
    return RunReport(started_at=START, results=[DatasetResult("obras", Outcome.PUBLISHED, Stage.PUBLISH)])


def test_summary_of_mixed_outcomes_never_reports_success() -> None:
    summary = summarise(mixed_report())
    assert summary["status"] == "failed"
    assert summary["counts"] == {"published": 1, "unchanged": 1, "blocked": 1, "failed": 1, "skipped": 1}
    assert summary["subject"].startswith("[publisher] NEEDS ATTENTION: 1 failed, 1 blocked, 1 skipped, 1 published")
    assert [(p["dataset"], p["outcome"], p["stage"]) for p in summary["problems"]] == [
        ("reclamos", "blocked", "screen"), ("compras", "failed", "publish"), ("aire", "skipped", "extract")]
    assert summary["run_id"] == 7 and len(summary["datasets"]) == 5


@pytest.mark.parametrize(("outcomes", "status"), [
    ([Outcome.PUBLISHED, Outcome.UNCHANGED, Outcome.WRITTEN], "ok"),
    ([Outcome.PUBLISHED, Outcome.SKIPPED], "partial"),
    ([Outcome.PUBLISHED] * 50 + [Outcome.FAILED], "failed"),
    ([Outcome.BLOCKED], "failed"),
])
def test_run_status_is_failed_whenever_any_dataset_failed_or_was_blocked(outcomes: list[Outcome], status: str) -> None:
    report = RunReport(results=[DatasetResult(f"d{i}", o) for i, o in enumerate(outcomes)])
    assert run_status(report) == status


def config_with(tmp_path: Path, notifications: str) -> Any:
    return load_config(write_config(tmp_path, "", notifications))


@pytest.mark.parametrize(("when", "mixed", "good"), [("on_failure", True, False), ("always", True, True),
                                                      ("never", False, False)])
def test_when_to_notify(tmp_path: Path, when: str, mixed: bool, good: bool) -> None:
    settings = config_with(tmp_path, f'[notifications]\nwhen = "{when}"').notifications
    assert (should_notify(settings, mixed_report()), should_notify(settings, all_good())) == (mixed, good)
    assert should_notify(settings, RunReport()) is False  # nothing ran: nothing to say


# --- a real SMTP server -------------------------------------------------------------

class Inbox:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []
        self.logins: list[tuple[bytes, bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        assert isinstance(auth_data, LoginPassword)
        self.logins.append((auth_data.login, auth_data.password))
        return AuthResult(success=auth_data.password == b"s3cret")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, authenticator=inbox, auth_require_tls=False)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


SMTP = """[notifications]
when = "on_failure"
[notifications.smtp]
host = "127.0.0.1"
port = {port}
starttls = false
username = "publisher"
password = {{ env = "SMTP_PASSWORD" }}
from = "publisher@rosario.gob.ar"
to = ["datos@rosario.gob.ar", "guardia@rosario.gob.ar"]
timeout = 5
"""


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_goes_to_a_real_smtp_server_with_credentials_from_the_environment(
        tmp_path: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    config = config_with(tmp_path, SMTP.format(port=port))
    sent = notify(config, mixed_report(), environ={"SMTP_PASSWORD": "s3cret"})
    assert sent == [f"email to 2 recipients via 127.0.0.1:{port}"]
    (envelope,) = inbox.envelopes
    assert inbox.logins == [(b"publisher", b"s3cret")]
    assert envelope.rcpt_tos == ["datos@rosario.gob.ar", "guardia@rosario.gob.ar"]
    message = message_from_bytes(envelope.content)
    assert message["Subject"].startswith("[publisher] NEEDS ATTENTION: 1 failed, 1 blocked")
    body = message.get_payload(decode=True).decode()
    assert "  - compras: failed at publish: dataset 'compras' [publish]: CKAN answered 500" in body
    assert "  - reclamos: blocked at screen:" in body
    assert "s3cret" not in body


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_a_good_run_sends_nothing_on_failure_only(tmp_path: Path, smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = smtp_server
    assert notify(config_with(tmp_path, SMTP.format(port=port)), all_good(), environ={"SMTP_PASSWORD": "s3cret"}) == []
    assert inbox.envelopes == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_wrong_credentials_are_logged_without_the_password(tmp_path: Path, smtp_server: tuple[Inbox, int],
                                                          caplog: pytest.LogCaptureFixture) -> None:
    inbox, port = smtp_server
    assert notify(config_with(tmp_path, SMTP.format(port=port)), mixed_report(),
                  environ={"SMTP_PASSWORD": "wrong-pass"}) == []
    assert "notification e-mail via 127.0.0.1" in caplog.text and "wrong-pass" not in caplog.text
    assert inbox.envelopes == []


# --- a real HTTP server -------------------------------------------------------------------

def test_webhook_posts_the_json_summary_and_never_echoes_the_token(tmp_path: Path, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/hooks/T0KEN123", method="POST").respond_with_json({"ok": True})
    config = config_with(tmp_path, '[notifications]\nwhen = "always"\n'
                                   '[notifications.webhook]\nurl = { env = "WEBHOOK_URL" }\ntimeout = 5\n')
    sent = notify(config, mixed_report(), environ={"WEBHOOK_URL": httpserver.url_for("/hooks/T0KEN123")})
    assert sent == [f"webhook http://{httpserver.host}:{httpserver.port}"]
    assert "T0KEN123" not in sent[0]
    (request, _response), = httpserver.log
    payload = request.get_json()
    assert payload["status"] == "failed" and payload["counts"]["failed"] == 1
    assert payload["problems"][1] == {"dataset": "compras", "outcome": "failed", "stage": "publish",
                                      "error_type": "TransientPortalError",
                                      "message": "dataset 'compras' [publish]: CKAN answered 500"}
    assert request.headers["Content-Type"] == "application/json"


def test_one_channel_failing_does_not_stop_the_other(tmp_path: Path, httpserver: HTTPServer,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("", status=204)
    closed = free_port()
    config = config_with(tmp_path, f"""[notifications]
[notifications.smtp]
host = "127.0.0.1"
port = {closed}
starttls = false
from = "p@example.org"
to = ["d@example.org"]
timeout = 2
[notifications.webhook]
url = "{httpserver.url_for('/hook')}"
""")
    assert notify(config, mixed_report()) == [f"webhook http://{httpserver.host}:{httpserver.port}"]
    assert f"notification e-mail via 127.0.0.1:{closed} failed: ConnectionRefusedError" in caplog.text


def test_a_webhook_answering_500_is_logged_not_raised(tmp_path: Path, httpserver: HTTPServer,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("boom", status=500)
    config = config_with(tmp_path, f'[notifications.webhook]\nurl = "{httpserver.url_for("/hook")}"\n')
    assert notify(config, mixed_report()) == []
    assert "notification webhook failed: HTTP 500" in caplog.text


@pytest.fixture
def tls_smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server that requires STARTTLS, with a self-signed certificate the client trusts."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # what ssl.create_default_context() trusts
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=context, require_starttls=True,
                            authenticator=inbox)
    controller.start()
    try:
        yield inbox, port
    finally:
        controller.stop()


def test_email_over_starttls_with_login(tmp_path: Path, tls_smtp_server: tuple[Inbox, int]) -> None:
    inbox, port = tls_smtp_server
    config = config_with(tmp_path, SMTP.format(port=port).replace("starttls = false", "starttls = true"))
    assert notify(config, mixed_report(), environ={"SMTP_PASSWORD": "s3cret"}) == [
        f"email to 2 recipients via 127.0.0.1:{port}"]
    assert inbox.logins == [(b"publisher", b"s3cret")] and len(inbox.envelopes) == 1


def test_plain_smtp_to_a_server_that_requires_starttls_is_refused(tmp_path: Path,
                                                                   tls_smtp_server: tuple[Inbox, int],
                                                                   caplog: pytest.LogCaptureFixture) -> None:
    inbox, port = tls_smtp_server
    config = config_with(tmp_path, SMTP.format(port=port))  # starttls = false
    assert notify(config, mixed_report(), environ={"SMTP_PASSWORD": "s3cret"}) == []
    assert inbox.envelopes == [] and "notification e-mail" in caplog.text

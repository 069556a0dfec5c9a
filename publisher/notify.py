"""Tell a person when a run needs them: e-mail over SMTP and/or a JSON webhook.

    sent = notify(config, report)   # e.g. ["email to 2 recipients", "webhook http://127.0.0.1:8080"]

The summary is computed from the run's recorded outcomes: its status is
"failed" when any dataset failed or was blocked, whatever else succeeded.
``[notifications].when``: ``on_failure`` (default: only runs with a failed or
blocked dataset), ``always``, or ``never``. A channel that cannot be reached
is logged and the other channels still go out; nothing is raised, because a
notification problem must not change the run's outcome.
"""

from __future__ import annotations

import json
import logging
import smtplib
import socket
import ssl
from collections.abc import Mapping
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

import requests

from publisher import __version__
from publisher.config import Config, NotificationsConfig, SmtpConfig, WebhookConfig, resolve
from publisher.errors import ConfigError
from publisher.outcomes import Outcome, RunReport

log = logging.getLogger(__name__)

NEEDS_ATTENTION = (Outcome.FAILED, Outcome.BLOCKED)
ORDER = ("failed", "blocked", "skipped", "published", "written", "unchanged")


def run_status(report: RunReport) -> str:
    """``failed`` when any dataset failed or was blocked, ``ok`` when all succeeded, else ``partial``."""
    if any(r.outcome in NEEDS_ATTENTION for r in report.results):
        return "failed"
    return "ok" if report.ok else "partial"


def should_notify(notifications: NotificationsConfig, report: RunReport) -> bool:
    if notifications.when == "never" or not report.results:
        return False
    return notifications.when == "always" or run_status(report) == "failed"


def summarise(report: RunReport) -> dict[str, Any]:
    """The notification's content: status, counts, and one line per dataset that needs a person."""
    counts = report.counts()
    status = run_status(report)
    count_text = ", ".join(f"{counts[k]} {k}" for k in ORDER if counts.get(k))
    when = report.started_at.strftime("%Y-%m-%d %H:%M UTC")
    headline = {"failed": "NEEDS ATTENTION", "partial": "incomplete", "ok": "ok"}[status]
    return {
        "status": status,
        "subject": f"[publisher] {headline}: {count_text} ({report.trigger} run {when})",
        "trigger": report.trigger,
        "run_id": report.run_id,
        "started_at": report.started_at.isoformat(),
        "finished_at": report.finished_at.isoformat() if report.finished_at else None,
        "counts": counts,
        "problems": [
            {"dataset": r.dataset, "outcome": str(r.outcome), "stage": str(r.stage),
             "error_type": r.error_type, "message": r.message}
            for r in report.results if not r.ok
        ],
        "datasets": [{"dataset": r.dataset, "outcome": str(r.outcome), "ckan_url": r.ckan_url}
                     for r in report.results],
    }


def email_body(summary: Mapping[str, Any]) -> str:
    lines = [summary["subject"].removeprefix("[publisher] "), ""]
    if summary["problems"]:
        lines.append("Needs a person:")
        lines += [f"  - {p['dataset']}: {p['outcome']} at {p['stage']}: {p['message']}" for p in summary["problems"]]
        lines.append("")
    lines.append("All datasets:")
    lines += [f"  {d['outcome']:<10} {d['dataset']}" for d in summary["datasets"]]
    lines += ["", "Run `publisher status` and `publisher history NAME` for details.",
              f"-- publisher {__version__} on {socket.gethostname()}"]
    return "\n".join(lines) + "\n"


def send_email(smtp: SmtpConfig, summary: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> str:
    message = EmailMessage()
    message["Subject"] = summary["subject"]
    message["From"] = smtp.from_
    message["To"] = ", ".join(smtp.to)
    message.set_content(email_body(summary))
    with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout) as client:
        if smtp.starttls:
            client.starttls(context=ssl.create_default_context())
        if smtp.username is not None:
            client.login(resolve(smtp.username, "notifications.smtp.username", environ),
                         resolve(smtp.password, "notifications.smtp.password", environ))
        client.send_message(message)
    return f"email to {len(smtp.to)} recipient{'s' if len(smtp.to) != 1 else ''} via {smtp.host}:{smtp.port}"


def post_webhook(webhook: WebhookConfig, summary: Mapping[str, Any], environ: Mapping[str, str] | None = None,
                 session: requests.Session | None = None) -> str:
    url = resolve(webhook.url, "notifications.webhook.url", environ)
    payload = {"source": "publisher", "version": __version__, "host": socket.gethostname(), **summary}
    http = session or requests.Session()
    try:
        response = http.post(url, data=json.dumps(payload, default=str), timeout=webhook.timeout,
                             headers={"Content-Type": "application/json"})
        response.raise_for_status()
    finally:
        if session is None:
            http.close()
    parts = urlsplit(url)
    return f"webhook {parts.scheme}://{parts.netloc}"  # never the path or query: they may hold a token


def notify(config: Config, report: RunReport, *, environ: Mapping[str, str] | None = None) -> list[str]:
    """Send the run's summary where ``[notifications]`` says; returns what was sent."""
    settings = config.notifications
    if not should_notify(settings, report):
        return []
    summary = summarise(report)
    sent: list[str] = []
    if settings.smtp is not None:
        try:
            sent.append(send_email(settings.smtp, summary, environ))
        except (OSError, smtplib.SMTPException, ConfigError) as e:
            log.error("notification e-mail via %s:%s failed: %s", settings.smtp.host, settings.smtp.port,
                      _reason(e))
    if settings.webhook is not None:
        try:
            sent.append(post_webhook(settings.webhook, summary, environ))
        except (requests.RequestException, ConfigError) as e:
            log.error("notification webhook failed: %s", _reason(e))
    return sent


def _reason(error: Exception) -> str:
    if isinstance(error, ConfigError):
        return error.one_line()
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    return type(error).__name__  # requests' messages repeat the URL, which may hold a token

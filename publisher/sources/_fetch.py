"""HTTP requests for the api and geo sources: timeouts, a rate limit, retries, a size limit.

- Every request has a (connect, read) timeout.
- ``rate_limit`` spaces request starts at least ``1 / rate_limit`` seconds apart.
- Connection errors, timeouts, 429 and 5xx are retried (``retries`` times) after
  the server's ``Retry-After`` (seconds or an HTTP date, capped) or an
  exponential backoff; when retries run out: ``TransientSourceError``.
- Other 4xx fail at once with ``SourceError``.
- Bodies larger than ``max_bytes`` are refused.
- ``json_body`` refuses HTML pages (login or error pages) and invalid JSON.

Messages name the URL without its query string (tokens live there) and never
a header value.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import requests

from publisher.errors import SourceError, TransientSourceError
from publisher.sources._common import message_url

log = logging.getLogger(__name__)

RETRY_STATUS = frozenset({429, 500, 502, 503, 504})
_HINTS = {401: "check the credentials (auth) in the environment", 403: "check the credentials and their permissions",
          404: "check the URL"}


@dataclass
class Fetcher:
    """Sends requests with one session; see the module docstring."""

    session: requests.Session
    timeout: float = 30.0
    retries: int = 3
    rate_limit: float | None = None  # requests per second
    max_retry_wait: float = 120.0
    max_bytes: int = 500 * 1024 * 1024
    backoff: float = 1.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    requests_sent: int = 0
    _last_start: float | None = field(default=None, repr=False)

    def request(self, method: str, url: str, *, params: Mapping[str, Any] | None = None,
                headers: Mapping[str, str] | None = None, json_body: Any = None,
                auth: tuple[str, str] | None = None) -> requests.Response:
        """The response of a successful request (2xx/3xx), its body read within ``max_bytes``."""
        attempt = 0
        while True:
            attempt += 1
            self._wait_for_rate_limit()
            try:
                response = self.session.request(method, url, params=params, headers=dict(headers or {}),
                                                json=json_body, auth=auth, timeout=(min(10.0, self.timeout),
                                                                                    self.timeout), stream=True)
            except (requests.ConnectionError, requests.Timeout) as e:
                reason = "timed out" if isinstance(e, requests.Timeout) else "connection failed"
                if attempt > self.retries:
                    raise TransientSourceError(f"{method} {message_url(url)}: {reason} after {attempt} attempts",
                                               hint="is the server up and reachable from this machine?") from e
                self._pause(attempt, None, f"{reason}")
                continue
            if response.status_code in RETRY_STATUS:
                response.close()
                if attempt > self.retries:
                    raise TransientSourceError(
                        f"{method} {message_url(url)} answered HTTP {response.status_code} after {attempt} attempts",
                        hint="the server is overloaded or failing; the next run will try again")
                self._pause(attempt, response.headers.get("Retry-After"), f"HTTP {response.status_code}")
                continue
            if response.status_code >= 400:
                response.close()
                raise SourceError(f"{method} {message_url(url)} answered HTTP {response.status_code} "
                                  f"{response.reason or ''}".strip(),
                                  hint=_HINTS.get(response.status_code, "check the URL and the parameters"))
            self._read_body(response, url)
            return response

    def _wait_for_rate_limit(self) -> None:
        now = self.clock()
        if self.rate_limit and self._last_start is not None:
            wait = self._last_start + 1.0 / self.rate_limit - now
            if wait > 0:
                self.sleep(wait)
                now = self.clock()
        self._last_start = now
        self.requests_sent += 1

    def _pause(self, attempt: int, retry_after: str | None, reason: str) -> None:
        wait = retry_after_seconds(retry_after) if retry_after else None
        if wait is None:
            wait = self.backoff * 2 ** (attempt - 1)
        if wait > self.max_retry_wait:
            raise TransientSourceError(f"the server asks to wait {wait:.0f} s before retrying ({reason})",
                                       hint=f"more than max_retry_wait = {self.max_retry_wait:.0f} s; "
                                            "the next run will try again")
        log.info("%s; retrying in %.1f s (attempt %d of %d)", reason, wait, attempt + 1, self.retries + 1)
        self.sleep(wait)

    def _read_body(self, response: requests.Response, url: str) -> None:
        chunks: list[bytes] = []
        size = 0
        try:
            for chunk in response.iter_content(chunk_size=65536):
                size += len(chunk)
                if size > self.max_bytes:
                    raise SourceError(f"{message_url(url)}: the response is larger than "
                                      f"{self.max_bytes // (1024 * 1024)} MB", hint="raise max_bytes or page smaller")
                chunks.append(chunk)
        except (requests.ConnectionError, requests.Timeout) as e:
            raise TransientSourceError(f"{message_url(url)}: the transfer broke off ({type(e).__name__})") from e
        finally:
            response.close()
        response._content = b"".join(chunks)


def retry_after_seconds(value: str) -> float | None:
    """``Retry-After`` as seconds: a number, or an HTTP date (None when unreadable)."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def json_body(response: requests.Response, url: str) -> Any:
    """The decoded JSON body; SourceError for an HTML page or invalid JSON."""
    content_type = response.headers.get("Content-Type", "").split(";")[0].strip().lower()
    head = response.content[:512].lstrip()
    if "html" in content_type or head[:1] == b"<":
        raise SourceError(
            f"expected JSON from {message_url(url)} but the server answered an HTML page "
            f"(HTTP {response.status_code}, {content_type or 'no content type'})",
            hint="check the URL and the credentials: a login or error page is not data")
    charset = _declared_charset(response.headers.get("Content-Type", ""))
    try:
        if charset and charset not in ("utf-8", "utf8"):
            return json.loads(response.content.decode(charset))
        return json.loads(response.content)  # UTF-8 (or UTF-16/32, detected by json)
    except (ValueError, UnicodeDecodeError, LookupError) as e:
        raise SourceError(f"{message_url(url)} did not answer valid JSON ({str(e)[:120]})",
                          hint="check the URL and the parameters") from e


def _declared_charset(content_type: str) -> str | None:
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        if key.strip().lower() == "charset":
            return value.strip().strip('"').lower() or None
    return None

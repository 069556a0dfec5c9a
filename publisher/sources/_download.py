"""Download one URL into one file, safely.

- every request has a connect and a read timeout;
- only transient failures are retried (connection errors, timeouts, 429, 5xx),
  with exponential backoff; ``Retry-After`` is honoured up to a cap;
- the body is streamed in chunks and the download stops at ``max_bytes``;
- conditional requests: a 304 means "not modified" and nothing is transferred;
- redirects are followed by hand so that secret headers are never sent to
  another origin;
- messages name the URL with credentials and secret query values masked, and
  never carry a header value or a requests exception text (which holds the
  raw URL).
"""

from __future__ import annotations

import datetime as dt
import email.utils
import hashlib
import logging
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import requests

from publisher.errors import SourceError, TransientSourceError

logger = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024
MAX_REDIRECTS = 10
BACKOFF_CAP_SECONDS = 60.0
RETRY_AFTER_CAP_SECONDS = 120.0

# query parameter names whose values are secrets: token, api_key, apiKey, access_token, x-api-key, ...
_SECRET_PARAM_RE = re.compile(
    r"(^|[_.-])(key|token|secret|password|passwd|pwd|signature|sig|auth|credentials?)$"
    r"|(apikey|token|secret|password)$",
    re.IGNORECASE,
)
_SLOW_HINT = "the server is slow or down; raise source.read_timeout if it is just slow"
_DOWN_HINT = "the server is down or unreachable; the next run will try again"
_ERRNO_RE = re.compile(r"\[Errno -?\d+\] [^'\"\])]+")


def is_secret_param(name: str) -> bool:
    return bool(_SECRET_PARAM_RE.search(unquote(name)))


def mask_url(url: str) -> str:
    """The URL without ``user:pass@``, secret query values or fragment."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    pairs = []
    for pair in parts.query.split("&") if parts.query else []:
        name, sep, _value = pair.partition("=")
        pairs.append(f"{name}=***" if sep and is_secret_param(name) else pair)
    return urlunsplit((parts.scheme, netloc, parts.path, "&".join(pairs), ""))


_QUERY_PAIR_RE = re.compile(r"([?&])([^=&?#\s\"']+)=([^&#\s\"']*)")
_USERINFO_RE = re.compile(r"(//)[^/@\s\"']+@")


def mask_urls_in(text: str) -> str:
    """Mask credentials and secret query values in free text (a log line that quotes a URL or path)."""
    text = _USERINFO_RE.sub(r"\1***@", text)
    return _QUERY_PAIR_RE.sub(
        lambda m: f"{m.group(1)}{m.group(2)}=***" if is_secret_param(m.group(2)) else m.group(0), text
    )


@dataclass(frozen=True)
class DownloadRequest:
    """What to fetch and how; ``secret_headers`` are lowercase names never sent cross-origin."""

    url: str
    headers: Mapping[str, str] = field(default_factory=dict)
    secret_headers: frozenset[str] = frozenset()
    conditional: bool = False  # the headers carry If-None-Match / If-Modified-Since
    connect_timeout: float = 10.0
    read_timeout: float = 60.0
    max_bytes: int = 500_000_000
    retries: int = 3
    backoff: float = 1.0
    auth_hint: str = "the server wants credentials: set source.auth"


@dataclass(frozen=True)
class Downloaded:
    """The outcome of a download: a 304, or a body written to the target file."""

    not_modified: bool = False
    size: int = 0
    sha256: str = ""
    etag: str | None = None
    last_modified: str | None = None
    content_type: str | None = None
    filename: str | None = None  # from Content-Disposition
    final_url: str = ""


class _RetryableFailure(Exception):
    """One attempt failed in a way that another attempt may fix."""

    def __init__(self, reason: str, hint: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint
        self.retry_after = retry_after


def download(
    session: requests.Session,
    request: DownloadRequest,
    target: Path,
    *,
    label: str = "",
    sleep: Callable[[float], None] = time.sleep,
) -> Downloaded:
    """Fetch ``request.url`` into ``target``; raises SourceError / TransientSourceError."""
    shown = mask_url(request.url)
    attempts = request.retries + 1
    for attempt in range(1, attempts + 1):
        try:
            return _attempt(session, request, target, shown)
        except _RetryableFailure as failure:
            if attempt == attempts:
                tries = f"{attempts} attempts" if attempts > 1 else "1 attempt"
                raise TransientSourceError(f"GET {shown}: {failure.reason} ({tries})", hint=failure.hint) from None
            delay = retry_delay(request.backoff, attempt, failure.retry_after)
            logger.warning("%sGET %s: %s; retry %d of %d in %.1f s",
                           f"dataset {label}: " if label else "", shown, failure.reason,
                           attempt, request.retries, delay)
            sleep(delay)
    raise AssertionError("unreachable: the last attempt returns or raises")


def retry_delay(backoff: float, attempt: int, retry_after: float | None) -> float:
    """Backoff doubling per attempt, capped; the server's Retry-After wins, capped too."""
    if retry_after is not None:
        return min(max(retry_after, 0.0), RETRY_AFTER_CAP_SECONDS)
    return float(min(backoff * 2 ** (attempt - 1), BACKOFF_CAP_SECONDS))


def parse_retry_after(value: str | None, now: dt.datetime | None = None) -> float | None:
    """``Retry-After: 30`` or an HTTP date -> seconds to wait; None when absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


def _attempt(session: requests.Session, request: DownloadRequest, target: Path, shown: str) -> Downloaded:
    response = _get(session, request, shown)
    with response:
        status = response.status_code
        if status == 304 and request.conditional:
            return Downloaded(not_modified=True, final_url=response.url)
        _check_status(response, request, shown)
        _check_declared_length(response, request, shown)
        size, sha256 = _stream_body(response, request, target, shown)
        return Downloaded(
            size=size,
            sha256=sha256,
            etag=response.headers.get("ETag"),
            last_modified=response.headers.get("Last-Modified"),
            content_type=response.headers.get("Content-Type"),
            filename=content_disposition_filename(response.headers.get("Content-Disposition")),
            final_url=response.url,
        )


def _get(session: requests.Session, request: DownloadRequest, shown: str) -> requests.Response:
    """GET, following redirects by hand: secret headers stay with the first origin."""
    url, headers = request.url, dict(request.headers)
    for _ in range(MAX_REDIRECTS + 1):
        response = _send(session, url, headers, request, shown)
        if not response.is_redirect:
            return response
        next_url = urljoin(url, response.headers["Location"])
        response.close()
        if _origin(next_url) != _origin(url):
            headers = {k: v for k, v in headers.items() if k.lower() not in request.secret_headers}
        url = next_url
    raise SourceError(f"GET {shown}: more than {MAX_REDIRECTS} redirects", hint="check source.url")


def _send(session: requests.Session, url: str, headers: Mapping[str, str],
          request: DownloadRequest, shown: str) -> requests.Response:
    timeout = (request.connect_timeout, request.read_timeout)
    try:
        return session.get(url, headers=dict(headers), timeout=timeout, stream=True, allow_redirects=False)
    # requests' messages hold the raw URL (and its secrets): they are not chained
    except requests.exceptions.SSLError:
        raise SourceError(f"GET {shown}: the TLS handshake or certificate check failed",
                          hint="check the server's certificate; retrying will not help") from None
    except requests.exceptions.ConnectTimeout:
        raise _RetryableFailure(f"no connection within {request.connect_timeout:g} s",
                                _DOWN_HINT) from None
    except requests.exceptions.Timeout:
        raise _RetryableFailure(f"timed out: no data for {request.read_timeout:g} s",
                                _SLOW_HINT) from None
    except requests.exceptions.ConnectionError as e:
        raise _RetryableFailure(f"cannot connect ({_errno_text(e)})",
                                "check the host name and the network; the next run will try again") from None
    except requests.exceptions.RequestException as e:
        raise SourceError(f"GET {shown}: the request failed ({type(e).__name__})",
                          hint="check source.url") from None


def _errno_text(error: Exception) -> str:
    match = _ERRNO_RE.search(str(error))
    return match.group(0).strip() if match else type(error).__name__


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.rsplit("@", 1)[-1].lower()


def _check_status(response: requests.Response, request: DownloadRequest, shown: str) -> None:
    status = response.status_code
    answered = f"answered {status} {(response.reason or '')[:60]}".rstrip()
    if status == 429 or 500 <= status <= 599:
        hint = ("the server limits requests; the next run will try again" if status == 429
                else "the server is failing; the next run will try again")
        raise _RetryableFailure(answered, hint, parse_retry_after(response.headers.get("Retry-After")))
    if 200 <= status <= 299:
        return
    if status in (401, 403):
        hint = request.auth_hint
    elif status in (404, 410):
        hint = "check source.url: the file may have moved"
    else:
        hint = "check source.url and source.headers"
    raise SourceError(f"GET {shown} {answered}", hint=hint)


def _check_declared_length(response: requests.Response, request: DownloadRequest, shown: str) -> None:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > request.max_bytes:
        raise SourceError(
            f"GET {shown}: the body is {int(declared):,} bytes, over max_bytes = {request.max_bytes:,}",
            hint="raise source.max_bytes if the file is expected to be this large",
        )


def _stream_body(response: requests.Response, request: DownloadRequest, target: Path, shown: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    try:
        with target.open("wb") as out:
            for chunk in response.iter_content(CHUNK_BYTES):
                size += len(chunk)
                if size > request.max_bytes:
                    raise SourceError(
                        f"GET {shown}: the body exceeds max_bytes = {request.max_bytes:,}; download stopped",
                        hint="raise source.max_bytes if the file is expected to be this large",
                    )
                digest.update(chunk)
                out.write(chunk)
    except (requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError) as e:
        target.unlink(missing_ok=True)
        if "timed out" in str(e).lower():
            raise _RetryableFailure(f"timed out after {size:,} bytes: no data for {request.read_timeout:g} s",
                                    _SLOW_HINT) from None
        raise _RetryableFailure(f"the connection broke after {size:,} bytes",
                                "the server or the network dropped the download; the next run will try again") from None
    except requests.exceptions.ContentDecodingError:
        target.unlink(missing_ok=True)
        raise SourceError(f"GET {shown}: the compressed body cannot be decoded",
                          hint="the server sent a broken gzip/deflate body") from None
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    if size == 0:
        target.unlink(missing_ok=True)
        raise SourceError(f"GET {shown}: the server returned an empty body",
                          hint="check source.url, or the export job on the source system")
    return size, digest.hexdigest()


_FILENAME_RE = re.compile(r"""filename\*?\s*=\s*(?:[\w-]+'[^']*')?"?([^";]+)"?""", re.IGNORECASE)


def content_disposition_filename(value: str | None) -> str | None:
    """``attachment; filename="datos.csv"`` -> ``datos.csv``."""
    if not value:
        return None
    match = _FILENAME_RE.search(value)
    return unquote(match.group(1)).strip() if match else None

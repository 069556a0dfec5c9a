"""The one door to CKAN: every action API call and every download goes through
``CkanClient``.

- every request has a timeout (connect, read);
- connection errors, timeouts, HTTP 5xx and 429 are transient: retried with
  exponential backoff, then raised as ``TransientPortalError``;
- CKAN's "Validation Error", "Authorization Error" and "Not Found Error" are
  terminal and raised at once as ``CkanValidationError``, ``CkanNotAuthorized``,
  ``CkanNotFound``, with CKAN's field errors in one line;
- write calls (anything that is not a ``*_show`` / ``*_list`` / ``*_search``) are
  counted: ``write_calls`` is how tests prove that a re-run writes nothing;
- the API token is sent only to the portal's own host and never appears in a
  message, a log line or ``repr()``.

Creations (``package_create``, ``resource_create``, ...) are not retried after a
read timeout, because CKAN may have done them: the next run's plan sees what
is there and repairs it.
"""

from __future__ import annotations

import io
import json
import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import urlsplit

import requests

from publisher import __version__
from publisher.errors import PortalError, TransientPortalError

log = logging.getLogger(__name__)

READ_SUFFIXES = ("_show", "_list", "_search", "_autocomplete", "_info", "_list_for_user", "_list_authz")
NOT_REPEATABLE = frozenset({"package_create", "resource_create", "group_create", "organization_create",
                            "datastore_create", "datastore_upsert"})
MAX_DOWNLOAD_BYTES = 2 * 1024**3


class CkanNotFound(PortalError):
    """CKAN answered "Not Found Error"."""


class CkanNotAuthorized(PortalError):
    """CKAN answered "Authorization Error": the token may not do this."""


class CkanValidationError(PortalError):
    """CKAN refused the data; ``field_errors`` holds its per-field messages."""

    def __init__(self, message: str, *, field_errors: Mapping[str, Any], **context: Any) -> None:
        super().__init__(message, **context)
        self.field_errors = dict(field_errors)


def is_write(action: str) -> bool:
    return not (action == "status_show" or action.endswith(READ_SUFFIXES))


def format_field_errors(errors: Mapping[str, Any]) -> str:
    """``{"name": ["That URL is already in use."]}`` -> ``name: That URL is already in use.``"""
    parts = []
    for key, value in errors.items():
        if key.startswith("__"):
            continue
        parts.append(f"{key}: {_flatten(value)}")
    return "; ".join(parts) or "no details"


def _flatten(value: Any) -> str:
    if isinstance(value, list):
        return " ".join(_flatten(v) for v in value if v not in ({}, [], "", None))
    if isinstance(value, dict):
        return ", ".join(f"{k}: {_flatten(v)}" for k, v in value.items())
    return str(value)


@dataclass
class CkanClient:
    """CKAN's action API over one ``requests.Session``; see the module docstring."""

    url: str
    token: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    retries: int = 3
    session: requests.Session = field(default_factory=requests.Session, repr=False)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    backoff: float = 0.5
    backoff_cap: float = 8.0
    write_calls: int = 0
    read_calls: int = 0

    def __post_init__(self) -> None:
        self.url = self.url.rstrip("/")

    # --- the action API -------------------------------------------------------------

    def call(self, action: str, data: Mapping[str, Any] | None = None, *,
             upload: Path | None = None) -> Any:
        """POST /api/3/action/<action>; returns CKAN's ``result``; ``upload`` goes as multipart."""
        data = dict(data or {})
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._call_once(action, data, upload)
            except TransientPortalError as e:
                if attempt == attempts or not self._may_repeat(action, e):
                    raise
                delay = min(self.backoff * 2 ** (attempt - 1), self.backoff_cap)
                log.info("CKAN %s: %s; retry %d/%d in %.1fs", action, e.message, attempt, self.retries, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _may_repeat(self, action: str, error: TransientPortalError) -> bool:
        # a creation that timed out may have happened: leave it to the next run's plan
        return action not in NOT_REPEATABLE or not isinstance(error.__cause__, requests.ReadTimeout)

    def _call_once(self, action: str, data: dict[str, Any], upload: Path | None) -> Any:
        if is_write(action):
            self.write_calls += 1
        else:
            self.read_calls += 1
        endpoint = f"{self.url}/api/3/action/{action}"
        try:
            if upload is None:
                response = self.session.post(endpoint, json=data, headers=self._headers(),
                                             timeout=self._timeouts())
            else:
                with MultipartBody(_form_fields(data), upload) as body:
                    response = self.session.post(
                        endpoint, data=body, headers={**self._headers(), "Content-Type": body.content_type},
                        timeout=self._timeouts())
        except requests.Timeout as e:
            raise TransientPortalError(f"CKAN did not answer within {self.timeout:g}s",
                                       action=action) from e
        except requests.ConnectionError as e:
            raise TransientPortalError(f"cannot connect to CKAN at {self.url}", action=action) from e
        return _result_of(action, response)

    # --- downloads ------------------------------------------------------------------

    def download(self, url: str, target: Path, *, limit: int = MAX_DOWNLOAD_BYTES) -> int:
        """Stream ``url`` into ``target`` (with retries); returns the byte count."""
        attempts = self.retries + 1
        for attempt in range(1, attempts + 1):
            try:
                return self._download_once(url, target, limit)
            except TransientPortalError:
                if attempt == attempts:
                    raise
                self.sleep(min(self.backoff * 2 ** (attempt - 1), self.backoff_cap))
        raise AssertionError("unreachable")

    def _download_once(self, url: str, target: Path, limit: int) -> int:
        self.read_calls += 1
        headers = self._headers() if self._same_host(url) else {"User-Agent": _user_agent()}
        try:
            with self.session.get(url, headers=headers, timeout=self._timeouts(), stream=True) as response:
                if response.status_code >= 500 or response.status_code == 429:
                    raise TransientPortalError(f"download answered HTTP {response.status_code}",
                                               action="download")
                if response.status_code >= 400:
                    raise PortalError(f"download answered HTTP {response.status_code}: {_safe_url(url)}",
                                      action="download")
                return _stream_to(response, target, limit)
        except requests.Timeout as e:
            raise TransientPortalError(f"download timed out after {self.timeout:g}s", action="download") from e
        except requests.ConnectionError as e:
            raise TransientPortalError(f"cannot connect to {_safe_url(url)}", action="download") from e

    # --- helpers --------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        headers = {"User-Agent": _user_agent()}
        if self.token:
            headers["Authorization"] = self.token
        return headers

    def _timeouts(self) -> tuple[float, float]:
        return (min(10.0, self.timeout), self.timeout)

    def _same_host(self, url: str) -> bool:
        mine, theirs = urlsplit(self.url), urlsplit(url)
        return (mine.scheme, mine.netloc) == (theirs.scheme, theirs.netloc)


class MultipartBody:
    """A multipart/form-data body read from disk as it is sent: an upload never sits in memory.

    requests streams any object with ``read``, ``__iter__`` and ``__len__`` (and sets
    Content-Length from ``__len__``); ``files=`` would build the whole body in memory.
    """

    def __init__(self, fields: Mapping[str, str], upload: Path, field_name: str = "upload") -> None:
        boundary = uuid.uuid4().hex
        self.content_type = f"multipart/form-data; boundary={boundary}"
        head = b"".join(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value.encode()
            + b"\r\n" for name, value in fields.items())
        filename = upload.name.replace('"', "%22").replace("\r", "").replace("\n", "")
        head += (f'--{boundary}\r\nContent-Disposition: form-data; name="{field_name}"; filename="{filename}"'
                 "\r\nContent-Type: application/octet-stream\r\n\r\n").encode()
        tail = f"\r\n--{boundary}--\r\n".encode()
        self._file = upload.open("rb")
        self._parts: list[BinaryIO] = [io.BytesIO(head), self._file, io.BytesIO(tail)]
        self._length = len(head) + upload.stat().st_size + len(tail)

    def __len__(self) -> int:
        return self._length

    def read(self, size: int = -1) -> bytes:
        chunks = []
        while self._parts and (size < 0 or size > 0):
            chunk = self._parts[0].read(size)
            if not chunk:
                self._parts.pop(0)
                continue
            chunks.append(chunk)
            size = size - len(chunk) if size > 0 else size
        return b"".join(chunks)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(1 << 16):
            yield chunk

    def __enter__(self) -> MultipartBody:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()


def _user_agent() -> str:
    return f"publisher/{__version__}"


def _safe_url(url: str) -> str:
    """The URL without query string or user info (either may hold a secret)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname or ''}{':' + str(parts.port) if parts.port else ''}{parts.path}"


def _form_fields(data: Mapping[str, Any]) -> dict[str, str]:
    """Multipart form values are strings: JSON-encode anything that is not."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in data.items() if v is not None}


def _stream_to(response: requests.Response, target: Path, limit: int) -> int:
    target.parent.mkdir(parents=True, exist_ok=True)
    size = 0
    with target.open("wb") as out:
        for chunk in response.iter_content(chunk_size=1 << 16):
            size += len(chunk)
            if size > limit:
                raise PortalError(f"download exceeds the {limit} byte limit", action="download")
            out.write(chunk)
    return size


def _result_of(action: str, response: requests.Response) -> Any:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if status >= 500 or status == 429:
        raise TransientPortalError(f"CKAN answered HTTP {status}", action=action)
    if not isinstance(body, dict) or "success" not in body:
        raise PortalError(f"CKAN answered HTTP {status} without an API response", action=action)
    if body["success"]:
        return body.get("result")
    raise _error_from(action, status, body.get("error") or {})


def _error_from(action: str, status: int, error: Mapping[str, Any]) -> PortalError:
    kind = str(error.get("__type", ""))
    message = str(error.get("message", "")).strip()
    if kind == "Validation Error":
        return CkanValidationError(f"CKAN validation error: {format_field_errors(error)}",
                                   field_errors=error, action=action)
    if kind == "Authorization Error":
        return CkanNotAuthorized(f"CKAN refused: not authorized{': ' + message if message else ''}",
                                 action=action, hint="check that the token's user may edit the organization")
    if kind == "Not Found Error":
        return CkanNotFound(f"CKAN: not found{': ' + message if message else ''}", action=action)
    return PortalError(f"CKAN error (HTTP {status}) {kind}: {message or format_field_errors(error)}",
                       action=action)

"""The ``http`` source kind: download one URL, in any of the table formats.

    source = { kind = "http", url = "https://datos.rosario.gob.ar/arbolado.csv" }
    source = { kind = "http", url = { env = "TRANSITO_URL" }, format = "json", records_path = "data",
               auth = { type = "bearer", token = { env = "TRANSITO_TOKEN" } } }

Conditional requests: the ETag and Last-Modified of the last successful run
are sent back; a 304 returns ``Extraction(not_modified=True)`` and nothing is
downloaded. They are sent only when the last package still exists, the
request is the same as then, and no full refresh was asked for.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from pathlib import Path, PurePosixPath
from typing import Annotated, ClassVar, Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, field_validator, model_validator

import publisher
from publisher.config import EnvRef, Model, SourceOptions, StrOrEnv, resolve
from publisher.errors import ConfigError, SourceError
from publisher.sources import register
from publisher.sources._download import Downloaded, DownloadRequest, download, mask_url
from publisher.sources._formats import (
    KNOWN_FORMATS_TEXT,
    ReadKeys,
    ResourceName,
    format_from_media_type,
    format_from_name,
    resource_name,
)
from publisher.sources.base import Extraction, SourceContext, StagedFile

logger = logging.getLogger(__name__)

_HEADER_NAME_RE = r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$"
_SENSITIVE_HEADER_RE = re.compile(r"authorization|cookie|token|secret|password|api-?key|auth", re.IGNORECASE)


def _secret_from_env(value: StrOrEnv) -> StrOrEnv:
    if isinstance(value, str):
        raise ValueError('a literal secret is not accepted: use { env = "NAME" } and set the variable')
    return value


class BearerAuth(Model):
    """``auth = { type = "bearer", token = { env = "NAME" } }`` -> ``Authorization: Bearer ...``."""

    type: Literal["bearer"]
    token: StrOrEnv

    _token = field_validator("token")(lambda cls, v: _secret_from_env(v))


class BasicAuth(Model):
    """``auth = { type = "basic", username = "...", password = { env = "NAME" } }``."""

    type: Literal["basic"]
    username: StrOrEnv
    password: StrOrEnv

    _password = field_validator("password")(lambda cls, v: _secret_from_env(v))


class HeaderAuth(Model):
    """``auth = { type = "header", name = "X-API-Key", value = { env = "NAME" } }``."""

    type: Literal["header"]
    name: Annotated[str, Field(pattern=_HEADER_NAME_RE)]
    value: StrOrEnv

    _value = field_validator("value")(lambda cls, v: _secret_from_env(v))


HttpAuth = Annotated[BearerAuth | BasicAuth | HeaderAuth, Field(discriminator="type")]


class HttpOptions(SourceOptions, ReadKeys):
    """``source = { kind = "http", url = "...", ... }`` plus the read keys."""

    kind: Literal["http"]
    url: StrOrEnv
    headers: dict[Annotated[str, Field(pattern=_HEADER_NAME_RE)], StrOrEnv] = Field(default_factory=dict)
    auth: HttpAuth | None = None
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    read_timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    max_bytes: Annotated[int, Field(gt=0)] = 500_000_000
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    backoff: Annotated[float, Field(ge=0, le=300)] = 1.0
    name: ResourceName | None = None

    @field_validator("url")
    @classmethod
    def _literal_url_is_http(cls, value: StrOrEnv) -> StrOrEnv:
        if isinstance(value, str) and not re.match(r"^https?://[^/\s]+", value, re.IGNORECASE):
            raise ValueError(f"expected an http(s) URL, got {mask_url(value)!r}")
        return value

    @field_validator("headers")
    @classmethod
    def _secret_headers_from_env(cls, value: dict[str, StrOrEnv]) -> dict[str, StrOrEnv]:
        for header, header_value in value.items():
            if isinstance(header_value, str) and _SENSITIVE_HEADER_RE.search(header):
                raise ValueError(
                    f'header {header!r} looks secret: use {{ env = "NAME" }} for its value, or source.auth'
                )
        return value

    @model_validator(mode="after")
    def _one_authorization(self) -> HttpOptions:
        auth_header = _auth_header_name(self.auth)
        if auth_header and any(h.lower() == auth_header.lower() for h in self.headers):
            raise ValueError(f"headers.{auth_header} and auth both set the {auth_header} header; keep one")
        return self


def _auth_header_name(auth: BearerAuth | BasicAuth | HeaderAuth | None) -> str | None:
    if auth is None:
        return None
    return auth.name if isinstance(auth, HeaderAuth) else "Authorization"


def _env_names(*values: StrOrEnv | None) -> list[str]:
    return [v.env for v in values if isinstance(v, EnvRef)]


@register
class HttpSource:
    """One URL downloaded into one staged file."""

    kind: ClassVar[str] = "http"
    Options: ClassVar[type[SourceOptions]] = HttpOptions

    def __init__(self, options: HttpOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context

    def describe_origin(self) -> str:
        try:
            return mask_url(self._url())
        except ConfigError:
            names = _env_names(self.options.url)
            return f"the URL in ${names[0]}" if names else "an HTTP URL"

    def extract(self, workdir: Path) -> Extraction:
        url = self._url()
        name = self.options.name or _name_from_url(url, self.context.dataset)
        request = self._request(url)
        workdir.mkdir(parents=True, exist_ok=True)
        part = workdir / f".{name}.download"
        with self.context.session_factory() as session:
            got = download(session, request, part, label=self.context.dataset)
        if got.not_modified:
            logger.info("dataset %s: %s not modified since the last run", self.context.dataset, mask_url(url))
            return Extraction(not_modified=True, state=dict(self.context.previous_state))
        table_format = self._format(url, got)
        if table_format is None:
            part.unlink(missing_ok=True)
            raise SourceError(
                f"cannot tell the format of {mask_url(url)} (Content-Type {got.content_type or 'absent'})",
                hint=f"set source.format = one of {KNOWN_FORMATS_TEXT}",
            )
        target = workdir / f"{name}.{table_format}"
        os.replace(part, target)
        if got.sha256 == self.context.previous_state.get("sha256"):
            logger.info("dataset %s: same body as the last run (sha256 %s)", self.context.dataset, got.sha256[:12])
        staged = StagedFile(path=target, name=name, read=self.options.read_options(table_format),
                            origin=mask_url(url))
        return Extraction(files=(staged,), state=self._state(url, got))

    # --- pieces -----------------------------------------------------------

    def _url(self) -> str:
        return resolve(self.options.url, "source.url", self.context.environ)

    def _request(self, url: str) -> DownloadRequest:
        headers, secret_names = self._headers()
        conditional = self._conditional_headers(url)
        return DownloadRequest(
            url=url,
            headers={**headers, **conditional},
            secret_headers=frozenset(secret_names),
            conditional=bool(conditional),
            connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout,
            max_bytes=self.options.max_bytes,
            retries=self.options.retries,
            backoff=self.options.backoff,
            auth_hint=self._auth_hint(),
        )

    def _headers(self) -> tuple[dict[str, str], set[str]]:
        """The headers to send and the (lowercase) names of those holding secrets."""
        environ = self.context.environ
        headers = {"User-Agent": f"publisher/{publisher.__version__}"}
        secret_names: set[str] = set()
        for header, value in self.options.headers.items():
            headers[header] = resolve(value, f"source.headers.{header}", environ)
            if isinstance(value, EnvRef):
                secret_names.add(header.lower())
        auth = self.options.auth
        if isinstance(auth, BearerAuth):
            headers["Authorization"] = "Bearer " + resolve(auth.token, "source.auth.token", environ)
        elif isinstance(auth, BasicAuth):
            pair = f"{resolve(auth.username, 'source.auth.username', environ)}:" \
                   f"{resolve(auth.password, 'source.auth.password', environ)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode("utf-8")).decode("ascii")
        elif isinstance(auth, HeaderAuth):
            headers[auth.name] = resolve(auth.value, "source.auth.value", environ)
        auth_header = _auth_header_name(auth)
        if auth_header:
            secret_names.add(auth_header.lower())
        return headers, secret_names

    def _auth_hint(self) -> str:
        auth = self.options.auth
        if auth is None:
            return "the server wants credentials: set source.auth"
        if isinstance(auth, BearerAuth):
            names = _env_names(auth.token)
        elif isinstance(auth, BasicAuth):
            names = _env_names(auth.username, auth.password)
        else:
            names = _env_names(auth.value)
        variables = " and ".join(f"${n}" for n in names)
        return f"the server refused the credentials: check {variables}" if variables else "check source.auth"

    def _fingerprint(self, url: str) -> str:
        """Identifies the request and how it is read: a change makes the next run download again."""
        text = url + "\n" + self.options.model_dump_json()
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def _conditional_headers(self, url: str) -> dict[str, str]:
        previous = self.context.previous_state
        if self.context.full_refresh or self.context.previous_package_dir is None:
            return {}
        if previous.get("request_sha256") not in (None, self._fingerprint(url)):
            return {}
        headers = {}
        if previous.get("etag"):
            headers["If-None-Match"] = previous["etag"]
        if previous.get("last_modified"):
            headers["If-Modified-Since"] = previous["last_modified"]
        return headers

    def _format(self, url: str, got: Downloaded) -> str | None:
        candidates = (
            self.options.format,
            format_from_name(got.filename or ""),
            format_from_name(urlsplit(url).path),
            format_from_name(urlsplit(got.final_url).path),
            format_from_media_type(got.content_type),
        )
        return next((c for c in candidates if c is not None), None)

    def _state(self, url: str, got: Downloaded) -> dict[str, str]:
        state = {
            "etag": got.etag,
            "last_modified": got.last_modified,
            "sha256": got.sha256,
            "request_sha256": self._fingerprint(url),
        }
        return {key: value for key, value in state.items() if value}


def _name_from_url(url: str, fallback: str) -> str:
    """``https://host/datos/Arbolado%20Público.csv?x=1`` -> ``arbolado-publico``."""
    last = PurePosixPath(unquote(urlsplit(url).path)).name
    stem = PurePosixPath(last).stem if format_from_name(last) else last
    return resource_name(stem, fallback)

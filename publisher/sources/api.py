"""``kind = "api"``: records from a paginated JSON API.

    source = { kind = "api", url = "https://www.santafe.gov.ar/api/gestiones",
               records_path = "data", total_path = "totalRecords",
               pagination = { type = "page", param = "page", start = 1 },
               auth = { type = "bearer", token = { env = "SANTAFE_TOKEN" } }, rate_limit = 2 }

Pagination types: ``page`` (page number), ``offset`` (offset/limit), ``cursor``
(a next token read from the body), ``next_url`` (a next URL read from the
body), ``link`` (the ``Link: <...>; rel="next"`` header). Paging stops on an
empty page, a page shorter than the first one, the announced total, or no
next token/URL; a page, token or URL seen before is a loop and fails the
dataset instead of running forever. Records are flattened into columns and
staged as CSV; describe infers their types (numbers and dates sent as strings
included).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urljoin, urlsplit

import requests
from pydantic import Field, JsonValue, field_validator

from publisher.config import EnvRef, Model, SourceOptions, StrOrEnv, check_http_url, resolve
from publisher.errors import ConfigError, SourceError
from publisher.sources import register
from publisher.sources._common import csv_read_options, message_url, resource_name
from publisher.sources._fetch import Fetcher, json_body
from publisher.sources._records import Nested, RecordStager, at_path, record_list_keys
from publisher.sources.base import Extraction, SourceContext, StagedFile

log = logging.getLogger(__name__)

_LINK_NEXT_RE = re.compile(r'<([^>]*)>\s*;[^,]*\brel="?next"?', re.IGNORECASE)


class BearerAuth(Model):
    type: Literal["bearer"]
    token: EnvRef


class BasicAuth(Model):
    type: Literal["basic"]
    username: StrOrEnv
    password: EnvRef


class ApiKeyAuth(Model):
    type: Literal["api_key"]
    header: str = "X-API-Key"
    key: EnvRef


Auth = Annotated[BearerAuth | BasicAuth | ApiKeyAuth, Field(discriminator="type")]


class PagePagination(Model):
    type: Literal["page"]
    param: str = "page"
    start: int = 1
    size_param: str | None = None
    size: int | None = Field(default=None, ge=1)


class OffsetPagination(Model):
    type: Literal["offset"]
    offset_param: str = "offset"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1)
    start: int = 0


class CursorPagination(Model):
    type: Literal["cursor"]
    param: str = "cursor"
    next_path: str


class NextUrlPagination(Model):
    type: Literal["next_url"]
    next_path: str


class LinkPagination(Model):
    type: Literal["link"]


Pagination = Annotated[PagePagination | OffsetPagination | CursorPagination | NextUrlPagination | LinkPagination,
                       Field(discriminator="type")]


class ApiOptions(SourceOptions):
    """``source = { kind = "api", ... }``."""

    kind: Literal["api"]
    url: StrOrEnv
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, StrOrEnv] = Field(default_factory=dict)
    body: dict[str, JsonValue] | None = None
    auth: Auth | None = None
    records_path: str | None = None
    total_path: str | None = None
    pagination: Pagination | None = None
    nested: Nested = "flatten"
    separator: str = Field(default=".", min_length=1, max_length=5)
    rate_limit: float | None = Field(default=None, gt=0, le=1000)
    timeout: float = Field(default=30.0, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10)
    max_retry_wait: float = Field(default=120.0, ge=0)
    max_pages: int = Field(default=10_000, ge=1)
    resource: str | None = None

    _url = field_validator("url")(lambda cls, v: check_http_url(v))


class _Page:
    """One request's worth of paging parameters, and what came back."""

    def __init__(self, number: int, url: str, params: dict[str, Any]) -> None:
        self.number, self.url, self.params = number, url, params
        self.records: list[Mapping[str, Any]] = []
        self.document: Any = None
        self.response: requests.Response | None = None


@register
class ApiSource:
    """Pages through a JSON API and stages the records as CSV."""

    kind: ClassVar[str] = "api"
    Options: ClassVar[type[SourceOptions]] = ApiOptions

    def __init__(self, options: ApiOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context
        self.name = resource_name(options.resource or context.dataset, context.dataset)

    def describe_origin(self) -> str:
        try:
            url = message_url(self._url())
        except ConfigError:  # an unset variable must not break the description
            url = "a URL from the environment"
        return f"JSON API {self.options.method} {url}"

    def _url(self) -> str:
        return resolve(self.options.url, f"datasets.{self.context.dataset}.source.url", self.context.environ)

    def extract(self, workdir: Path) -> Extraction:
        url = self._url()
        stager = RecordStager(workdir / f"{self.name}.csv", self.options.separator, self.options.nested)
        session = self.context.session_factory()
        fetcher = Fetcher(session, timeout=self.options.timeout, retries=self.options.retries,
                          rate_limit=self.options.rate_limit, max_retry_wait=self.options.max_retry_wait)
        try:
            total = self._collect(fetcher, url, stager)
        except BaseException:
            stager.discard()
            raise
        finally:
            session.close()
        if stager.rows == 0:
            stager.discard()
            raise SourceError(f"{message_url(url)} returned no records", hint="check records_path and the parameters")
        if total is not None and total != stager.rows:
            log.warning("dataset '%s': the API announced %d records and returned %d",
                        self.context.dataset, total, stager.rows)
        path = stager.finish()
        log.info("dataset '%s': %d records in %d requests", self.context.dataset, stager.rows, fetcher.requests_sent)
        return Extraction(files=(StagedFile(path=path, name=self.name, read=csv_read_options(),
                                            origin=self.describe_origin()),))

    def _collect(self, fetcher: Fetcher, url: str, stager: RecordStager) -> int | None:
        """Fetch every page into ``stager``; returns the announced total, if any."""
        seen_pages: dict[str, int] = {}
        first_size: int | None = None
        total: int | None = None
        for page in self._pages(fetcher, url):
            if not page.records:
                break
            digest = hashlib.sha256(json.dumps(page.records, sort_keys=True, default=str).encode()).hexdigest()
            if digest in seen_pages:
                raise SourceError(
                    f"page loop: page {page.number} of {message_url(url)} repeats page {seen_pages[digest]}",
                    hint="the server ignores the paging parameter: check source.pagination")
            seen_pages[digest] = page.number
            for record in page.records:
                stager.add(record)
            total = self._total(page.document) if total is None else total
            first_size = len(page.records) if first_size is None else first_size
            if self._last_page(page, first_size, total, stager.rows):
                break
        return total

    def _last_page(self, page: _Page, first_size: int, total: int | None, fetched: int) -> bool:
        pagination = self.options.pagination
        if pagination is None or (total is not None and fetched >= total):
            return True
        if isinstance(pagination, PagePagination | OffsetPagination):
            return len(page.records) < first_size
        return False

    def _pages(self, fetcher: Fetcher, url: str) -> Iterator[_Page]:
        pagination = self.options.pagination
        params: dict[str, Any] = dict(self.options.params)
        seen_links: set[str] = set()
        number = 0
        while True:
            number += 1
            if number > self.options.max_pages:
                raise SourceError(f"more than max_pages = {self.options.max_pages} pages from {message_url(url)}",
                                  hint="raise source.max_pages if the data really is that large")
            page = _Page(number, url, self._paging_params(params, number))
            self._fetch(fetcher, page)
            yield page
            next_link = self._next_link(page)
            if pagination is None or isinstance(pagination, PagePagination | OffsetPagination):
                continue
            if not next_link:
                return
            if next_link in seen_links:
                raise SourceError(f"page loop: the next {pagination.type} of page {number} was already "
                                  f"followed ({message_url(url)})", hint="the server repeats itself")
            seen_links.add(next_link)
            if isinstance(pagination, CursorPagination):
                params = {**params, pagination.param: next_link}
            else:
                url = self._same_host(url, urljoin(page.url, next_link))
                params = {}

    def _paging_params(self, params: dict[str, Any], number: int) -> dict[str, Any]:
        pagination = self.options.pagination
        if isinstance(pagination, PagePagination):
            params = {**params, pagination.param: pagination.start + number - 1}
            if pagination.size_param and pagination.size:
                params[pagination.size_param] = pagination.size
        elif isinstance(pagination, OffsetPagination):
            offset = pagination.start + (number - 1) * pagination.limit
            params = {**params, pagination.offset_param: offset, pagination.limit_param: pagination.limit}
        return params

    def _next_link(self, page: _Page) -> str | None:
        pagination = self.options.pagination
        if isinstance(pagination, CursorPagination | NextUrlPagination):
            try:
                value = at_path(page.document, pagination.next_path)
            except KeyError:
                return None
            return str(value) if value not in (None, "", False) else None
        if isinstance(pagination, LinkPagination) and page.response is not None:
            match = _LINK_NEXT_RE.search(page.response.headers.get("Link", ""))
            return match.group(1) if match else None
        return None

    def _same_host(self, current: str, following: str) -> str:
        if urlsplit(following).netloc != urlsplit(current).netloc:
            raise SourceError(f"the next page URL points to another host ({message_url(following)})",
                              hint="credentials are only sent to the configured host")
        return following

    def _fetch(self, fetcher: Fetcher, page: _Page) -> None:
        options = self.options
        params, body = page.params, options.body
        if options.method == "POST" and body is not None:
            body, params = {**body, **page.params}, {}
        headers, auth = self._auth_headers()
        response = fetcher.request(options.method, page.url, params=params or None, headers=headers,
                                   json_body=body, auth=auth)
        page.response = response
        page.document = json_body(response, page.url)
        page.records = self._records(page.document, page.url)

    def _auth_headers(self) -> tuple[dict[str, str], tuple[str, str] | None]:
        key_path = f"datasets.{self.context.dataset}.source"
        headers = {"Accept": "application/json"}
        headers.update({name: resolve(value, f"{key_path}.headers.{name}", self.context.environ)
                        for name, value in self.options.headers.items()})
        auth = self.options.auth
        if isinstance(auth, BearerAuth):
            headers["Authorization"] = f"Bearer {resolve(auth.token, f'{key_path}.auth.token', self.context.environ)}"
        elif isinstance(auth, ApiKeyAuth):
            headers[auth.header] = resolve(auth.key, f"{key_path}.auth.key", self.context.environ)
        elif isinstance(auth, BasicAuth):
            return headers, (resolve(auth.username, f"{key_path}.auth.username", self.context.environ),
                             resolve(auth.password, f"{key_path}.auth.password", self.context.environ))
        return headers, None

    def _records(self, document: Any, url: str) -> list[Mapping[str, Any]]:
        path = self.options.records_path
        if path is None:
            candidates = record_list_keys(document)
            if isinstance(document, list):
                records = document
            elif isinstance(document, Mapping) and len(candidates) == 1:
                records = document[candidates[0]]
            elif isinstance(document, Mapping) and not candidates and _empty_envelope(document):
                records = []
            else:
                raise SourceError(f"cannot tell where the records are in the JSON from {message_url(url)}",
                                  hint=f"set records_path (candidates: {', '.join(candidates) or 'none'})")
        else:
            try:
                records = at_path(document, path)
            except KeyError:
                raise SourceError(f"records_path {path!r} not found in the JSON from {message_url(url)}",
                                  hint=f"top-level keys: {', '.join(map(str, _keys(document))) or 'none'}") from None
        if records is None:
            return []
        if not isinstance(records, list) or not all(isinstance(r, Mapping) for r in records):
            raise SourceError(f"records_path {path or '$'!r} in the JSON from {message_url(url)} is not a list "
                              "of objects", hint="point records_path at an array of records")
        return records

    def _total(self, document: Any) -> int | None:
        if self.options.total_path is None:
            return None
        try:
            return int(str(at_path(document, self.options.total_path)).strip())
        except (KeyError, ValueError):
            log.warning("dataset '%s': total_path %r not found or not a number", self.context.dataset,
                        self.options.total_path)
            return None


def _keys(document: Any) -> list[Any]:
    return list(document)[:20] if isinstance(document, Mapping) else []


def _empty_envelope(document: Mapping[str, Any]) -> bool:
    """An envelope whose only list is empty: a last, empty page."""
    return any(isinstance(v, list) and not v for v in document.values())

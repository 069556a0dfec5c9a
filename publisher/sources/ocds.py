"""The ``ocds`` source kind: Open Contracting data from files, a URL or a paginated API.

    source = { kind = "ocds", path = "compras/*.json" }
    source = { kind = "ocds", url = "https://compras.rosario.gob.ar/api/releases", max_pages = 500 }

Release packages, record packages, bare releases or records, JSON Lines and
concatenated packages are read (``publisher.ocds``). An API that pages with
``links.next`` is followed page by page (same origin only, up to
``max_pages``). The data is validated against the OCDS schema of its version,
compiled into records and flattened into related tables; each table is
staged as a UTF-8 CSV with a Table Schema whose foreign keys point back to
the ``releases`` table (``ocid``). The release package, the record package
and the OCDS validation report are staged as files published beside the
tables (``publish_packages = false`` leaves the packages out: unlike the
tables, they do not go through the privacy screen).

With ``on_invalid = "block"`` (the default) data with OCDS errors stops
here; the report is written to ``.publisher/ocds-reports/<dataset>.json``.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urljoin, urlsplit

from pydantic import Field, ValidationInfo, field_validator, model_validator

from publisher.config import SourceOptions, StrOrEnv, resolve
from publisher.errors import SourceError, ValidationFailed
from publisher.sources import register
from publisher.sources._download import DownloadRequest, download, mask_url
from publisher.sources.base import Extraction, ReadOptions, SourceContext, StagedFile
from publisher.sources.file import match_files, not_found_message, shown_path

logger = logging.getLogger(__name__)

SCHEMA_CACHE_DIR = Path(".publisher") / "ocds-schemas"
REPORT_DIR = Path(".publisher") / "ocds-reports"
CSV_READ = ReadOptions(format="csv", encoding="utf-8", delimiter=",")


def _base_dir(info: ValidationInfo) -> Path | None:
    context: Any = info.context
    if isinstance(context, dict) and context.get("base_dir") is not None:
        return Path(context["base_dir"])
    return None


class OcdsOptions(SourceOptions):
    """``source = { kind = "ocds", path = "..." | url = "...", ... }``."""

    kind: Literal["ocds"]
    path: Annotated[str, Field(min_length=1)] | None = None
    url: StrOrEnv | None = None
    max_pages: Annotated[int, Field(ge=1, le=100_000)] = 100
    connect_timeout: Annotated[float, Field(gt=0, le=300)] = 10.0
    read_timeout: Annotated[float, Field(gt=0, le=3600)] = 60.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_bytes: Annotated[int, Field(gt=0)] = 500_000_000
    encoding: str | None = None
    schema_dir: str | None = None
    fetch_extensions: bool = True
    extension_timeout: Annotated[float, Field(gt=0, le=60)] = 5.0
    on_invalid: Literal["block", "warn"] = "block"
    # the release/record package JSON beside the tables; they are not screened for personal data
    publish_packages: bool = True

    @model_validator(mode="after")
    def _one_origin(self) -> OcdsOptions:
        if (self.path is None) == (self.url is None):
            raise ValueError("set exactly one of path (a file or glob) and url")
        return self

    @field_validator("path")
    @classmethod
    def _path_matches_files(cls, value: str | None, info: ValidationInfo) -> str | None:
        base_dir = _base_dir(info)
        if value is not None and base_dir is not None and not match_files(base_dir, value):
            raise ValueError(not_found_message(base_dir, value))
        return value

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: StrOrEnv | None) -> StrOrEnv | None:
        if isinstance(value, str) and urlsplit(value).scheme not in ("http", "https"):
            raise ValueError(f"expected an http(s) URL, got {mask_url(value)!r}")
        return value

    @field_validator("schema_dir")
    @classmethod
    def _schema_dir_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        base_dir = _base_dir(info)
        if value is not None and base_dir is not None and not (base_dir / value).is_dir():
            raise ValueError(f"folder not found: {value}")
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        import codecs

        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252, latin-1)") from None
        return value


@register
class OcdsSource:
    """OCDS packages -> validated, compiled, flattened tables plus the packages themselves."""

    kind: ClassVar[str] = "ocds"
    Options: ClassVar[type[SourceOptions]] = OcdsOptions

    def __init__(self, options: OcdsOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context

    def describe_origin(self) -> str:
        if self.options.path is not None:
            return self.options.path
        url = self.options.url
        return mask_url(url) if isinstance(url, str) else f"URL from ${url.env}" if url else ""

    def extract(self, workdir: Path) -> Extraction:
        try:
            from publisher import ocds
        except ImportError as e:  # ocdskit, ocdsmerge, jsonschema, ijson, orjson: the "ocds" extra
            raise SourceError(f"the ocds source needs the package {e.name}",
                              hint="pip install 'publisher[ocds]'") from e

        workdir.mkdir(parents=True, exist_ok=True)
        inputs = self._local_inputs() if self.options.path is not None else self._download_pages(workdir / "pages")
        result = ocds.process(inputs, workdir / "ocds", self._schema_settings(),
                              ocds.ProcessOptions(encoding=self.options.encoding, now=self.context.now))
        report = result.report
        if not report.valid:
            self._handle_invalid(result)
        logger.info("dataset %s: OCDS %s; %d contracting processes", self.context.dataset,
                    report.one_line(), report.counts.get("contracting_processes", 0))
        return Extraction(files=self._staged(result))

    # --- inputs --------------------------------------------------------------------

    def _local_inputs(self) -> list[Any]:
        from publisher.ocds import InputFile

        base_dir = self.context.base_dir
        assert self.options.path is not None
        matches = match_files(base_dir, self.options.path)
        if not matches:
            raise SourceError(not_found_message(base_dir, self.options.path),
                              hint=f"the path is relative to {base_dir.resolve()}")
        return [InputFile(path=m, label=shown_path(base_dir, m)) for m in matches]

    def _download_pages(self, pages_dir: Path) -> list[Any]:
        from publisher.ocds import InputFile
        from publisher.ocds.reading import next_link

        url = resolve(self.options.url, "source.url", self.context.environ)
        origin = _origin(url)
        pages: list[InputFile] = []
        seen: set[str] = set()
        session = self.context.session_factory()
        try:
            next_url: str | None = url
            while next_url is not None:
                if len(pages) >= self.options.max_pages:
                    raise SourceError(
                        f"{mask_url(url)}: still a links.next after {len(pages)} pages",
                        hint="raise source.max_pages (nothing was published from a partial harvest)",
                    )
                if next_url in seen or _origin(next_url) != origin:
                    why = "loops back to a page already read" if next_url in seen else "points to another site"
                    raise SourceError(f"{mask_url(url)}: links.next {why}: {mask_url(next_url)}")
                seen.add(next_url)
                target = pages_dir / f"page-{len(pages) + 1:05d}.json"
                pages_dir.mkdir(parents=True, exist_ok=True)
                download(session, self._request(next_url), target, label=self.context.dataset)
                pages.append(InputFile(path=target, label=f"page {len(pages) + 1}"))
                link = next_link(target, pages_dir / "decoded", self.options.encoding)
                next_url = urljoin(next_url, link) if link else None
        finally:
            session.close()
        logger.info("dataset %s: read %d page(s) from %s", self.context.dataset, len(pages), mask_url(url))
        return pages

    def _request(self, url: str) -> DownloadRequest:
        return DownloadRequest(
            url=url, headers={"Accept": "application/json"}, connect_timeout=self.options.connect_timeout,
            read_timeout=self.options.read_timeout, max_bytes=self.options.max_bytes,
            retries=self.options.retries,
        )

    def _schema_settings(self) -> Any:
        from publisher.ocds import SchemaSettings

        base_dir = self.context.base_dir
        schema_dir = base_dir / self.options.schema_dir if self.options.schema_dir else None
        return SchemaSettings.from_environment(
            self.context.environ, schema_dir=schema_dir, cache_dir=base_dir / SCHEMA_CACHE_DIR,
            fetch_extensions=self.options.fetch_extensions, timeout=self.options.extension_timeout,
            session_factory=self.context.session_factory,
        )

    # --- outputs ---------------------------------------------------------------------

    def _handle_invalid(self, result: Any) -> None:
        report = result.report
        if self.options.on_invalid == "warn":
            logger.warning("dataset %s: OCDS data is invalid (%s); on_invalid = \"warn\": going on",
                           self.context.dataset, report.one_line())
            return
        kept = self.context.base_dir / REPORT_DIR / f"{self.context.dataset}.json"
        kept.parent.mkdir(parents=True, exist_ok=True)
        if result.report_path is not None:
            shutil.copyfile(result.report_path, kept)
        raise ValidationFailed(
            f"OCDS validation: {report.one_line()}",
            hint=f"see {kept}; fix the source or set source.on_invalid = \"warn\"",
        )

    def _staged(self, result: Any) -> tuple[StagedFile, ...]:
        packages = (result.release_package, result.record_package) if self.options.publish_packages else ()
        extras = tuple(p for p in (*packages, result.report_path) if p)
        origin = self.describe_origin()
        staged = []
        for index, table in enumerate(result.tables):
            staged.append(_staged_file(
                path=table.path, name=table.name, read=CSV_READ, schema_hint=table.schema, origin=origin,
                extra_files=extras if index == 0 else (),
            ))
        return tuple(staged)


def _staged_file(*, extra_files: tuple[Path, ...], **fields: Any) -> StagedFile:
    """A StagedFile; the package files ride on the first table."""
    return StagedFile(extra_files=extra_files, **fields)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme.lower(), parts.netloc.lower()

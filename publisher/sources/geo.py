"""``kind = "geo"``: GeoJSON files and URLs, ArcGIS REST layers, OGC WFS.

    source = { kind = "geo", path = "capas/hospitales.geojson" }
    source = { kind = "geo", service = "arcgis",
               url = "https://gis.rosario.gob.ar/arcgis/rest/services/X/FeatureServer/0" }
    source = { kind = "geo", service = "wfs", url = "https://www.rosario.gob.ar/wfs", type_name = "barrios" }

- ``geojson``: a FeatureCollection from ``path`` or ``url`` (legacy ``crs`` honoured).
- ``arcgis``: a FeatureServer/MapServer layer; ``query`` with ``where``,
  ``outFields=*``, ``f=geojson``, paged by ``resultOffset`` while the server
  reports ``exceededTransferLimit``.
- ``wfs``: ``GetFeature`` in GML 2/3 (parsed from bytes, so the declared
  encoding is honoured) or GeoJSON; ``path`` may name a saved GetFeature document.

The output is one GeoJSON file in WGS84 (EPSG:4326), staged with format
``geojson``: describe publishes it beside a CSV of the attributes (Point
layers get lon/lat columns). The source CRS is recorded in the package's
``sources`` (``describe_origin``). Invalid geometries are reported and kept,
dropped, repaired or fatal (``on_invalid_geometry``).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from publisher.config import SourceOptions, StrOrEnv, check_http_url, resolve
from publisher.errors import ConfigError, SourceError
from publisher.sources import register
from publisher.sources._common import message_url, resource_name
from publisher.sources._fetch import Fetcher, json_body
from publisher.sources._geometry import FeatureWriter, OnInvalid, Reprojector
from publisher.sources.base import Extraction, ReadOptions, SourceContext, StagedFile

log = logging.getLogger(__name__)

Service = Literal["geojson", "arcgis", "wfs"]
_ESRI_TO_EPSG = {102100: 3857, 102113: 3857, 104326: 4326}


class GeoOptions(SourceOptions):
    """``source = { kind = "geo", ... }``."""

    kind: Literal["geo"]
    service: Service = "geojson"
    path: str | None = None
    url: StrOrEnv | None = None
    type_name: str | None = None  # WFS typeName(s)
    version: Literal["1.0.0", "1.1.0", "2.0.0"] = "1.1.0"  # WFS
    output_format: Literal["gml", "geojson"] = "gml"  # WFS
    where: str = "1=1"  # ArcGIS
    out_fields: str = "*"  # ArcGIS
    page_size: int | None = Field(default=None, ge=1, le=100_000)
    source_crs: str | None = None  # when the data does not say (or says wrong)
    params: dict[str, StrOrEnv] = Field(default_factory=dict)  # e.g. token = { env = "GIS_TOKEN" }
    headers: dict[str, StrOrEnv] = Field(default_factory=dict)
    on_invalid_geometry: OnInvalid = "warn"
    timeout: float = Field(default=60.0, gt=0, le=600)
    retries: int = Field(default=3, ge=0, le=10)
    rate_limit: float | None = Field(default=None, gt=0)
    max_pages: int = Field(default=10_000, ge=1)
    resource: str | None = None

    @field_validator("path")
    @classmethod
    def _file_exists(cls, value: str | None, info: ValidationInfo) -> str | None:
        base_dir = (info.context or {}).get("base_dir")
        if value is not None and base_dir is not None and not (Path(base_dir) / value).is_file():
            raise ValueError(f"file not found: {value}")
        return value

    _url = field_validator("url")(lambda cls, v: check_http_url(v))

    @model_validator(mode="after")
    def _one_location(self) -> GeoOptions:
        if (self.path is None) == (self.url is None):
            raise ValueError("set exactly one of path or url")
        if self.service == "arcgis" and self.url is None:
            raise ValueError('service = "arcgis" needs url (the layer, ending in /FeatureServer/0)')
        if self.service == "wfs" and self.url is not None and not self.type_name:
            raise ValueError('service = "wfs" needs type_name (the layer)')
        return self


class _Page:
    def __init__(self, features: list[dict[str, Any]], srs_name: str | None, gml: bool = False) -> None:
        self.features, self.srs_name, self.gml = features, srs_name, gml


@register
class GeoSource:
    """Stages a GIS layer as WGS84 GeoJSON."""

    kind: ClassVar[str] = "geo"
    Options: ClassVar[type[SourceOptions]] = GeoOptions

    def __init__(self, options: GeoOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context
        self.name = resource_name(options.resource or context.dataset, context.dataset)
        self.source_crs: str | None = None
        self._layer_crs: str | None = None

    def describe_origin(self) -> str:
        options = self.options
        where = options.path if options.path else self._safe_url()
        what = {"geojson": "GeoJSON", "arcgis": "ArcGIS REST layer", "wfs": "OGC WFS"}[options.service]
        layer = f" {options.type_name}" if options.type_name else ""
        crs = f" (source CRS {self.source_crs}; published in WGS84, EPSG:4326)" if self.source_crs else ""
        return f"{what} {where}{layer}{crs}"

    def _safe_url(self) -> str:
        try:
            return message_url(self._url())
        except ConfigError:  # an unset variable must not break the description
            return "a URL from the environment"

    def _url(self) -> str:
        return resolve(self.options.url, f"datasets.{self.context.dataset}.source.url", self.context.environ)

    # --- extraction ---------------------------------------------------------

    def extract(self, workdir: Path) -> Extraction:
        path = workdir / f"{self.name}.geojson"
        session = self.context.session_factory()
        fetcher = Fetcher(session, timeout=self.options.timeout, retries=self.options.retries,
                          rate_limit=self.options.rate_limit)
        crs_seen: set[str] = set()
        try:
            with FeatureWriter(path, self.options.on_invalid_geometry, self.context.dataset) as writer:
                for page in self._pages(fetcher):
                    reprojector = Reprojector(self.options.source_crs or page.srs_name, gml_axis_order=page.gml)
                    crs_seen.add(reprojector.label)
                    writer.add(page.features, reprojector)
        finally:
            session.close()
        writer.report()
        if writer.count == 0:
            raise SourceError(f"the layer from {self.describe_origin()} has no features",
                              hint="check the layer name, where and the credentials")
        if len(crs_seen) > 1:
            raise SourceError(f"the layer mixes coordinate reference systems: {', '.join(sorted(crs_seen))}",
                              hint="set source.source_crs")
        self.source_crs = self._layer_crs or crs_seen.pop()
        log.info("dataset '%s': %d features (%d points); source CRS %s", self.context.dataset, writer.count,
                 writer.points, self.source_crs)
        staged = StagedFile(path=path, name=self.name, read=ReadOptions(format="geojson", encoding="utf-8"),
                            origin=self.describe_origin())
        return Extraction(files=(staged,))

    def _pages(self, fetcher: Fetcher) -> Iterator[_Page]:
        if self.options.service == "arcgis":
            return self._arcgis_pages(fetcher, self._url().rstrip("/"))
        if self.options.service == "wfs":
            return self._wfs_pages(fetcher)
        return iter([self._geojson_page(self._read(fetcher, {}))])

    def _read(self, fetcher: Fetcher, params: Mapping[str, Any]) -> bytes:
        if self.options.path is not None:
            return (self.context.base_dir / self.options.path).read_bytes()
        response = fetcher.request("GET", self._url(), params={**self._extra_params(), **params},
                                   headers=self._headers())
        if "html" in response.headers.get("Content-Type", "").lower():
            raise SourceError(f"{message_url(self._url())} answered an HTML page instead of a layer",
                              hint="check the URL and the credentials")
        return response.content

    def _headers(self) -> dict[str, str]:
        prefix = f"datasets.{self.context.dataset}.source.headers"
        return {k: resolve(v, f"{prefix}.{k}", self.context.environ) for k, v in self.options.headers.items()}

    def _extra_params(self) -> dict[str, str]:
        prefix = f"datasets.{self.context.dataset}.source.params"
        return {k: resolve(v, f"{prefix}.{k}", self.context.environ) for k, v in self.options.params.items()}

    # --- GeoJSON ------------------------------------------------------------

    def _geojson_page(self, data: bytes) -> _Page:
        where = self.options.path or message_url(self._url())
        try:
            document = json.loads(data)
        except ValueError as e:
            raise SourceError(f"{where} is not valid GeoJSON ({str(e)[:120]})",
                              hint="check that the file or URL is a GeoJSON FeatureCollection") from e
        return _feature_collection(document, where)

    # --- ArcGIS REST --------------------------------------------------------

    def _arcgis_pages(self, fetcher: Fetcher, layer_url: str) -> Iterator[_Page]:
        extra, headers = self._extra_params(), self._headers()
        meta = _arcgis_json(fetcher, layer_url, {**extra, "f": "json"}, headers)
        self._layer_crs = _esri_crs(meta)
        page_size = self.options.page_size or int(meta.get("maxRecordCount") or 1000)
        params: dict[str, Any] = {**extra, "where": self.options.where, "outFields": self.options.out_fields,
                                  "f": "geojson", "outSR": "4326", "returnGeometry": "true",
                                  "resultRecordCount": page_size}
        if meta.get("objectIdField"):
            params["orderByFields"] = meta["objectIdField"]
        seen: dict[str, int] = {}
        offset = 0
        for number in range(1, self.options.max_pages + 1):
            document = _arcgis_json(fetcher, f"{layer_url}/query", {**params, "resultOffset": offset}, headers)
            page = _feature_collection(document, message_url(layer_url))
            _check_repeat(page, seen, number, layer_url)
            yield _Page(page.features, "EPSG:4326")
            exceeded = document.get("exceededTransferLimit") or (document.get("properties") or {}).get(
                "exceededTransferLimit")
            if not page.features or not exceeded:
                return
            offset += len(page.features)
        raise SourceError(f"more than max_pages = {self.options.max_pages} pages from {message_url(layer_url)}")

    # --- WFS ----------------------------------------------------------------

    def _wfs_pages(self, fetcher: Fetcher) -> Iterator[_Page]:
        options = self.options
        params: dict[str, Any] = {"service": "WFS", "version": options.version, "request": "GetFeature",
                                  "typeNames" if options.version == "2.0.0" else "typeName": options.type_name}
        if options.output_format == "geojson":
            params["outputFormat"] = "application/json"
        seen: dict[str, int] = {}
        for number in range(1, options.max_pages + 1):
            if options.page_size:
                count_key = "count" if options.version == "2.0.0" else "maxFeatures"
                params.update({count_key: options.page_size, "startIndex": (number - 1) * options.page_size})
            page = self._wfs_page(self._read(fetcher, params))
            _check_repeat(page, seen, number, self.options.path or self._url())
            yield page
            if options.path or not options.page_size or len(page.features) < options.page_size:
                return
        raise SourceError(f"more than max_pages = {options.max_pages} pages from the WFS")

    def _wfs_page(self, data: bytes) -> _Page:
        from publisher.sources._gml import GmlError, WfsException, parse_features

        where = self.options.path or message_url(self._url())
        if data.lstrip()[:1] in (b"{", b"["):
            return self._geojson_page(data)
        try:
            parsed = parse_features(data)
        except WfsException as e:
            raise SourceError(f"the WFS at {where} answered an exception report: {e}",
                              hint="check type_name, version and the parameters") from e
        except GmlError as e:
            raise SourceError(f"cannot read the GetFeature response from {where}: {e}",
                              hint="check the URL; output_format = \"geojson\" may help") from e
        if len(parsed.srs_names) > 1:
            raise SourceError(f"the WFS layer mixes CRS: {', '.join(sorted(parsed.srs_names))}",
                              hint="set source.source_crs")
        srs = next(iter(parsed.srs_names), None)
        return _Page(parsed.features, srs, gml=True)


def _feature_collection(document: Any, where: str) -> _Page:
    if isinstance(document, dict) and document.get("type") == "Feature":
        document = {"type": "FeatureCollection", "features": [document]}
    features = document.get("features") if isinstance(document, dict) else None
    if not isinstance(features, list) or not all(isinstance(f, dict) for f in features):
        raise SourceError(f"{where} is not a GeoJSON FeatureCollection",
                          hint="expected {\"type\": \"FeatureCollection\", \"features\": [...]}")
    crs = document.get("crs") if isinstance(document, dict) else None
    name = crs.get("properties", {}).get("name") if isinstance(crs, dict) else None
    return _Page(features, name if isinstance(name, str) else None)


def _check_repeat(page: _Page, seen: dict[str, int], number: int, where: str) -> None:
    if not page.features:
        return
    digest = hashlib.sha256(json.dumps(page.features, sort_keys=True, default=str).encode()).hexdigest()
    if digest in seen:
        raise SourceError(f"page loop: page {number} of {message_url(where)} repeats page {seen[digest]}",
                          hint="the server ignores the paging parameters; set page_size or check the service")
    seen[digest] = number


def _arcgis_json(fetcher: Fetcher, url: str, params: Mapping[str, Any], headers: Mapping[str, str]) -> Any:
    document = json_body(fetcher.request("GET", url, params=params, headers=headers), url)
    error = document.get("error") if isinstance(document, dict) else None
    if isinstance(error, dict):
        details = "; ".join(str(d) for d in error.get("details") or [])
        message = f"{error.get('code', '')} {error.get('message', '')} {details}".strip()
        raise SourceError(f"the ArcGIS server at {message_url(url)} answered an error: {message[:300]}",
                          hint="check the layer URL, where and the token")
    return document


def _esri_crs(meta: Any) -> str | None:
    for key in ("sourceSpatialReference", "spatialReference"):
        reference = meta.get(key) if isinstance(meta, dict) else None
        if reference is None and isinstance(meta, dict):
            reference = (meta.get("extent") or {}).get(key)
        if isinstance(reference, dict):
            wkid = reference.get("latestWkid") or reference.get("wkid")
            if isinstance(wkid, int):
                return f"EPSG:{_ESRI_TO_EPSG.get(wkid, wkid)}"
    return None

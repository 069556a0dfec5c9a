"""Geometry work for the geo source: CRS -> WGS84, validity, a streamed GeoJSON file.

``Reprojector`` turns coordinates in a source CRS into WGS84 longitude/latitude
(EPSG:4326, x = lon, y = lat). GML that names its CRS in URN or URI form
(``urn:ogc:def:crs:EPSG::4326``) writes coordinates in the CRS's own axis
order (latitude first for EPSG:4326): those are swapped. GeoJSON is always x/y.

``FeatureWriter`` checks each geometry with shapely (invalid ones are reported,
and kept, dropped, repaired or fatal as the steward chose) and streams the
features into one GeoJSON FeatureCollection on disk.

shapely and pyproj are optional dependencies (``pip install 'publisher[geo]'``),
imported here only when a geo source runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Literal

from publisher.errors import SourceError

log = logging.getLogger(__name__)

OnInvalid = Literal["warn", "drop", "repair", "fail"]
WGS84 = "EPSG:4326"
_URN_PREFIXES = ("urn:", "http://www.opengis.net/def/", "https://www.opengis.net/def/")


def _libraries() -> tuple[Any, Any]:
    try:
        import pyproj
        import shapely
    except ImportError as e:
        raise SourceError("the geo source needs shapely and pyproj",
                          hint="install them: pip install 'publisher[geo]'") from e
    return shapely, pyproj


class Reprojector:
    """Source CRS -> WGS84 lon/lat; ``label`` is the source CRS as text (EPSG:22185)."""

    def __init__(self, srs_name: str | None, *, gml_axis_order: bool = False) -> None:
        shapely, pyproj = _libraries()
        self._shapely = shapely
        name = srs_name or WGS84
        try:
            crs = pyproj.CRS.from_user_input(name)
        except pyproj.exceptions.CRSError as e:
            raise SourceError(f"unknown coordinate reference system {name!r}",
                              hint="set source.source_crs, e.g. EPSG:22185") from e
        authority = crs.to_authority()
        self.label = f"{authority[0]}:{authority[1]}" if authority else name
        self.swap = gml_axis_order and name.lower().startswith(_URN_PREFIXES) and _north_first(crs)
        wgs84 = pyproj.CRS.from_user_input(WGS84)
        self.identity = crs.equals(wgs84, ignore_axis_order=True)
        self._transformer = None if self.identity else pyproj.Transformer.from_crs(crs, wgs84, always_xy=True)

    def apply(self, geometry: Any) -> Any:
        """A shapely geometry in WGS84 lon/lat."""
        if self.swap:
            geometry = self._shapely.transform(geometry, lambda xy: xy[:, ::-1])
        if self._transformer is not None:
            transformer = self._transformer

            def to_wgs84(xy: Any) -> Any:
                import numpy

                lon, lat = transformer.transform(xy[:, 0], xy[:, 1])
                return numpy.column_stack([numpy.round(lon, 7), numpy.round(lat, 7)])

            geometry = self._shapely.transform(geometry, to_wgs84)
        return geometry


def _north_first(crs: Any) -> bool:
    axes = crs.axis_info
    return bool(axes) and axes[0].direction.lower() in ("north", "south")


class FeatureWriter:
    """Writes checked, reprojected features into a GeoJSON file; use as a context manager."""

    def __init__(self, path: Path, on_invalid: OnInvalid, dataset: str) -> None:
        self._shapely, _ = _libraries()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.on_invalid = on_invalid
        self.dataset = dataset
        self.count = 0
        self.seen = 0
        self.points = 0
        self.invalid: list[str] = []
        self._handle: IO[str] = path.open("w", encoding="utf-8")
        self._handle.write('{"type": "FeatureCollection", "features": [\n')

    def add(self, features: Iterable[dict[str, Any]], reprojector: Reprojector) -> None:
        for feature in features:
            self.seen += 1
            checked = self._checked(feature, reprojector)
            if checked is None:
                continue
            if self.count:
                self._handle.write(",\n")
            self._handle.write(json.dumps(checked, ensure_ascii=False, separators=(",", ":")))
            self.count += 1

    def _checked(self, feature: dict[str, Any], reprojector: Reprojector) -> dict[str, Any] | None:
        from shapely.geometry import mapping, shape
        from shapely.validation import explain_validity

        label = str(feature.get("id", f"#{self.seen}"))
        raw = feature.get("geometry")
        out = {"type": "Feature", "properties": feature.get("properties") or {}, "geometry": None}
        if "id" in feature:
            out["id"] = feature["id"]
        if raw is None:
            return out
        try:
            geometry = reprojector.apply(shape(raw))
            reason = None if geometry.is_valid else explain_validity(geometry)
        except (ValueError, TypeError, AttributeError, self._shapely.errors.GEOSException) as e:
            geometry, reason = None, f"malformed geometry ({e})"
        if reason is not None:
            self.invalid.append(f"feature {label}: {reason}")
            if self.on_invalid == "fail":
                raise SourceError(f"invalid geometry in feature {label}: {reason}",
                                  hint='fix the layer or set on_invalid_geometry = "warn", "drop" or "repair"')
            if self.on_invalid == "drop" or geometry is None:
                return None if self.on_invalid == "drop" else {**out, "geometry": raw}
            if self.on_invalid == "repair":
                geometry = self._shapely.make_valid(geometry)
        out["geometry"] = mapping(geometry)
        self.points += geometry.geom_type == "Point"
        return out

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.write("\n]}\n")
            self._handle.close()

    def report(self) -> None:
        """Log the invalid geometries (count and the first few, with the reason)."""
        if not self.invalid:
            return
        action = {"warn": "kept as they are", "drop": "dropped", "repair": "repaired with make_valid",
                  "fail": "failed"}[self.on_invalid]
        log.warning("dataset '%s': %d invalid geometries (%s): %s", self.dataset, len(self.invalid), action,
                    "; ".join(self.invalid[:5]) + (" ..." if len(self.invalid) > 5 else ""))

    def __enter__(self) -> FeatureWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

"""OGC WFS GetFeature responses in GML 2 or GML 3 -> GeoJSON-like features.

Parsed with the standard library's XML parser from the raw bytes, so the
document's declared encoding (``ISO-8859-1`` in MapServer exports) is honoured
and entities such as ``&quot;`` are decoded. Handles ``gml:featureMember``,
``gml:featureMembers`` and WFS 2.0 ``wfs:member``; geometries Point,
LineString, Polygon (GML 2 ``outerBoundaryIs`` and GML 3 ``exterior``), their
Multi* forms (GML 3 ``MultiSurface``/``MultiCurve`` too), with ``gml:coordinates``,
``gml:coord``, ``gml:pos`` and ``gml:posList``.

Coordinates are returned in the order the document writes them; ``srs_names``
tells the caller which CRS (and so which axis order) they are in. An OWS
``ExceptionReport`` (or WFS 1.0 ``ServiceExceptionReport``) raises ``WfsException``.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

GML_NAMESPACES = ("http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2")
_MEMBER_TAGS = {"featureMember", "member", "featureMembers"}
Coordinates = list[list[float]]


class WfsException(Exception):
    """The server answered an exception report instead of features."""


class GmlError(Exception):
    """The document is not GML that can be read."""


@dataclass
class GmlFeatures:
    """What a GetFeature document held."""

    features: list[dict[str, Any]] = field(default_factory=list)
    srs_names: set[str] = field(default_factory=set)


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        namespace, _, local = tag[1:].partition("}")
        return namespace, local
    return "", tag


def _local(element: ET.Element) -> str:
    return _split(element.tag)[1]


def _is_gml(element: ET.Element) -> bool:
    return _split(element.tag)[0] in GML_NAMESPACES


def parse_features(data: bytes) -> GmlFeatures:
    """Every feature in a GetFeature document (see the module docstring)."""
    result = GmlFeatures()
    try:
        root = ET.parse(io.BytesIO(data)).getroot()
    except ET.ParseError as e:
        raise GmlError(f"not well-formed XML ({e})") from e
    if _local(root) in ("ExceptionReport", "ServiceExceptionReport"):
        raise WfsException(_exception_text(root))
    for member in root.iter():
        if _local(member) not in _MEMBER_TAGS:
            continue
        for element in member:
            result.features.append(_feature(element, result.srs_names))
    return result


def _exception_text(root: ET.Element) -> str:
    parts = []
    for element in root.iter():
        if _local(element) in ("Exception", "ServiceException"):
            code = element.get("exceptionCode") or element.get("code") or ""
            text = " ".join("".join(element.itertext()).split())
            parts.append(f"{code}: {text}" if code else text)
    return "; ".join(parts)[:300] or "the server returned an exception report"


def _feature(element: ET.Element, srs_names: set[str]) -> dict[str, Any]:
    properties: dict[str, Any] = {}
    geometry: dict[str, Any] | None = None
    for child in element:
        if _is_gml(child):
            continue  # gml:boundedBy, gml:name...
        geometry_element = next((g for g in child if _is_gml(g)), None)
        if geometry_element is not None:
            if geometry is None:
                geometry = _geometry(geometry_element, srs_names)
            continue
        properties[_local(child)] = None if child.text is None else child.text.strip() if child.text.strip() else ""
    feature_id = element.get("fid") or next((v for k, v in element.attrib.items() if _split(k)[1] == "id"), None)
    feature: dict[str, Any] = {"type": "Feature", "properties": properties, "geometry": geometry}
    if feature_id:
        feature["id"] = feature_id
    return feature


def _geometry(element: ET.Element, srs_names: set[str]) -> dict[str, Any]:
    srs = element.get("srsName")
    if srs:
        srs_names.add(srs)
    kind = _local(element)
    if kind == "Point":
        return {"type": "Point", "coordinates": _coordinates(element)[0]}
    if kind in ("LineString", "LinearRing"):
        return {"type": "LineString", "coordinates": _coordinates(element)}
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": _polygon(element)}
    if kind == "MultiPoint":
        return {"type": "MultiPoint", "coordinates": [_coordinates(p)[0] for p in _parts(element, "Point")]}
    if kind in ("MultiLineString", "MultiCurve"):
        return {"type": "MultiLineString", "coordinates": [_coordinates(p) for p in _parts(element, "LineString")]}
    if kind in ("MultiPolygon", "MultiSurface"):
        return {"type": "MultiPolygon", "coordinates": [_polygon(p) for p in _parts(element, "Polygon")]}
    raise GmlError(f"unsupported GML geometry gml:{kind}")


def _parts(element: ET.Element, kind: str) -> Iterator[ET.Element]:
    for child in element.iter():
        if child is not element and _is_gml(child) and _local(child) == kind:
            yield child


def _polygon(element: ET.Element) -> list[Coordinates]:
    rings: list[Coordinates] = []
    for child in element:
        if _local(child) in ("outerBoundaryIs", "exterior"):
            rings.insert(0, _coordinates(child))
        elif _local(child) in ("innerBoundaryIs", "interior"):
            rings.append(_coordinates(child))
    if not rings:
        raise GmlError("a gml:Polygon without an exterior ring")
    return rings


def _coordinates(element: ET.Element) -> Coordinates:
    """The first coordinate list found inside ``element``."""
    for child in element.iter():
        if not _is_gml(child):
            continue
        local = _local(child)
        if local == "coordinates":
            return _parse_coordinates(child)
        if local == "posList":
            dimension = int(child.get("srsDimension") or child.get("dimension") or 2)
            numbers = [float(n) for n in (child.text or "").split()]
            return [numbers[i:i + dimension] for i in range(0, len(numbers), dimension)]
        if local == "pos":
            positions = [c for c in element.iter() if _is_gml(c) and _local(c) == "pos"]
            return [[float(n) for n in (c.text or "").split()] for c in positions]
        if local == "coord":
            coords = [c for c in element.iter() if _is_gml(c) and _local(c) == "coord"]
            return [[float(v.text or "") for v in c if _local(v) in ("X", "Y", "Z")] for c in coords]
    raise GmlError(f"no coordinates inside gml:{_local(element)}")


def _parse_coordinates(element: ET.Element) -> Coordinates:
    separator = element.get("cs", ",")
    tuple_separator = element.get("ts", " ")
    decimal = element.get("decimal", ".")
    text = (element.text or "").strip()
    tuples = text.split(tuple_separator) if tuple_separator.strip() else text.split()
    points = []
    for item in tuples:
        if not item.strip():
            continue
        values = item.strip().split(separator)
        points.append([float(v.replace(decimal, ".") if decimal != "." else v) for v in values])
    return points

"""The geo source: GeoJSON, ArcGIS REST and WFS layers served by a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publisher.errors import SourceError
from publisher.sources import registry
from publisher.sources.base import Extraction, SourceContext
from publisher.sources.geo import GeoOptions, GeoSource

pytest.importorskip("shapely")
pyproj = pytest.importorskip("pyproj")

ROSARIO_GML = "rosario_barrios_wfs.gml"
POINTS = [(-60.6505, -32.9468, "Hospital Provincial"), (-60.6393, -32.9575, "Hospital Centenario"),
          (-60.6800, -32.9300, "Hospital Alberdi"), (-60.7001, -32.9510, "Hospital Eva Perón"),
          (-60.6644, -32.9712, "Maternidad Martin")]


def geo(base_dir: Path, **raw: Any) -> tuple[GeoSource, Extraction]:
    options = GeoOptions.model_validate({"kind": "geo", **raw}, context={"base_dir": base_dir})
    source = GeoSource(options, SourceContext(dataset="barrios", base_dir=base_dir, environ={"GIS_TOKEN": "tk-9"}))
    return source, source.extract(base_dir / "staging")


def features(extraction: Extraction) -> list[dict[str, Any]]:
    (staged,) = extraction.files
    assert staged.read.format == "geojson" and staged.path.suffix == ".geojson"
    document = json.loads(staged.path.read_text(encoding="utf-8"))
    assert document["type"] == "FeatureCollection"
    result: list[dict[str, Any]] = document["features"]
    return result


# --- the model city's own WFS export (ISO-8859-1 GML 2) ---------------------

def test_rosario_wfs_gml_file_in_iso_8859_1(corpus: Path) -> None:
    source, extraction = geo(corpus / "geojson", service="wfs", path=ROSARIO_GML)
    found = features(extraction)
    assert len(found) == 50
    names = {f["properties"]["BARRIO"] for f in found}
    assert {"Antártida Argentina", "Ludueña Sur y Norte", "Docente \"Hermanas Cossettini\""} <= names
    first = found[0]
    assert first["id"] == "barrios.1" and first["properties"] == {"MSLINK": "28", "BARRIO": "Victoria Walsh",
                                                                  "OBSERVACIO": None}
    assert first["geometry"]["type"] == "Polygon"
    assert first["geometry"]["coordinates"][0][0] == [-60.689926, -32.964951]  # lon, lat kept
    assert "source CRS EPSG:4326" in source.describe_origin()
    assert registry.get("geo") is GeoSource


def test_rosario_gml_served_by_a_wfs(httpserver: HTTPServer, corpus: Path, tmp_path: Path) -> None:
    body = (corpus / "geojson" / ROSARIO_GML).read_bytes()
    httpserver.expect_request("/wfs", query_string={"service": "WFS", "version": "1.0.0", "request": "GetFeature",
                                                    "typeName": "barrios", "token": "tk-9"}
                              ).respond_with_data(body, content_type="text/xml; subtype=gml/2.1.2")
    source, extraction = geo(tmp_path, service="wfs", url=httpserver.url_for("/wfs"), type_name="barrios",
                             version="1.0.0", params={"token": {"env": "GIS_TOKEN"}})
    assert len(features(extraction)) == 50
    origin = source.describe_origin()
    assert origin.startswith("OGC WFS http://localhost:") and "barrios" in origin and "tk-9" not in origin


def gml3(points: list[tuple[float, float, str]], srs: str) -> bytes:
    members = "".join(
        f'<wfs:member><app:hospital gml:id="h.{n}"><app:nombre>{name}</app:nombre>'
        f'<app:geom><gml:Point srsName="{srs}"><gml:pos>{a} {b}</gml:pos></gml:Point></app:geom>'
        f"</app:hospital></wfs:member>" for n, (a, b, name) in enumerate(points, 1))
    return ('<?xml version="1.0" encoding="UTF-8"?><wfs:FeatureCollection xmlns:wfs="http://www.opengis.net/wfs/2.0" '
            'xmlns:gml="http://www.opengis.net/gml/3.2" xmlns:app="http://example.org/app">'
            f"{members}</wfs:FeatureCollection>").encode()


def test_wfs2_gml3_urn_crs_is_latitude_first(httpserver: HTTPServer, tmp_path: Path) -> None:
    body = gml3([(lat, lon, name) for lon, lat, name in POINTS], "urn:ogc:def:crs:EPSG::4326")
    httpserver.expect_request("/wfs", query_string={"service": "WFS", "version": "2.0.0", "request": "GetFeature",
                                                    "typeNames": "app:hospital"}).respond_with_data(
        body, content_type="application/gml+xml; version=3.2")
    _, extraction = geo(tmp_path, service="wfs", url=httpserver.url_for("/wfs"), type_name="app:hospital",
                        version="2.0.0")
    found = features(extraction)
    assert [f["geometry"]["coordinates"] for f in found] == [[lon, lat] for lon, lat, _ in POINTS]
    assert found[3]["properties"] == {"nombre": "Hospital Eva Perón"} and found[3]["id"] == "h.4"


def test_gml3_in_posgar_gauss_kruger_is_reprojected_to_wgs84(httpserver: HTTPServer, tmp_path: Path) -> None:
    to_posgar = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:22185", always_xy=True)
    projected = [(*to_posgar.transform(lon, lat), name) for lon, lat, name in POINTS]
    assert 5_400_000 < projected[0][0] < 5_500_000  # really Gauss-Krüger metres
    httpserver.expect_request("/wfs").respond_with_data(gml3(projected, "EPSG:22185"), content_type="text/xml")
    source, extraction = geo(tmp_path, service="wfs", url=httpserver.url_for("/wfs"), type_name="hospitales")
    for feature, (lon, lat, _) in zip(features(extraction), POINTS, strict=True):
        assert feature["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-6)
    assert "source CRS EPSG:22185; published in WGS84, EPSG:4326" in source.describe_origin()


def test_wfs_exception_report_is_one_line(httpserver: HTTPServer, tmp_path: Path) -> None:
    report = ('<?xml version="1.0" encoding="UTF-8"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1" '
              'version="2.0.0"><ows:Exception exceptionCode="InvalidParameterValue" locator="typeName">'
              "<ows:ExceptionText>Feature type barrioz unknown</ows:ExceptionText></ows:Exception>"
              "</ows:ExceptionReport>")
    httpserver.expect_request("/wfs").respond_with_data(report, content_type="text/xml")
    with pytest.raises(SourceError) as caught:
        geo(tmp_path, service="wfs", url=httpserver.url_for("/wfs"), type_name="barrioz")
    line = caught.value.one_line()
    assert "answered an exception report: InvalidParameterValue: Feature type barrioz unknown" in line
    assert "\n" not in line


def test_wfs_geojson_output(httpserver: HTTPServer, tmp_path: Path) -> None:
    collection = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}},
                  "features": [{"type": "Feature", "id": "p.1", "properties": {"nombre": "Plaza"},
                                "geometry": {"type": "Point", "coordinates": [-60.65, -32.95]}}]}
    httpserver.expect_request("/wfs", query_string={"service": "WFS", "version": "1.1.0", "request": "GetFeature",
                                                    "typeName": "plazas", "outputFormat": "application/json"}
                              ).respond_with_json(collection)
    _, extraction = geo(tmp_path, service="wfs", url=httpserver.url_for("/wfs"), type_name="plazas",
                        output_format="geojson")
    assert features(extraction) == [{"type": "Feature", "id": "p.1", "properties": {"nombre": "Plaza"},
                                     "geometry": {"type": "Point", "coordinates": [-60.65, -32.95]}}]


# --- ArcGIS REST ------------------------------------------------------------

LAYER_META = {"name": "Hospitales", "maxRecordCount": 2, "objectIdField": "OBJECTID",
              "extent": {"spatialReference": {"wkid": 102100, "latestWkid": 3857}}}


def arcgis_handler(ignore_offset: bool = False) -> Any:
    def handler(request: Request) -> Response:
        assert request.args["where"] == "1=1" and request.args["outFields"] == "*"
        assert request.args["f"] == "geojson" and request.args["orderByFields"] == "OBJECTID"
        offset = 0 if ignore_offset else int(request.args["resultOffset"])
        size = int(request.args["resultRecordCount"])
        page = [{"type": "Feature", "id": n + 1, "properties": {"OBJECTID": n + 1, "NOMBRE": name},
                 "geometry": {"type": "Point", "coordinates": [lon, lat]}}
                for n, (lon, lat, name) in enumerate(POINTS)][offset:offset + size]
        body = {"type": "FeatureCollection", "features": page,
                "properties": {"exceededTransferLimit": offset + size < len(POINTS)}}
        return Response(json.dumps(body), content_type="application/geo+json")
    return handler


def test_arcgis_layer_paged_by_result_offset(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/arcgis/rest/services/Salud/FeatureServer/0",
                              query_string={"f": "json"}).respond_with_json(LAYER_META)
    httpserver.expect_request("/arcgis/rest/services/Salud/FeatureServer/0/query").respond_with_handler(
        arcgis_handler())
    source, extraction = geo(tmp_path, service="arcgis", url=httpserver.url_for("/arcgis/rest/services/Salud/"
                                                                                 "FeatureServer/0"))
    found = features(extraction)
    assert [f["properties"]["NOMBRE"] for f in found] == [name for _, _, name in POINTS]
    offsets = [r.args.get("resultOffset") for r, _ in httpserver.log if r.path.endswith("/query")]
    assert offsets == ["0", "2", "4"]
    assert "source CRS EPSG:3857" in source.describe_origin()


def test_arcgis_server_ignoring_the_offset_is_a_page_loop(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/layer/0", query_string={"f": "json"}).respond_with_json(LAYER_META)
    httpserver.expect_request("/layer/0/query").respond_with_handler(arcgis_handler(ignore_offset=True))
    with pytest.raises(SourceError, match=r"page loop: page 2 .* repeats page 1"):
        geo(tmp_path, service="arcgis", url=httpserver.url_for("/layer/0"))


def test_arcgis_error_body_is_one_line(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/layer/0").respond_with_json(
        {"error": {"code": 499, "message": "Token Required", "details": []}})
    with pytest.raises(SourceError, match="answered an error: 499 Token Required"):
        geo(tmp_path, service="arcgis", url=httpserver.url_for("/layer/0"))


def test_html_instead_of_geojson(httpserver: HTTPServer, tmp_path: Path) -> None:
    httpserver.expect_request("/capa.geojson").respond_with_data("<html>Mantenimiento</html>",
                                                                 content_type="text/html")
    with pytest.raises(SourceError, match="answered an HTML page instead of a layer"):
        geo(tmp_path, url=httpserver.url_for("/capa.geojson"))


# --- GeoJSON and invalid geometries -----------------------------------------

def test_geojson_file_with_legacy_crs_and_points(corpus: Path) -> None:
    source, extraction = geo(corpus / "geojson", path="caba_hospitales.geojson")
    found = features(extraction)
    assert len(found) == 36 and all(f["geometry"]["type"] == "Point" for f in found)
    assert "source CRS OGC:CRS84" in source.describe_origin()


BOWTIE = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [0, 1], [1, 1], [1, 0], [0, 0]]]}


@pytest.mark.parametrize(("policy", "kept"), [("warn", 2), ("drop", 1), ("repair", 2)])
def test_invalid_geometries_are_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture, policy: str,
                                         kept: int) -> None:
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": "ok", "properties": {"n": 1}, "geometry": SQUARE},
        {"type": "Feature", "id": "moño", "properties": {"n": 2}, "geometry": BOWTIE}]}
    (tmp_path / "capa.geojson").write_text(json.dumps(collection), encoding="utf-8")
    with caplog.at_level(logging.WARNING):
        _, extraction = geo(tmp_path, path="capa.geojson", on_invalid_geometry=policy)
    found = features(extraction)
    assert len(found) == kept
    assert "1 invalid geometries" in caplog.text and "feature moño: Self-intersection" in caplog.text
    if policy == "repair":
        import shapely.geometry

        assert shapely.geometry.shape(found[1]["geometry"]).is_valid


def test_invalid_geometry_can_fail_the_dataset(tmp_path: Path) -> None:
    collection = {"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": BOWTIE}]}
    (tmp_path / "capa.geojson").write_text(json.dumps(collection), encoding="utf-8")
    with pytest.raises(SourceError, match="invalid geometry in feature #1: Self-intersection"):
        geo(tmp_path, path="capa.geojson", on_invalid_geometry="fail")


def test_options_are_checked_at_load(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match=r"file not found: nada\.geojson"):
        GeoOptions.model_validate({"kind": "geo", "path": "nada.geojson"}, context={"base_dir": tmp_path})
    with pytest.raises(ValidationError, match="needs type_name"):
        GeoOptions.model_validate({"kind": "geo", "service": "wfs", "url": "http://x/wfs"})
    with pytest.raises(ValidationError, match="exactly one of path or url"):
        GeoOptions.model_validate({"kind": "geo"})


def test_describe_publishes_points_with_lon_lat_columns(corpus: Path, tmp_path: Path) -> None:
    """The staged GeoJSON through the describe stage: an attributes CSV plus the GeoJSON itself."""
    from publisher.config import SchemaOverrides
    from publisher.tables import describe_file

    _, extraction = geo(corpus / "geojson", path="caba_hospitales.geojson")
    table = describe_file(extraction.files[0], tmp_path / "hospitales.csv", SchemaOverrides(), resource_name="h")
    with table.path.open(encoding="utf-8", newline="") as handle:
        header = next(csv.reader(handle))
    assert header[-2:] == ["lon", "lat"] and "nombre" in header
    assert extraction.files[0].path in table.extra_files

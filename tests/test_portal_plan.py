"""The portal's pure parts and its one client wrapper, without CKAN.

plan_dataset_sync is checked on hand-built remote dicts (the shape of CKAN's
package_show); the client's error mapping and retries against a real HTTP
server on loopback (pytest-httpserver) and a closed port.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from publisher.errors import PortalError, TransientPortalError
from publisher.portal.client import CkanClient, CkanNotAuthorized, CkanNotFound, CkanValidationError, is_write
from publisher.portal.mapping import (
    EXTRA_TAGS,
    MANAGED_MARK,
    DesiredDataset,
    DesiredResource,
    report_sha256,
    volatile_extras,
)
from publisher.portal.plan import ActionKind, RemoteFacts, plan_dataset_sync

# --- plan ------------------------------------------------------------------------


def desired(tmp_path: Path, *, tags: tuple[str, ...] = ("agua", "ambiente"), sha: str = "a" * 64,
            title: str = "Calidad del agua") -> DesiredDataset:
    data = tmp_path / "agua.csv"
    data.write_text("id\n1\n", encoding="utf-8")
    resource = DesiredResource(
        name="agua", path=data, content_sha256=sha,
        fields={"name": "agua", "description": "", "format": "CSV", "mimetype": "text/csv", "size": 5,
                "content_sha256": sha, "schema": '{"fields":[{"name":"id","type":"integer"}]}', MANAGED_MARK: "true"},
        table_schema={"fields": [{"name": "id", "type": "integer"}]},
    )
    return DesiredDataset(
        name="agua", fields={"title": title, "license_id": "cc-by", "owner_org": "muni"}, tags=tags,
        groups=(), extras={MANAGED_MARK: "true", "update_frequency": "R/P1D"}, resources=[resource],
    )


def remote_of(wanted: DesiredDataset, **changes: Any) -> dict[str, Any]:
    """What package_show returns after the publisher created ``wanted`` (plus ``changes``)."""
    extras = {**wanted.extras, EXTRA_TAGS: json.dumps(sorted(wanted.tags), separators=(",", ":")),
              "publisher_groups": "[]", **volatile_extras("2026-01-01T00:00:00Z")}
    resource = {**wanted.resources[0].fields, "id": "r1", "url_type": "upload", "format": "CSV",
                "schema": json.dumps(json.loads(wanted.resources[0].fields["schema"]), indent=1)}
    package = {
        "id": "p1", "name": wanted.name, "title": wanted.fields["title"], "license_id": "cc-by", "notes": None,
        "organization": {"name": "muni"}, "owner_org": "o1", "private": False, "state": "active",
        "tags": [{"name": t} for t in wanted.tags], "groups": [],
        "extras": [{"key": k, "value": v} for k, v in extras.items()], "resources": [resource],
    }
    package.update(changes)
    return package


def kinds(plan: Any) -> list[str]:
    return [str(a.kind) for a in plan.actions]


def test_new_dataset_is_created_then_its_files_uploaded(tmp_path: Path) -> None:
    plan = plan_dataset_sync(desired(tmp_path), None, RemoteFacts(missing_groups=frozenset()), {})
    assert kinds(plan) == ["create_dataset", "create_resource"]
    assert plan.actions[1].file is not None and plan.actions[1].file.name == "agua.csv"


def test_same_state_plans_only_skips_even_when_volatile_values_differ(tmp_path: Path) -> None:
    wanted = desired(tmp_path)
    plan = plan_dataset_sync(wanted, remote_of(wanted), RemoteFacts(), volatile_extras("2030-12-31T00:00:00Z"))
    assert kinds(plan) == ["skip", "skip"] and not plan.write_actions


def test_new_content_is_one_upload_then_the_harvest_is_recorded(tmp_path: Path) -> None:
    before = desired(tmp_path)
    plan = plan_dataset_sync(desired(tmp_path, sha="b" * 64), remote_of(before), RemoteFacts(),
                             volatile_extras("2030-12-31T00:00:00Z"))
    assert kinds(plan) == ["upload", "patch_dataset"]
    assert plan.actions[0].resource_id == "r1"
    assert set(plan.actions[0].changes) == {"content_sha256"}
    assert plan.actions[1].changes == {}  # written only to record last_harvested along with the upload
    extras = {e["key"]: e["value"] for e in plan.actions[1].payload["extras"]}
    assert extras["last_harvested"] == "2030-12-31T00:00:00Z"


def test_metadata_change_is_a_field_level_patch(tmp_path: Path) -> None:
    wanted = desired(tmp_path)
    plan = plan_dataset_sync(desired(tmp_path, title="Agua potable"), remote_of(wanted), RemoteFacts(), {})
    assert kinds(plan) == ["skip", "patch_dataset"]
    assert plan.actions[1].changes == {"title": ("Calidad del agua", "Agua potable")}


def test_hand_made_tags_extras_and_resources_are_merged_back(tmp_path: Path) -> None:
    wanted = desired(tmp_path)
    remote = remote_of(wanted)
    remote["tags"].append({"name": "puesto-a-mano"})
    remote["extras"].append({"key": "nota", "value": "de una persona"})
    remote["resources"].append({"id": "r2", "name": "mapa", "url": "https://example.org/mapa"})
    # the steward drops the keyword "ambiente"
    plan = plan_dataset_sync(desired(tmp_path, tags=("agua",)), remote, RemoteFacts(), {})
    patch = plan.actions[-1]
    assert patch.kind is ActionKind.PATCH_DATASET
    assert sorted(t["name"] for t in patch.payload["tags"]) == ["agua", "puesto-a-mano"]
    assert {"key": "nota", "value": "de una persona"} in patch.payload["extras"]
    assert "resources" not in patch.payload  # package_patch keeps the resources it is not sent
    assert not any(a.kind is ActionKind.DELETE_RESOURCE for a in plan.actions)


def test_size_alone_is_not_a_change(tmp_path: Path) -> None:
    wanted = desired(tmp_path)
    remote = remote_of(wanted)
    remote["resources"][0]["size"] = 6
    assert not plan_dataset_sync(wanted, remote, RemoteFacts(), {}).write_actions


def test_duplicates_left_by_an_interrupted_run_are_deleted(tmp_path: Path) -> None:
    wanted = desired(tmp_path)
    remote = remote_of(wanted)
    remote["resources"].append({**remote["resources"][0], "id": "r-dup"})
    plan = plan_dataset_sync(wanted, remote, RemoteFacts(), {})
    deletes = [a for a in plan.actions if a.kind is ActionKind.DELETE_RESOURCE]
    assert [a.resource_id for a in deletes] == ["r-dup"]
    assert plan.actions[-1].kind is ActionKind.PATCH_DATASET  # metadata last


def test_datastore_is_reloaded_when_its_row_count_is_wrong(tmp_path: Path) -> None:
    wanted = DesiredDataset(**{**desired(tmp_path).__dict__, "datastore": True})
    remote = remote_of(wanted)
    remote["resources"][0]["datastore_active"] = True
    complete = RemoteFacts(datastore_rows={"r1": 1}, local_rows={"agua": 1})
    assert not plan_dataset_sync(wanted, remote, complete, {}).write_actions
    partial = RemoteFacts(datastore_rows={"r1": 0}, local_rows={"agua": 1})
    assert kinds(plan_dataset_sync(wanted, remote, partial, {}))[:2] == ["skip", "load_datastore"]


def test_validation_report_hash_ignores_timings(tmp_path: Path) -> None:
    one, two = tmp_path / "one.json", tmp_path / "two.json"
    one.write_text(json.dumps({"valid": True, "stats": {"seconds": 0.1}, "tasks": [{"place": "/tmp/a"}]}))
    two.write_text(json.dumps({"valid": True, "stats": {"seconds": 9.25}, "tasks": [{"place": "/tmp/b"}]}))
    assert report_sha256(one) == report_sha256(two)
    two.write_text(json.dumps({"valid": False, "stats": {"seconds": 9.25}, "tasks": [{"place": "/tmp/b"}]}))
    assert report_sha256(one) != report_sha256(two)


# --- the client wrapper -------------------------------------------------------------

def client_for(server: HTTPServer, **kwargs: Any) -> tuple[CkanClient, list[float]]:
    sleeps: list[float] = []
    client = CkanClient(server.url_for("/"), token="secret-token-123", timeout=2, sleep=sleeps.append, **kwargs)
    return client, sleeps


def ckan_error(status: int, error: dict[str, Any]) -> Response:
    return Response(json.dumps({"success": False, "error": error}), status=status, content_type="application/json")


def test_5xx_is_retried_with_backoff_then_succeeds(httpserver: HTTPServer) -> None:
    calls: list[str] = []

    def handler(request: Request) -> Response:
        calls.append(request.headers.get("Authorization", ""))
        if len(calls) < 3:
            return Response("upstream broke", status=502)
        return Response(json.dumps({"success": True, "result": {"id": "p1"}}), content_type="application/json")

    httpserver.expect_request("/api/3/action/package_patch", method="POST").respond_with_handler(handler)
    client, sleeps = client_for(httpserver, retries=3)
    assert client.call("package_patch", {"id": "p1"}) == {"id": "p1"}
    assert sleeps == [0.5, 1.0]
    assert calls == ["secret-token-123"] * 3
    assert client.write_calls == 3 and client.read_calls == 0


def test_5xx_that_persists_is_a_transient_error_after_the_retries(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/3/action/package_show").respond_with_data("down", status=503)
    client, sleeps = client_for(httpserver, retries=2)
    with pytest.raises(TransientPortalError, match="HTTP 503") as caught:
        client.call("package_show", {"id": "x"})
    assert len(sleeps) == 2 and caught.value.action == "package_show"


def test_validation_error_is_terminal_with_field_errors_in_one_line(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/api/3/action/package_create").respond_with_response(ckan_error(409, {
        "__type": "Validation Error", "name": ["That URL is already in use."],
        "maintainer_email": ["Email x is not a valid format"]}))
    client, sleeps = client_for(httpserver)
    with pytest.raises(CkanValidationError) as caught:
        client.call("package_create", {"name": "x"})
    assert sleeps == []
    line = caught.value.one_line()
    assert "name: That URL is already in use." in line and "maintainer_email: Email x is not a valid format" in line
    assert "\n" not in line and "secret-token-123" not in line


@pytest.mark.parametrize(("error", "expected"), [
    ({"__type": "Authorization Error", "message": "Access denied"}, CkanNotAuthorized),
    ({"__type": "Not Found Error", "message": "Not found"}, CkanNotFound),
])
def test_authorization_and_not_found_are_terminal(httpserver: HTTPServer, error: dict[str, Any],
                                                  expected: type[PortalError]) -> None:
    httpserver.expect_request("/api/3/action/package_show").respond_with_response(ckan_error(403, error))
    client, sleeps = client_for(httpserver)
    with pytest.raises(expected):
        client.call("package_show", {"id": "x"})
    assert sleeps == []


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_refused_is_transient_and_names_no_secret() -> None:
    sleeps: list[float] = []
    client = CkanClient(f"http://127.0.0.1:{closed_port()}", token="secret-token-123", retries=2,
                        sleep=sleeps.append)
    with pytest.raises(TransientPortalError, match="cannot connect to CKAN") as caught:
        client.call("package_show", {"id": "x"})
    assert sleeps == [0.5, 1.0]
    assert "secret-token-123" not in caught.value.one_line() and "secret-token-123" not in repr(client)


def test_a_creation_that_timed_out_is_not_repeated(httpserver: HTTPServer) -> None:
    calls: list[int] = []

    def slow(request: Request) -> Response:
        import time

        calls.append(1)
        time.sleep(1.5)
        return Response(json.dumps({"success": True, "result": {}}), content_type="application/json")

    httpserver.expect_request("/api/3/action/package_create").respond_with_handler(slow)
    client = CkanClient(httpserver.url_for("/"), timeout=0.5, retries=3, sleep=lambda s: None)
    with pytest.raises(TransientPortalError, match="did not answer"):
        client.call("package_create", {"name": "x"})
    assert calls == [1]


def test_token_goes_only_to_the_portal_host(httpserver: HTTPServer, tmp_path: Path) -> None:
    seen: list[str | None] = []

    def record(request: Request) -> Response:
        seen.append(request.headers.get("Authorization"))
        return Response("a,b\n1,2\n")

    httpserver.expect_request("/file.csv").respond_with_handler(record)
    same_host = CkanClient(httpserver.url_for("/"), token="tok")
    other_host = CkanClient("http://ckan.invalid", token="tok")
    assert same_host.download(httpserver.url_for("/file.csv"), tmp_path / "a.csv") == 8
    other_host.download(httpserver.url_for("/file.csv"), tmp_path / "b.csv")
    assert seen == ["tok", None]


def test_reads_and_writes_are_told_apart() -> None:
    assert not is_write("package_show") and not is_write("package_search") and not is_write("status_show")
    assert not is_write("datastore_search") and not is_write("license_list")
    assert not is_write("organization_list_for_user") and not is_write("datastore_info")
    assert is_write("package_patch") and is_write("resource_create") and is_write("datastore_create")
    assert is_write("package_delete")


def test_requests_session_is_used_for_every_call(httpserver: HTTPServer) -> None:
    class CountingSession(requests.Session):
        count = 0

        def request(self, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
            CountingSession.count += 1
            assert kwargs.get("timeout"), "every request carries a timeout"
            return super().request(*args, **kwargs)

    httpserver.expect_request("/api/3/action/status_show").respond_with_json({"success": True, "result": {}})
    client = CkanClient(httpserver.url_for("/"), session=CountingSession())
    client.call("status_show")
    assert CountingSession.count == 1


def test_uploads_are_streamed_as_multipart_that_a_server_parses(httpserver: HTTPServer, tmp_path: Path) -> None:
    received: dict[str, Any] = {}

    def handler(request: Request) -> Response:
        received["form"] = dict(request.form)
        upload = request.files["upload"]
        received["file"] = (upload.filename, upload.read())
        received["length"] = request.content_length
        return Response(json.dumps({"success": True, "result": {"id": "r1"}}), content_type="application/json")

    httpserver.expect_request("/api/3/action/resource_create", method="POST").respond_with_handler(handler)
    content = ("id,nombre\n" + "".join(f"{i},año {i}\n" for i in range(20000))).encode("utf-8")
    data = tmp_path / "datos año.csv"
    data.write_bytes(content)
    client = CkanClient(httpserver.url_for("/"))
    client.call("resource_create", {"package_id": "p1", "name": "datos", "size": 12, "schema": '{"fields":[]}'},
                upload=data)
    assert received["form"] == {"package_id": "p1", "name": "datos", "size": "12", "schema": '{"fields":[]}'}
    assert received["file"] == ("datos año.csv", content)
    assert received["length"] > len(content)  # sent with a Content-Length, not chunked


# --- scripts/ckan-local --------------------------------------------------------------

def test_ckan_local_status_is_3_and_down_is_harmless_when_nothing_runs(tmp_path: Path) -> None:
    import os
    import subprocess

    script = Path(__file__).resolve().parents[1] / "scripts" / "ckan-local"
    env = {**os.environ, "CKAN_BASE": str(tmp_path / "ckan"), "CKAN_PORT": str(closed_port())}
    status = subprocess.run([str(script), "status"], env=env, capture_output=True, text=True, timeout=60)
    assert status.returncode == 3 and "down" in status.stdout
    down = subprocess.run([str(script), "down"], env=env, capture_output=True, text=True, timeout=60)
    assert down.returncode == 0
    usage = subprocess.run([str(script), "sideways"], env=env, capture_output=True, text=True, timeout=60)
    assert usage.returncode == 2 and "usage" in usage.stderr

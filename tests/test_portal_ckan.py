"""Publishing to the real local CKAN (scripts/ckan-local, started by the session fixture).

Each test gets its own organization and unique dataset names (CKAN names are
global). Datasets go through the real pipeline: files -> package -> CKAN.
"""

from __future__ import annotations

import json
import logging
import uuid
from pathlib import Path
from typing import Any

import frictionless
import pytest
import requests

from publisher.config import Config, load_config
from publisher.hashing import file_sha256
from publisher.outcomes import DatasetResult, Outcome, RunReport
from publisher.portal import CkanClient, CkanPortal, from_config
from publisher.runner import RunDeps, run

pytestmark = pytest.mark.ckan

AIRE = "fecha,estacion,pm10\n2025-01-01,Centro,21.5\n2025-01-02,Centro,19.0\n2025-01-03,Norte,30.25\n"
RECLAMOS = "fecha,distrito,cantidad\n2025-02-01,Centro,12\n2025-02-02,Norte,7\n"


def unique(base: str) -> str:
    return f"{base}-{uuid.uuid4().hex[:8]}"


class Site:
    """A folder with data files and a harvest_config.toml publishing to one organization."""

    def __init__(self, folder: Path, org: str, env: dict[str, str]) -> None:
        self.folder, self.org, self.env = folder, org, env
        self.datasets: dict[str, str] = {}  # name -> its [[datasets]] TOML
        self.portal_extra = ""
        self.defaults = ""

    def add(self, name: str, files: dict[str, str], extra: str = "", *, glob: bool = False) -> str:
        data_dir = self.folder / name
        data_dir.mkdir(exist_ok=True)
        for filename, text in files.items():
            (data_dir / filename).write_text(text, encoding="utf-8")
        path = f"{name}/*.csv" if glob else f"{name}/{next(iter(files))}"
        self.datasets[name] = (f'[[datasets]]\nname = "{name}"\ntitle = "Title of {name}"\n'
                               f'source = {{ kind = "file", path = "{path}" }}\n{extra}\n')
        return name

    def write(self, name: str, filename: str, text: str) -> None:
        (self.folder / name / filename).write_text(text, encoding="utf-8")

    def config(self) -> Config:
        path = self.folder / "harvest_config.toml"
        path.write_text(
            f'[portal]\nurl = {{ env = "CKAN_URL" }}\napi_key = {{ env = "CKAN_API_TOKEN" }}\n'
            f'organization = "{self.org}"\nretries = 1\n{self.portal_extra}\n'
            f"[defaults]\n{self.defaults}\n" + "".join(self.datasets.values()), encoding="utf-8")
        return load_config(path)

    def portal(self, session: requests.Session | None = None) -> CkanPortal:
        portal = from_config(self.config(), self.env, session=session)
        assert portal is not None
        portal.client.sleep = lambda seconds: None  # retries without waiting
        return portal

    def run(self, *names: str, portal: CkanPortal | None = None, dry_run: bool = False,
            allow_mass: bool = False) -> tuple[RunReport, CkanPortal]:
        portal = portal or self.portal()
        deps = RunDeps(portal=portal, environ=self.env, allow_mass_withdrawal=allow_mass)
        return run(self.config(), names, dry_run=dry_run, deps=deps), portal


@pytest.fixture
def site(tmp_path: Path, ckan_org: str, ckan_env: dict[str, str]) -> Site:
    return Site(tmp_path, ckan_org, ckan_env)


@pytest.fixture
def admin(ckan_env: dict[str, str]) -> CkanClient:
    """A client for checking and hand-editing CKAN (its writes are not the publisher's)."""
    return CkanClient(ckan_env["CKAN_URL"], token=ckan_env["CKAN_API_TOKEN"])


def by_name(results: list[DatasetResult]) -> dict[str, DatasetResult]:
    return {r.dataset: r for r in results}


def extras(package: dict[str, Any]) -> dict[str, str]:
    return {e["key"]: e["value"] for e in package["extras"]}


def resources(package: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in package["resources"]}


def actions(result: DatasetResult, kind: str) -> list[dict[str, Any]]:
    return [a for a in result.plan if a["action"] == kind]


# --- create, re-run, change ------------------------------------------------------------

def test_first_run_creates_the_dataset_with_its_metadata_and_uploads(site: Site, admin: CkanClient) -> None:
    group = unique("ambiente")
    name = site.add(unique("aire"), {"aire.csv": AIRE}, extra=(
        'description = "Mediciones diarias."\nkeywords = ["ambiente", "calidad del aire"]\n'
        f'groups = ["{group}"]\nupdate_frequency = "daily"\nsource_system = "Red de monitoreo"\n'
        'maintainer = "Gobierno Abierto"\nmaintainer_email = "datos@example.org"\nversion = "1.0"\n'))
    report, portal = site.run()
    result = report.results[0]
    assert result.outcome is Outcome.PUBLISHED, result.message
    package = admin.call("package_show", {"id": name})
    assert result.ckan_id == package["id"] and result.ckan_url == f"{site.env['CKAN_URL']}/dataset/{name}"
    assert (package["title"], package["notes"], package["license_id"]) == (f"Title of {name}", "Mediciones diarias.",
                                                                            "cc-by")
    assert (package["maintainer"], package["maintainer_email"], package["version"]) == (
        "Gobierno Abierto", "datos@example.org", "1.0")
    assert package["organization"]["name"] == site.org and package["private"] is False
    assert sorted(t["name"] for t in package["tags"]) == ["ambiente", "calidad del aire"]
    assert [g["name"] for g in package["groups"]] == [group]  # created because it was missing
    assert extras(package)["update_frequency"] == "R/P1D"
    assert extras(package)["source_system"] == "Red de monitoreo"
    assert extras(package)["publisher_managed"] == "true"
    assert extras(package)["last_harvested"].endswith("Z") and extras(package)["publisher_version"]
    files = resources(package)
    assert set(files) == {"aire", "datapackage.json", "validation.json"}
    package_dir = site.folder / "datapackages" / name
    descriptor = json.loads((package_dir / "datapackage.json").read_text(encoding="utf-8"))
    data = files["aire"]
    assert data["url_type"] == "upload" and data["format"] == "CSV" and data["mimetype"] == "text/csv"
    assert data["encoding"] == "utf-8" and data["size"] == (package_dir / "data" / "aire.csv").stat().st_size
    assert data["content_sha256"] == file_sha256(package_dir / "data" / "aire.csv")
    assert json.loads(data["schema"]) == descriptor["resources"][0]["schema"]
    downloaded = requests.get(data["url"], timeout=10)
    assert downloaded.content == (package_dir / "data" / "aire.csv").read_bytes()  # in the FileStore
    assert files["datapackage.json"]["content_sha256"] == file_sha256(package_dir / "datapackage.json")
    assert result.write_calls == portal.client.write_calls == 1 + 1 + 3  # group, dataset, 3 files


def test_second_run_over_unchanged_data_makes_zero_writes(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("reclamos"), {"reclamos.csv": RECLAMOS}, extra='keywords = ["reclamos"]\n')
    first, _ = site.run()
    assert first.results[0].outcome is Outcome.PUBLISHED
    ids = {k: r["id"] for k, r in resources(admin.call("package_show", {"id": name})).items()}
    second, portal = site.run()
    result = second.results[0]
    assert result.outcome is Outcome.UNCHANGED, result.message
    assert result.write_calls == 0 and portal.client.write_calls == 0
    assert {a["action"] for a in result.plan} == {"skip"}
    assert {k: r["id"] for k, r in resources(admin.call("package_show", {"id": name})).items()} == ids


def test_a_data_change_uploads_only_the_changed_file_and_keeps_resource_ids(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("multi"), {"norte.csv": RECLAMOS, "sur.csv": RECLAMOS.replace("Norte", "Sur")}, glob=True)
    site.run()
    before = resources(admin.call("package_show", {"id": name}))
    site.write(name, "sur.csv", RECLAMOS.replace("Norte", "Sur") + "2025-02-03,Sur,4\n")
    report, portal = site.run()
    result = report.results[0]
    assert result.outcome is Outcome.PUBLISHED, result.message
    uploads = [a["target"] for a in actions(result, "upload")]
    data_uploads = [t for t in uploads if not t.endswith(".json")]
    assert data_uploads == ["sur"]  # exactly one data upload; "norte" is skipped
    # datapackage.json names the new file's hash, and the report counts its rows: they follow
    assert set(uploads) - {"sur"} <= {"datapackage.json", "validation.json"}
    assert [a["target"] for a in actions(result, "skip")] == ["norte"]
    after = resources(admin.call("package_show", {"id": name}))
    assert {k: r["id"] for k, r in after.items()} == {k: r["id"] for k, r in before.items()}
    assert after["norte"]["last_modified"] == before["norte"]["last_modified"]
    assert after["sur"]["content_sha256"] != before["sur"]["content_sha256"]
    assert result.write_calls == portal.client.write_calls == len(uploads) + 1  # + the dataset's last_harvested


def test_a_metadata_change_is_one_patch(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("meta"), {"m.csv": RECLAMOS}, extra='description = "Antes."\n')
    site.run()
    site.datasets[name] = site.datasets[name].replace('description = "Antes."', 'description = "Después."')
    report, portal = site.run()
    result = report.results[0]
    assert result.outcome is Outcome.PUBLISHED
    patches = actions(result, "patch_dataset")
    assert len(patches) == 1 and patches[0]["changes"] == {"notes": {"from": "Antes.", "to": "Después."}}
    # the description is in datapackage.json too, so that file follows; no data file moves
    assert [a["target"] for a in actions(result, "upload")] == ["datapackage.json"]
    assert portal.client.write_calls == 2
    assert admin.call("package_show", {"id": name})["notes"] == "Después."


def test_hand_edits_in_ckan_survive_a_run(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("manos"), {"a.csv": RECLAMOS}, extra='keywords = ["uno", "dos"]\n')
    site.run()
    hand_group = unique("hecho-a-mano")
    admin.call("group_create", {"name": hand_group})
    package = admin.call("package_show", {"id": name})
    admin.call("package_patch", {
        "id": name, "notes": "Escrito por una persona.",
        "tags": package["tags"] + [{"name": "etiqueta-manual"}],
        "extras": package["extras"] + [{"key": "nota_interna", "value": "no tocar"}],
        "groups": [{"name": hand_group}],
    })
    admin.call("resource_create", {"package_id": name, "name": "mapa", "url": "https://example.org/mapa.pdf"})
    data_id = resources(package)["a"]["id"]
    admin.call("resource_patch", {"id": data_id, "description": "Una fila por día y distrito."})
    # the steward drops the keyword "dos" and changes the title
    site.datasets[name] = site.datasets[name].replace('["uno", "dos"]', '["uno"]').replace(
        f'title = "Title of {name}"', 'title = "Nuevo título"')
    report, _ = site.run()
    assert report.results[0].outcome is Outcome.PUBLISHED, report.results[0].message
    after = admin.call("package_show", {"id": name})
    assert after["title"] == "Nuevo título"  # managed
    assert after["notes"] == "Escrito por una persona."  # the config has no description: not managed
    assert sorted(t["name"] for t in after["tags"]) == ["etiqueta-manual", "uno"]
    assert extras(after)["nota_interna"] == "no tocar"
    assert [g["name"] for g in after["groups"]] == [hand_group]
    assert resources(after)["mapa"]["url"] == "https://example.org/mapa.pdf"
    assert resources(after)["a"]["description"] == "Una fila por día y distrito."  # none in the package
    again, portal = site.run()
    assert again.results[0].outcome is Outcome.UNCHANGED and portal.client.write_calls == 0


def test_a_same_name_dataset_the_publisher_does_not_manage_is_refused(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("ajeno"), {"a.csv": RECLAMOS})
    admin.call("package_create", {"name": name, "title": "Hecho a mano", "owner_org": site.org})
    before = admin.call("package_show", {"id": name})
    report, portal = site.run()
    result = report.results[0]
    assert result.outcome is Outcome.FAILED and result.stage == "plan"
    assert "not managed by the publisher" in result.message and name in result.message
    assert portal.client.write_calls == 0
    assert admin.call("package_show", {"id": name})["metadata_modified"] == before["metadata_modified"]


def test_dry_run_plans_and_writes_nothing(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("seco"), {"a.csv": RECLAMOS})
    report, portal = site.run(dry_run=True)
    result = report.results[0]
    assert [a["action"] for a in result.plan] == ["create_dataset", "create_resource", "create_resource",
                                                  "create_resource"]
    assert portal.client.write_calls == 0 and report.exit_code == 0
    with pytest.raises(Exception, match="not found"):
        admin.call("package_show", {"id": name})


# --- withdrawal ----------------------------------------------------------------------

def publish_five(site: Site, policy_line: str = "") -> list[str]:
    names = [site.add(unique(f"ds{i}"), {"a.csv": RECLAMOS}, extra=policy_line) for i in range(5)]
    report, _ = site.run()
    assert all(r.outcome is Outcome.PUBLISHED for r in report.results), [r.message for r in report.results]
    return names


def test_withdrawal_keep_warns_and_changes_nothing(site: Site, admin: CkanClient,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    names = publish_five(site)
    del site.datasets[names[0]]
    with caplog.at_level(logging.WARNING):
        report, portal = site.run()
    withdrawn = by_name(report.results)[names[0]]
    assert withdrawn.outcome is Outcome.UNCHANGED and 'on_removed = "keep"' in withdrawn.message
    assert any(names[0] in r.getMessage() and "keep" in r.getMessage() for r in caplog.records)
    assert portal.client.write_calls == 0
    assert admin.call("package_show", {"id": names[0]})["private"] is False


def test_withdrawal_private_hides_and_a_return_makes_it_public_again(site: Site, admin: CkanClient) -> None:
    site.defaults = 'on_removed = "private"'
    names = publish_five(site)
    kept = site.datasets.pop(names[0])
    report, _ = site.run()
    assert by_name(report.results)[names[0]].outcome is Outcome.PUBLISHED
    assert admin.call("package_show", {"id": names[0]})["private"] is True
    again, portal = site.run()  # already withdrawn: nothing more to do
    assert names[0] not in by_name(again.results) and portal.client.write_calls == 0
    site.datasets[names[0]] = kept
    back, _ = site.run()
    assert by_name(back.results)[names[0]].outcome is Outcome.PUBLISHED
    package = admin.call("package_show", {"id": names[0]})
    assert package["private"] is False and "publisher_withdrawn" not in extras(package)


def test_withdrawal_delete_uses_the_policy_the_dataset_was_published_with(site: Site, admin: CkanClient) -> None:
    names = publish_five(site)  # [defaults] on_removed = keep
    site.datasets[names[1]] += 'on_removed = "delete"\n'
    site.run()  # records the dataset's own policy in CKAN
    del site.datasets[names[1]]
    report, _ = site.run()
    assert by_name(report.results)[names[1]].outcome is Outcome.PUBLISHED
    assert admin.call("package_show", {"id": names[1]})["state"] == "deleted"
    assert all(admin.call("package_show", {"id": n})["state"] == "active" for n in names if n != names[1])


def test_mass_withdrawal_guard_withdraws_none_unless_allowed(site: Site, admin: CkanClient) -> None:
    site.defaults = 'on_removed = "delete"'
    names = publish_five(site)
    for name in names[:2]:  # 2 of 5 = 40% > 20%
        del site.datasets[name]
    report, portal = site.run()
    blocked = [by_name(report.results)[n] for n in names[:2]]
    assert all(r.outcome is Outcome.BLOCKED for r in blocked)
    assert "mass-withdrawal guard" in blocked[0].message and "2 of the 5" in blocked[0].message
    assert report.exit_code == 1 and portal.client.write_calls == 0
    assert all(admin.call("package_show", {"id": n})["state"] == "active" for n in names)
    allowed, _ = site.run(allow_mass=True)
    assert all(by_name(allowed.results)[n].outcome is Outcome.PUBLISHED for n in names[:2])
    assert all(admin.call("package_show", {"id": n})["state"] == "deleted" for n in names[:2])


def test_withdrawal_is_not_run_when_datasets_are_named(site: Site) -> None:
    site.defaults = 'on_removed = "delete"'
    names = publish_five(site)
    report, portal = site.run(names[1])
    assert [r.dataset for r in report.results] == [names[1]] and portal.client.write_calls == 0


# --- failures ------------------------------------------------------------------------

class StoppingSession(requests.Session):
    """CKAN "stops" when the action ``action`` is called for the ``after``+1-th time: every request
    from then on fails to connect, as when the server process dies mid-run."""

    def __init__(self, action: str, after: int) -> None:
        super().__init__()
        self.action, self.remaining, self.stopped = action, after, False

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        if str(url).endswith(f"/action/{self.action}"):
            self.stopped = self.stopped or self.remaining == 0
            self.remaining -= 1
        if self.stopped:
            raise requests.ConnectionError("injected: connection refused")
        return super().request(method, url, *args, **kwargs)


def test_ckan_stopping_mid_run_is_recorded_and_the_next_run_completes(site: Site, admin: CkanClient) -> None:
    first = site.add(unique("a"), {"a.csv": RECLAMOS})
    second = site.add(unique("b"), {"x.csv": RECLAMOS, "y.csv": AIRE}, glob=True)
    third = site.add(unique("c"), {"c.csv": RECLAMOS})
    # dataset one uploads 3 files; CKAN dies on dataset two's second upload
    report, _ = site.run(portal=site.portal(StoppingSession("resource_create", after=4)))
    results = by_name(report.results)
    assert results[first].outcome is Outcome.PUBLISHED
    for name in (second, third):
        assert results[name].outcome is Outcome.FAILED and results[name].stage == "publish"
        assert results[name].error_type == "TransientPortalError"
        assert "cannot connect to CKAN" in results[name].message
    assert report.exit_code == 1
    half = admin.call("package_show", {"id": second})
    assert [r["name"] for r in half["resources"]] == ["x"]  # consistent: no resource without its upload
    again, _ = site.run()
    assert {r.dataset: r.outcome for r in again.results} == {
        first: Outcome.UNCHANGED, second: Outcome.PUBLISHED, third: Outcome.PUBLISHED}
    repaired = admin.call("package_show", {"id": second})
    assert sorted(r["name"] for r in repaired["resources"]) == ["datapackage.json", "validation.json", "x", "y"]
    assert all(r["url_type"] == "upload" and r["content_sha256"] for r in repaired["resources"])
    last, portal = site.run()
    assert portal.client.write_calls == 0 and last.exit_code == 0


def test_a_ckan_validation_error_is_reported_in_one_line(site: Site) -> None:
    # a keyword with a comma: valid for Frictionless, refused by CKAN's tag validator
    name = site.add(unique("malo"), {"a.csv": RECLAMOS}, extra='keywords = ["salud, género"]\n')
    report, portal = site.run()
    result = report.results[0]
    assert result.outcome is Outcome.FAILED and result.error_type == "CkanValidationError"
    assert result.message.startswith(f"dataset '{name}' [publish] (create_dataset '{name}' via package_create)")
    assert "tags:" in result.message and "salud, género" in result.message
    assert "\n" not in result.message
    assert portal.client.write_calls == 1  # refused at once, not retried


def test_a_licence_the_portal_does_not_know_is_reported_before_any_write(site: Site) -> None:
    name = site.add(unique("licencia"), {"a.csv": RECLAMOS})
    config = site.config()
    # forced past `publisher config check`, which rejects unknown licences
    forced = config.model_copy(update={"datasets": (config.datasets[0].model_copy(update={"license": "WTFPL"}),)})
    portal = site.portal()
    report = run(forced, (), deps=RunDeps(portal=portal, environ=site.env))
    result = by_name(report.results)[name]
    assert result.outcome is Outcome.FAILED and result.stage == "plan"
    assert "licence 'WTFPL' is not in the portal's licence register" in result.message
    assert "cc-by" in result.message  # says what the portal knows
    assert portal.client.write_calls == 0


def test_the_token_never_appears_in_results_logs_or_files(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    site.add(unique("secreto"), {"a.csv": RECLAMOS}, extra='keywords = ["a,b"]\n')
    site.add(unique("bien"), {"a.csv": RECLAMOS})
    token = site.env["CKAN_API_TOKEN"]
    with caplog.at_level(logging.DEBUG):
        report, portal = site.run(portal=site.portal(StoppingSession("resource_create", after=1)))
    assert any(not r.ok for r in report.results)
    assert token not in json.dumps(report.to_dict(), default=str)
    assert token not in caplog.text and token not in repr(portal) and token not in repr(portal.client)
    for path in site.folder.rglob("*"):
        if path.is_file():
            assert token.encode() not in path.read_bytes(), path


# --- DataStore -----------------------------------------------------------------------

def test_datastore_tables_are_loaded_with_types_and_primary_key(site: Site, admin: CkanClient) -> None:
    name = site.add(unique("ds"), {"aire.csv": AIRE}, extra=(
        'datastore = true\n[datasets.schema]\nprimary_key = ["fecha", "estacion"]\n'))
    report, _ = site.run()
    assert report.results[0].outcome is Outcome.PUBLISHED, report.results[0].message
    resource_id = resources(admin.call("package_show", {"id": name}))["aire"]["id"]
    table = admin.call("datastore_search", {"resource_id": resource_id, "sort": "fecha"})
    types = {f["id"]: f["type"] for f in table["fields"]}
    assert types == {"_id": "int", "fecha": "date", "estacion": "text", "pm10": "numeric"}
    assert table["total"] == 3 and table["records"][2]["estacion"] == "Norte"
    again, portal = site.run()
    assert again.results[0].outcome is Outcome.UNCHANGED and portal.client.write_calls == 0
    site.write(name, "aire.csv", AIRE + "2025-01-04,Sur,11.0\n")
    changed, _ = site.run()
    assert [a["target"] for a in actions(changed.results[0], "load_datastore")] == ["aire"]
    assert admin.call("datastore_search", {"resource_id": resource_id})["total"] == 4  # replaced, not appended


# --- pull ----------------------------------------------------------------------------

def test_pull_round_trip_gives_the_same_valid_package(site: Site, tmp_path: Path) -> None:
    from publisher.portal.pull import pull_dataset

    name = site.add(unique("ida-y-vuelta"), {"a.csv": RECLAMOS, "b.csv": AIRE}, glob=True,
                    extra='keywords = ["reclamos"]\n')
    _, portal = site.run()
    pulled = pull_dataset(portal.client, name, tmp_path / "pulled")
    assert pulled.valid and pulled.from_descriptor and sorted(pulled.resources) == ["a", "b"]
    local = site.folder / "datapackages" / name
    for relative in ("datapackage.json", "data/a.csv", "data/b.csv", "validation.json"):
        assert (pulled.path / relative).read_bytes() == (local / relative).read_bytes(), relative
    assert frictionless.Package(str(pulled.path / "datapackage.json")).validate().valid


def test_pull_builds_a_descriptor_for_a_dataset_made_by_hand(site: Site, admin: CkanClient, tmp_path: Path) -> None:
    from publisher.portal.pull import pull_dataset

    name = unique("manual")
    admin.call("package_create", {"name": name, "title": "Manual", "owner_org": site.org, "license_id": "cc-by"})
    csv_path = tmp_path / "datos.csv"
    csv_path.write_text(RECLAMOS, encoding="utf-8")
    admin.call("resource_create", {"package_id": name, "name": "Datos 2025", "format": "CSV"}, upload=csv_path)
    pulled = pull_dataset(admin, name, tmp_path / "out")
    assert not pulled.from_descriptor and pulled.valid and pulled.resources == ["datos-2025"]
    assert (pulled.path / "data" / "datos-2025.csv").read_text(encoding="utf-8") == RECLAMOS


def test_pull_of_a_missing_dataset_is_a_clear_error(admin: CkanClient, tmp_path: Path) -> None:
    from publisher.errors import PortalError
    from publisher.portal.pull import pull_dataset

    with pytest.raises(PortalError, match="no dataset named 'no-existe-"):
        pull_dataset(admin, unique("no-existe"), tmp_path)


# --- scripts/ckan-local ----------------------------------------------------------------

def test_ckan_local_up_is_idempotent_while_it_runs(ckan_env: dict[str, str]) -> None:
    import subprocess

    from tests.fixtures_ckan import ENV_FILE, SCRIPT, read_env_file

    if not ENV_FILE.is_file() or read_env_file(ENV_FILE).get("CKAN_URL") != ckan_env["CKAN_URL"]:
        pytest.skip("this session uses a CKAN that scripts/ckan-local did not start")
    up = subprocess.run([str(SCRIPT), "up"], capture_output=True, text=True, timeout=120)
    assert up.returncode == 0 and "already up" in up.stdout
    assert subprocess.run([str(SCRIPT), "status"], capture_output=True, timeout=60).returncode == 0
    assert read_env_file(ENV_FILE) == {**read_env_file(ENV_FILE), **ckan_env}  # env.sh unchanged
    assert (ENV_FILE.stat().st_mode & 0o777) == 0o600  # it holds a token


# --- CLI -----------------------------------------------------------------------------

def invoke(site: Site, *args: str) -> Any:
    from click.testing import CliRunner

    from publisher.cli import cli

    return CliRunner().invoke(cli, ["--config", str(site.folder / "harvest_config.toml"), *args], env=site.env)


def test_cli_plan_json_equals_the_library_plan(site: Site, monkeypatch: pytest.MonkeyPatch) -> None:
    from publisher.portal import plan_run, plan_summary

    name = site.add(unique("cli"), {"a.csv": RECLAMOS})
    site.config()
    monkeypatch.chdir(site.folder)
    outcome = invoke(site, "plan", "--json")
    assert outcome.exit_code == 0, outcome.output
    printed = json.loads(outcome.output)
    assert printed == json.loads(json.dumps(plan_summary(plan_run(site.config(), (), environ=site.env)),
                                            default=str))
    assert printed[0]["dataset"] == name and printed[0]["plan"][0]["action"] == "create_dataset"
    text = invoke(site, "plan")
    assert "create_dataset" in text.output and name in text.output


def test_cli_pull_writes_a_valid_package(site: Site, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    name = site.add(unique("cli-pull"), {"a.csv": RECLAMOS})
    site.run()
    monkeypatch.chdir(site.folder)
    outcome = invoke(site, "pull", name, "--dest", str(tmp_path / "dest"))
    assert outcome.exit_code == 0, outcome.output
    assert "valid" in outcome.output and (tmp_path / "dest" / name / "datapackage.json").is_file()
    missing = invoke(site, "pull", unique("nada"), "--dest", str(tmp_path / "dest"))
    assert missing.exit_code == 1 and "no dataset named" in missing.output

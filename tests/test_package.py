"""Package assembly: deterministic hashes, metadata, and the atomic write."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import pytest

from publisher import package
from publisher.config import parse_config
from publisher.tables import DescribedTable

CONFIG = {
    "defaults": {"license": "CC-BY-4.0", "maintainer": "Gobierno Abierto", "maintainer_email": "datos@example.org"},
    "datasets": [{
        "name": "reclamos",
        "title": "Reclamos",
        "description": "Reclamos por distrito",
        "keywords": ["reclamos"],
        "source_system": "SAC",
        "source": {"kind": "file", "path": "data.csv"},
    }],
}


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "data.csv").write_text("a\n1\n", encoding="utf-8")
    return parse_config(CONFIG, tmp_path / "harvest_config.toml")


def make_table(folder: Path, text: str = "id,monto\n1,2.5\n") -> DescribedTable:
    path = folder / "data" / "reclamos.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    content = path.read_bytes()
    schema = {"fields": [{"name": "id", "type": "integer"}, {"name": "monto", "type": "number"}],
              "missingValues": [""]}
    return DescribedTable(name="reclamos", path=path, schema=schema, row_count=text.count("\n") - 1,
                          bytes=len(content), sha256=hashlib.sha256(content).hexdigest(), source_format="csv",
                          origin="data.csv")


def test_descriptor_carries_dataset_metadata(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dataset = config.datasets[0]
    built = package.build(config, dataset, [make_table(tmp_path / "w")], origin="data.csv")
    d = built.descriptor
    assert d["name"] == "reclamos" and d["title"] == "Reclamos"
    assert d["licenses"][0]["name"] == "CC-BY-4.0"
    assert d["keywords"] == ["reclamos"]
    assert d["sources"] == [{"title": "SAC", "path": "data.csv"}]
    assert d["contributors"] == [{"title": "Gobierno Abierto", "role": "maintainer", "email": "datos@example.org"}]
    resource = d["resources"][0]
    assert resource["path"] == "data/reclamos.csv" and resource["encoding"] == "utf-8"
    assert resource["hash"].startswith("sha256:")
    assert d["publisher"]["package_sha256"] == built.package_sha256


def test_package_hash_depends_on_content_only(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    dataset = config.datasets[0]
    first = package.build(config, dataset, [make_table(tmp_path / "a")], origin="data.csv")
    again = package.build(config, dataset, [make_table(tmp_path / "b")], origin="data.csv")
    changed = package.build(config, dataset, [make_table(tmp_path / "c", "id,monto\n1,2.6\n")], origin="data.csv")
    assert first.package_sha256 == again.package_sha256
    assert first.package_sha256 != changed.package_sha256


def write(config, tmp_path: Path, work: str, text: str) -> Path:  # type: ignore[no-untyped-def]
    dataset = config.datasets[0]
    table = make_table(tmp_path / work, text)
    built = package.build(config, dataset, [table], origin="data.csv")
    package.materialise(built, tmp_path / work)
    package.write_report({"valid": True}, tmp_path / work)
    target = tmp_path / "datapackages" / "reclamos"
    package.write_atomic(built, tmp_path / work, target)
    return target


def test_write_atomic_replaces_the_package_through_a_symlink(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    target = write(config, tmp_path, "w1", "id,monto\n1,2.5\n")
    assert target.is_symlink()
    assert (target / "data" / "reclamos.csv").read_text(encoding="utf-8") == "id,monto\n1,2.5\n"
    assert json.loads((target / "validation.json").read_text())["valid"] is True
    first_version = os.path.realpath(target)
    target = write(config, tmp_path, "w2", "id,monto\n1,9.5\n")
    assert (target / "data" / "reclamos.csv").read_text(encoding="utf-8") == "id,monto\n1,9.5\n"
    assert os.path.realpath(target) != first_version
    assert not Path(first_version).exists(), "old versions are removed"
    assert package.read_publisher_metadata(target)["package_sha256"] is not None
    leftovers = [p.name for p in (tmp_path / "datapackages").iterdir() if p.name.startswith(".tmp")]
    assert leftovers == []


def test_a_plain_directory_from_before_is_replaced(config, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    old = tmp_path / "datapackages" / "reclamos"
    old.mkdir(parents=True)
    (old / "datapackage.json").write_text("{}", encoding="utf-8")
    target = write(config, tmp_path, "w1", "id,monto\n1,2.5\n")
    assert target.is_symlink() and (target / "data" / "reclamos.csv").exists()


def test_a_crash_before_the_rename_leaves_the_previous_package(config, tmp_path: Path,  # type: ignore[no-untyped-def]
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target = write(config, tmp_path, "w1", "id,monto\n1,2.5\n")
    real_replace = os.replace

    def crash_on_symlink_swap(src, dst):  # type: ignore[no-untyped-def]
        if Path(dst) == target:
            raise OSError("simulated crash")
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", crash_on_symlink_swap)
    with pytest.raises(OSError):
        write(config, tmp_path, "w2", "id,monto\n1,9.5\n")
    assert (target / "data" / "reclamos.csv").read_text(encoding="utf-8") == "id,monto\n1,2.5\n"

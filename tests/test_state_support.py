"""Test-only helpers (no tests here): a source kind that waits on marker files,
so a test can catch a run in the middle of its extract stage.

    [[datasets]] source = { kind = "slow", markers = "/tmp/x", timeout = 30 }

extract() writes ``<markers>/<dataset>.started``, then waits until
``<markers>/<dataset>.release`` exists (or ``timeout`` seconds pass, then it
fails), then writes a small CSV.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import ClassVar

from publisher.config import SourceOptions
from publisher.errors import SourceError
from publisher.sources import Extraction, SourceContext, StagedFile, register, registry

REPO = Path(__file__).resolve().parents[1]


class SlowOptions(SourceOptions):
    markers: str
    timeout: float = 30.0
    rows: int = 3


class SlowSource:
    kind: ClassVar[str] = "slow"
    Options: ClassVar[type[SourceOptions]] = SlowOptions

    def __init__(self, options: SlowOptions, context: SourceContext) -> None:
        self.options, self.context = options, context

    def describe_origin(self) -> str:
        return "test-only slow source"

    def extract(self, workdir: Path) -> Extraction:
        markers = Path(self.options.markers)
        (markers / f"{self.context.dataset}.started").write_text("started")
        deadline = time.monotonic() + self.options.timeout
        while not (markers / f"{self.context.dataset}.release").exists():
            if time.monotonic() > deadline:
                raise SourceError("the release marker never appeared", dataset=self.context.dataset)
            time.sleep(0.05)
        workdir.mkdir(parents=True, exist_ok=True)
        path = workdir / f"{self.context.dataset}.csv"
        path.write_text("id,valor\n" + "".join(f"{i},v{i}\n" for i in range(self.options.rows)), encoding="utf-8")
        return Extraction(files=(StagedFile(path=path, name=self.context.dataset, origin="slow"),))


if registry.get("slow") is None:
    register(SlowSource)  # type: ignore[arg-type]


def slow_dataset(name: str, markers: Path, extra: str = "") -> str:
    return (f'[[datasets]]\nname = "{name}"\ntitle = "{name}"\n'
            f'source = {{ kind = "slow", markers = "{markers}", timeout = 60 }}\n{extra}\n')


def file_dataset(name: str, filename: str, extra: str = "") -> str:
    return (f'[[datasets]]\nname = "{name}"\ntitle = "{name}"\n'
            f'source = {{ kind = "file", path = "{filename}" }}\n{extra}\n')


def write_config(folder: Path, datasets: str, head: str = "") -> Path:
    path = folder / "harvest_config.toml"
    path.write_text(f"{head}\n{datasets}", encoding="utf-8")
    return path


def python_with_slow_source(code: str) -> list[str]:
    """A `python -c` command line that registers the slow kind first, then runs ``code``."""
    prelude = f"import sys; sys.path.insert(0, {str(REPO)!r}); import tests.test_state_support\n"
    return [sys.executable, "-c", prelude + code]


def wait_for(path: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)

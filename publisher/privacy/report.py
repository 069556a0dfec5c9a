"""``publisher screen``: the findings for a file or a configured dataset, without publishing.

A file is described first (any format the publisher reads) and screened with
no policies, so every finding is unhandled. A configured dataset is extracted
and described as a run would, and its policies from harvest_config.toml are
matched; nothing is rewritten and nothing is written to datapackages/.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from publisher.config import Config, DatasetConfig, SchemaOverrides
from publisher.privacy.screen import TableScreen, screen_findings, unhandled
from publisher.tables.model import DescribedTable


@dataclass
class ScreenReport:
    """What ``publisher screen`` prints: masked findings and how many are unhandled."""

    target: str
    findings: list[dict[str, Any]] = field(default_factory=list)
    unhandled: int = 0

    @property
    def blocked(self) -> bool:
        return self.unhandled > 0

    def to_dict(self) -> dict[str, Any]:
        return {"target": self.target, "blocked": self.blocked, "unhandled": self.unhandled,
                "findings": self.findings}


def _report(target: str, screens: list[TableScreen]) -> ScreenReport:
    return ScreenReport(target=target, findings=[f.to_dict() for s in screens for f in s.findings],
                        unhandled=len(unhandled(screens)))


def screen_file(path: Path) -> ScreenReport:
    """Describe a local file into a temp folder and screen it with no policies."""
    from publisher.sources import StagedFile
    from publisher.tables import describe_file

    bare = DatasetConfig.model_construct(name="file", privacy=DatasetConfig.model_fields["privacy"].get_default(
        call_default_factory=True))
    with tempfile.TemporaryDirectory(prefix="publisher-screen-") as tmp:
        staged = StagedFile(path=path, name=path.stem)
        table: DescribedTable = describe_file(staged, Path(tmp) / "table.csv", SchemaOverrides())
        return _report(str(path), screen_findings(bare, [table]))


def screen_dataset(config: Config, dataset: DatasetConfig, environ: Mapping[str, str] | None = None) -> ScreenReport:
    """Extract and describe a configured dataset as a run would, then match its policies."""
    from publisher import package
    from publisher.sources import SourceContext, registry

    source_class = registry.get(dataset.source.kind)
    assert source_class is not None  # checked when the config was loaded
    with tempfile.TemporaryDirectory(prefix=f"publisher-screen-{dataset.name}-") as tmp:
        context = SourceContext(dataset=dataset.name, base_dir=config.base_dir,
                                environ=environ if environ is not None else os.environ, full_refresh=True)
        extraction = source_class(dataset.source, context).extract(Path(tmp) / "staging")
        tables = package.describe_files(extraction.files, dataset, Path(tmp) / "data")
        return _report(dataset.name, screen_findings(dataset, tables))

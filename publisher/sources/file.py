"""The ``file`` source kind: a local path or glob, relative to the config's folder.

    source = { kind = "file", path = "samples/arbolado.csv" }
    source = { kind = "file", path = "samples/presupuesto/*.xlsx", sheet = "Gastos", skip_rows = 2 }

Each matched file is copied into the work folder (later stages never touch
the steward's file) and becomes one resource named after its file stem.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator

from publisher.config import SourceOptions
from publisher.errors import SourceError
from publisher.sources import register
from publisher.sources._formats import (
    KNOWN_FORMATS_TEXT,
    ReadKeys,
    ResourceName,
    format_from_name,
    resource_name,
    unique_names,
)
from publisher.sources.base import Extraction, SourceContext, StagedFile

logger = logging.getLogger(__name__)

_GLOB_CHARS = frozenset("*?[")


def is_glob(path: str) -> bool:
    return any(char in _GLOB_CHARS for char in path)


def match_files(base_dir: Path, path: str) -> list[Path]:
    """The files ``path`` names, sorted; a glob may use ``**`` for subfolders."""
    if not is_glob(path):
        candidate = base_dir / path
        return [candidate] if candidate.is_file() else []
    pattern = path if os.path.isabs(path) else os.path.join(glob.escape(str(base_dir)), path)
    hits = (Path(hit) for hit in glob.glob(pattern, recursive=True))
    # "~$name.xlsx" is the lock file Excel leaves beside an open workbook
    return sorted(hit for hit in hits if hit.is_file() and not hit.name.startswith("~$"))


def not_found_message(base_dir: Path, path: str) -> str:
    if is_glob(path):
        return f"no file matches the glob '{path}'"
    if (base_dir / path).is_dir():
        return f"{path} is a folder; expected a file or a glob such as '{path.rstrip('/')}/*.csv'"
    return f"file not found: {path}"


def shown_path(base_dir: Path, file: Path) -> str:
    """The path as the steward sees it: relative to the config's folder when inside it."""
    try:
        return file.relative_to(base_dir).as_posix()
    except ValueError:
        return file.as_posix()


class FileOptions(SourceOptions, ReadKeys):
    """``source = { kind = "file", path = "...", ... }`` plus the read keys."""

    kind: Literal["file"]
    path: str = Field(min_length=1)
    name: ResourceName | None = None

    @field_validator("path")
    @classmethod
    def _path_matches_files(cls, value: str, info: ValidationInfo) -> str:
        base_dir = _base_dir(info)
        if base_dir is None:
            return value  # validated without a config file: checked again at extract
        matches = match_files(base_dir, value)
        if not matches:
            raise ValueError(not_found_message(base_dir, value))
        # "format" is absent from info.data when it failed its own validation
        if "format" in info.data and info.data["format"] is None:
            for match in matches:
                if format_from_name(match.name) is None:
                    raise ValueError(_unknown_format_message(shown_path(base_dir, match)))
        return value

    @field_validator("name")
    @classmethod
    def _name_needs_one_file(cls, value: str | None, info: ValidationInfo) -> str | None:
        base_dir = _base_dir(info)
        path = info.data.get("path")
        if value is None or base_dir is None or path is None:
            return value
        count = len(match_files(base_dir, path))
        if count > 1:
            raise ValueError(
                f"name applies to a single file, but '{path}' matches {count} files; "
                "remove name (each file's stem becomes its resource name)"
            )
        return value


def _base_dir(info: ValidationInfo) -> Path | None:
    context: Any = info.context
    if isinstance(context, dict) and context.get("base_dir") is not None:
        return Path(context["base_dir"])
    return None


def _unknown_format_message(shown: str) -> str:
    return f"cannot tell the format of '{shown}' from its extension; set format = one of {KNOWN_FORMATS_TEXT}"


@register
class FileSource:
    """Local files: one staged copy and one resource per matched file."""

    kind: ClassVar[str] = "file"
    Options: ClassVar[type[SourceOptions]] = FileOptions

    def __init__(self, options: FileOptions, context: SourceContext) -> None:
        self.options = options
        self.context = context

    def describe_origin(self) -> str:
        return self.options.path

    def extract(self, workdir: Path) -> Extraction:
        base_dir = self.context.base_dir
        matches = match_files(base_dir, self.options.path)
        if not matches:
            raise SourceError(
                not_found_message(base_dir, self.options.path),
                hint=f"the path is relative to {base_dir.resolve()}",
            )
        if self.options.name is not None and len(matches) > 1:
            raise SourceError(f"name is set but '{self.options.path}' now matches {len(matches)} files")
        workdir.mkdir(parents=True, exist_ok=True)
        stems = [self.options.name or resource_name(m.stem, self.context.dataset) for m in matches]
        staged = tuple(
            self._stage(match, name, workdir) for match, name in zip(matches, unique_names(stems), strict=True)
        )
        logger.info("dataset %s: staged %d file(s) from %s", self.context.dataset, len(staged), self.options.path)
        return Extraction(files=staged)

    def _stage(self, source_file: Path, name: str, workdir: Path) -> StagedFile:
        shown = shown_path(self.context.base_dir, source_file)
        table_format = self.options.format or format_from_name(source_file.name)
        if table_format is None:
            raise SourceError(_unknown_format_message(shown))
        target = workdir / f"{name}{source_file.suffix.lower()}"
        try:
            shutil.copyfile(source_file, target)
        except OSError as e:
            reason = e.strerror or type(e).__name__
            raise SourceError(f"cannot read {shown}: {reason}", hint="check the file's permissions") from e
        return StagedFile(path=target, name=name, read=self.options.read_options(table_format), origin=shown)

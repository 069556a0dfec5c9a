"""The publisher's exceptions.

Every error a steward can see is a ``PublisherError``. It carries context as
keywords (``dataset=``, ``stage=``, ``action=``) and renders as one line that
says which dataset, which stage and what to do::

    PublisherError                 base: message + dataset/stage/hint context
     ├── ConfigError               harvest_config.toml is wrong (file, key path)
     ├── SourceError               extract: the municipal system or file failed
     ├── DescribeError             describe: a file cannot be read as a table
     ├── ValidationFailed          validate: the data breaks its schema (blocked)
     ├── PrivacyBlocked            screen: personal data with no policy (blocked)
     ├── PortalError               plan/publish: CKAN refused or failed
     ├── StateError                the state database or a lock
     └── OcdsError                 open contracting input cannot be processed

    Transient                      marker mixin: retrying may succeed
                                   (timeouts, connection refused, 5xx, 429)

    TransientSourceError(SourceError, Transient)
    TransientPortalError(PortalError, Transient)

Only ``Transient`` errors are retried; everything else fails the dataset at
once with its cause. Secrets never enter messages: build them from key paths
and environment variable *names*, never values.
"""

from __future__ import annotations

from enum import StrEnum


class Stage(StrEnum):
    """The pipeline stages, in order; recorded with every outcome."""

    CONFIG = "config"
    EXTRACT = "extract"
    DESCRIBE = "describe"
    SCREEN = "screen"
    VALIDATE = "validate"
    WRITE = "write"
    PLAN = "plan"
    PUBLISH = "publish"


class PublisherError(Exception):
    """Base of every error the publisher reports to a person."""

    default_stage: Stage | None = None

    def __init__(
        self,
        message: str,
        *,
        dataset: str | None = None,
        stage: Stage | None = None,
        hint: str | None = None,
        action: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.dataset = dataset
        self.stage = stage if stage is not None else self.default_stage
        self.hint = hint
        self.action = action

    def with_context(self, *, dataset: str | None = None, stage: Stage | None = None) -> PublisherError:
        """Fill in dataset/stage where the raiser did not know them; returns self."""
        if self.dataset is None:
            self.dataset = dataset
        if self.stage is None:
            self.stage = stage
        return self

    def one_line(self) -> str:
        """``dataset 'x' [describe]: cannot decode ...; hint`` on a single line."""
        parts: list[str] = []
        if self.dataset:
            parts.append(f"dataset '{self.dataset}'")
        if self.stage:
            parts.append(f"[{self.stage}]")
        if self.action:
            parts.append(f"({self.action})")
        prefix = " ".join(parts)
        text = f"{prefix}: {self.message}" if prefix else self.message
        if self.hint:
            text = f"{text} ({self.hint})"
        return " ".join(text.split())


class Transient:
    """Marker: the failure may go away if the operation is retried."""


class ConfigError(PublisherError):
    """harvest_config.toml (or a file it names) is invalid.

    ``problems`` holds one line per problem, each ``file: key.path: expected``.
    """

    default_stage = Stage.CONFIG

    def __init__(self, problems: list[str] | str, **context: object) -> None:
        self.problems = [problems] if isinstance(problems, str) else list(problems)
        summary = self.problems[0] if len(self.problems) == 1 else (
            f"{len(self.problems)} problems: " + "; ".join(self.problems)
        )
        super().__init__(summary, **context)  # type: ignore[arg-type]


class SourceError(PublisherError):
    """Extraction from the source system failed."""

    default_stage = Stage.EXTRACT


class TransientSourceError(SourceError, Transient):
    """Extraction failed in a way that a retry may fix."""


class DescribeError(PublisherError):
    """A staged file cannot be read as a table (encoding, format, shape)."""

    default_stage = Stage.DESCRIBE


class ValidationFailed(PublisherError):
    """The data does not match its schema and the policy blocks publication."""

    default_stage = Stage.VALIDATE


class PrivacyBlocked(PublisherError):
    """Personal data was found that no policy handles."""

    default_stage = Stage.SCREEN


class PortalError(PublisherError):
    """CKAN refused or failed an action."""

    default_stage = Stage.PUBLISH


class TransientPortalError(PortalError, Transient):
    """CKAN was unreachable, timed out or answered 5xx."""


class StateError(PublisherError):
    """The state database or a dataset lock failed."""


class OcdsError(PublisherError):
    """Open Contracting data cannot be read or processed."""


def is_transient(error: BaseException) -> bool:
    """True when retrying the failed operation may succeed."""
    return isinstance(error, Transient)

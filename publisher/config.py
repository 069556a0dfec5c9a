"""harvest_config.toml -> frozen typed models.

The file is parsed once, at the edge. Every problem is reported with the file,
the key path and what was expected::

    harvest_config.toml: datasets[2].source.path: file not found: samples/x.csv

Unknown keys are errors. Secrets are references (``{ env = "NAME" }``) that
are resolved only when used; their values never appear in messages.
"""

from __future__ import annotations

import os
import re
import tomllib
import zoneinfo
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from publisher.errors import ConfigError
from publisher.licenses import ckan_license_id

DEFAULT_CONFIG_NAME = "harvest_config.toml"
DATASET_NAME_RE = re.compile(r"^[a-z0-9_-]{2,100}$")
DEFAULT_TIMEZONE = "America/Argentina/Cordoba"


class Model(BaseModel):
    """Base of every config model: frozen, and unknown keys are errors."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EnvRef(Model):
    """A secret or setting taken from the environment: ``{ env = "NAME" }``."""

    env: Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]

    def __repr__(self) -> str:
        return f"EnvRef(env={self.env!r})"


StrOrEnv = str | EnvRef


def resolve(value: StrOrEnv | None, key_path: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of a literal or ``{ env = ... }`` setting; the error names the variable only."""
    if value is None:
        raise ConfigError(f"{key_path}: not set")
    if isinstance(value, str):
        return value
    env = os.environ if environ is None else environ
    try:
        return env[value.env]
    except KeyError:
        raise ConfigError(
            f"{key_path}: environment variable {value.env} is not set",
            hint=f"export {value.env}=... before running",
        ) from None


# --- update frequency -------------------------------------------------------

_FREQUENCY_WORDS = {
    "hourly": "R/PT1H", "daily": "R/P1D", "weekly": "R/P1W", "biweekly": "R/P2W",
    "monthly": "R/P1M", "quarterly": "R/P3M", "semiannual": "R/P6M", "yearly": "R/P1Y",
    "annual": "R/P1Y", "diaria": "R/P1D", "semanal": "R/P1W", "quincenal": "R/P2W",
    "mensual": "R/P1M", "trimestral": "R/P3M", "semestral": "R/P6M", "anual": "R/P1Y",
    "eventual": "eventual", "irregular": "eventual", "continuous": "R/PT1S",
}
_ISO_DURATION_RE = re.compile(r"^P(?:\d+[YMWD])*(?:T(?:\d+[HMS])+)?$")
_ISO_FREQUENCY_RE = re.compile(r"^R/P(?:\d+[YMWD])+(?:T(?:\d+[HMS])+)?$|^R/PT(?:\d+[HMS])+$")


def normalise_frequency(value: str) -> str:
    """``daily`` / ``mensual`` / ``R/P1D`` -> the ISO 8601 repeating interval."""
    word = value.strip().lower()
    if word in _FREQUENCY_WORDS:
        return _FREQUENCY_WORDS[word]
    if _ISO_FREQUENCY_RE.match(value.strip()):
        return value.strip()
    raise ValueError(
        f"expected an ISO 8601 repeating interval such as R/P1D, or one of: "
        f"{', '.join(sorted(_FREQUENCY_WORDS))}; got {value!r}"
    )


def check_http_url(value: StrOrEnv | None) -> StrOrEnv | None:
    """A literal URL must be http(s); an { env = ... } reference is checked when resolved."""
    if isinstance(value, str) and not re.match(r"^https?://", value):
        raise ValueError(f"expected an http(s) URL, got {value!r}")
    return value


def check_crontab(value: str) -> str:
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(value, timezone="UTC")
    except ValueError as e:
        raise ValueError(f"expected a 5-field cron expression such as '0 3 * * *': {e}") from e
    return value


# --- sections ---------------------------------------------------------------

class PortalConfig(Model):
    """``[portal]``: the CKAN portal to publish to."""

    url: StrOrEnv
    api_key: StrOrEnv | None = None
    organization: str
    timeout: Annotated[float, Field(gt=0, le=600)] = 30.0
    retries: Annotated[int, Field(ge=0, le=10)] = 3
    max_withdrawal_share: Annotated[float, Field(ge=0, le=1)] = 0.2
    create_groups: bool = True

    _url = field_validator("url")(lambda cls, v: check_http_url(v))

    @field_validator("api_key")
    @classmethod
    def _key_from_environment(cls, value: StrOrEnv | None) -> StrOrEnv | None:
        if isinstance(value, str):
            raise ValueError(
                'a literal API key is not accepted: use { env = "CKAN_API_TOKEN" } '
                "and set the variable in the environment"
            )
        return value


# --- privacy ----------------------------------------------------------------

PolicyName = Literal["drop", "hash", "mask", "generalise", "allow"]


class ColumnPolicy(Model):
    """One column's privacy policy: ``email = { policy = "hash" }``.

    ``generalise`` takes exactly one of ``to`` (dates: month or year), ``bands``
    (ages: band width in years) or ``decimals`` (coordinates); ``allow`` needs
    a ``reason``, which is recorded in the package metadata.
    """

    policy: PolicyName
    to: Literal["month", "year"] | None = None
    bands: Annotated[int, Field(ge=1, le=100)] | None = None
    decimals: Annotated[int, Field(ge=0, le=6)] | None = None
    reason: str | None = None

    @field_validator("policy", mode="before")
    @classmethod
    def _american_spelling(cls, value: object) -> object:
        return "generalise" if value == "generalize" else value

    @model_validator(mode="after")
    def _options_match_policy(self) -> ColumnPolicy:
        options = [key for key in ("to", "bands", "decimals") if getattr(self, key) is not None]
        if self.policy == "generalise" and len(options) != 1:
            raise ValueError('generalise needs exactly one of to = "month"|"year", bands = N or decimals = N')
        if self.policy != "generalise" and options:
            raise ValueError(f"{options[0]} applies only to policy = \"generalise\"")
        if self.policy == "allow" and not (self.reason or "").strip():
            raise ValueError('allow needs a reason, e.g. reason = "barrio names are not personal"')
        if self.policy != "allow" and self.reason is not None:
            raise ValueError('reason applies only to policy = "allow"')
        return self


class SmallCellSuppression(Model):
    """``suppress_small_cells = { columns = ["casos"], k = 5 }`` for aggregate tables."""

    columns: tuple[str, ...] = Field(min_length=1)
    k: Annotated[int, Field(ge=2, le=1000)] | None = None  # default: [defaults.privacy] small_cell_k


class PrivacyConfig(Model):
    """``[datasets.privacy]``: column policies (by column name, in every table) and suppression."""

    columns: dict[str, ColumnPolicy] = Field(default_factory=dict)
    suppress_small_cells: SmallCellSuppression | None = None


class PrivacyDefaults(Model):
    """``[defaults.privacy]``: the HMAC key for ``hash`` and the default k."""

    hash_key: EnvRef = Field(default_factory=lambda: EnvRef(env="PUBLISHER_HASH_KEY"))
    small_cell_k: Annotated[int, Field(ge=2, le=1000)] = 5


OnInvalid = Literal["block", "warn"]
OnRemoved = Literal["keep", "private", "delete"]


class DefaultsConfig(Model):
    """``[defaults]``: values every dataset inherits unless it sets its own."""

    license: str = "CC-BY-4.0"
    schedule: str = "0 3 * * *"
    timezone: str = DEFAULT_TIMEZONE
    update_frequency: str = "R/P1D"
    on_invalid: OnInvalid = "block"
    on_removed: OnRemoved = "keep"
    maintainer: str | None = None
    maintainer_email: str | None = None
    author: str | None = None
    author_email: str | None = None
    privacy: PrivacyDefaults = Field(default_factory=PrivacyDefaults)

    _license = field_validator("license")(lambda cls, v: _check_license(v))
    _schedule = field_validator("schedule")(lambda cls, v: check_crontab(v))
    _frequency = field_validator("update_frequency")(lambda cls, v: normalise_frequency(v))

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (expected e.g. {DEFAULT_TIMEZONE})") from None
        return value


class StateConfig(Model):
    """``[state]``: where run history, hashes and cursors are kept."""

    path: str = ".publisher/state.db"
    # a SQLAlchemy URL (postgresql+psycopg://...) instead of the SQLite file; may hold a password
    url: StrOrEnv | None = None
    # how long past its update frequency a dataset may go before `status` calls it overdue
    freshness_grace: str = "PT6H"

    @field_validator("freshness_grace")
    @classmethod
    def _iso_duration(cls, value: str) -> str:
        if not _ISO_DURATION_RE.match(value.strip()) or value.strip() in ("P", "PT"):
            raise ValueError(f"expected an ISO 8601 duration such as PT6H or P1D, got {value!r}")
        return value.strip()


class SmtpConfig(Model):
    """``[notifications.smtp]``: e-mail over SMTP (STARTTLS by default)."""

    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    starttls: bool = True
    username: StrOrEnv | None = None
    password: EnvRef | None = None
    from_: str = Field(alias="from")
    to: Annotated[tuple[str, ...], Field(min_length=1)]
    timeout: Annotated[float, Field(gt=0, le=600)] = 30.0

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class WebhookConfig(Model):
    """``[notifications.webhook]``: a JSON POST; the URL may be ``{ env = ... }`` (it often holds a token)."""

    url: StrOrEnv
    timeout: Annotated[float, Field(gt=0, le=600)] = 10.0


class NotificationsConfig(Model):
    """``[notifications]``: who hears about a run, and when."""

    when: Literal["always", "on_failure", "never"] = "on_failure"
    smtp: SmtpConfig | None = None
    webhook: WebhookConfig | None = None


class FieldOverride(Model):
    """A steward's override of one field of the inferred Table Schema."""

    type: Literal[
        "string", "integer", "number", "boolean", "date", "datetime", "time", "year",
        "yearmonth", "duration", "geopoint", "geojson", "object", "array", "any",
    ] | None = None
    format: str | None = None
    title: str | None = None
    description: str | None = None
    decimal_char: str | None = None
    group_char: str | None = None
    true_values: tuple[str, ...] | None = None
    false_values: tuple[str, ...] | None = None
    constraints: dict[str, Any] | None = None
    rename: str | None = None

    @field_validator("constraints")
    @classmethod
    def _known_constraints(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        known = {"required", "unique", "minimum", "maximum", "minLength", "maxLength", "pattern", "enum"}
        for key in value or {}:
            if key not in known:
                raise ValueError(f"unknown constraint {key!r}; expected one of {', '.join(sorted(known))}")
        return value


class SchemaOverrides(Model):
    """``[datasets.schema]``: overrides applied on top of the inferred schema."""

    fields: dict[str, FieldOverride] = Field(default_factory=dict)
    primary_key: tuple[str, ...] = ()
    unique_keys: tuple[tuple[str, ...], ...] = ()
    missing_values: tuple[str, ...] | None = None


class SourceOptions(Model):
    """Base of every source kind's ``Options``; ``kind`` selects the class."""

    kind: str


class DatasetConfig(Model):
    """One ``[[datasets]]`` entry."""

    name: str
    title: str
    description: str = ""
    keywords: tuple[str, ...] = ()
    license: str | None = None
    maintainer: str | None = None
    maintainer_email: str | None = None
    author: str | None = None
    author_email: str | None = None
    url: str | None = None
    version: str | None = None
    update_frequency: str | None = None
    groups: tuple[str, ...] = ()
    schedule: str | None = None
    on_invalid: OnInvalid | None = None
    on_removed: OnRemoved | None = None
    datastore: bool = False
    source_system: str | None = None
    source: SourceOptions
    schema_: SchemaOverrides = Field(default_factory=SchemaOverrides, alias="schema")
    privacy: PrivacyConfig = Field(default_factory=PrivacyConfig)

    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    @field_validator("name")
    @classmethod
    def _ckan_name(cls, value: str) -> str:
        if not DATASET_NAME_RE.match(value):
            raise ValueError(
                "expected a CKAN name: 2 to 100 characters of lowercase a-z, 0-9, '-' and '_'"
                f"; got {value!r}"
            )
        return value

    _license = field_validator("license")(lambda cls, v: None if v is None else _check_license(v))
    _schedule = field_validator("schedule")(lambda cls, v: None if v is None else check_crontab(v))
    _frequency = field_validator("update_frequency")(
        lambda cls, v: None if v is None else normalise_frequency(v)
    )


class Config(Model):
    """The whole harvest_config.toml, plus where it was read from."""

    portal: PortalConfig | None = None
    defaults: DefaultsConfig = Field(default_factory=DefaultsConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    output_dir: str = "datapackages"
    datasets: tuple[DatasetConfig, ...] = ()
    path: Path = Path(DEFAULT_CONFIG_NAME)

    @model_validator(mode="after")
    def _unique_names(self) -> Config:
        seen: set[str] = set()
        for index, dataset in enumerate(self.datasets):
            if dataset.name in seen:
                raise ValueError(f"datasets[{index}].name: duplicate dataset name {dataset.name!r}")
            seen.add(dataset.name)
        return self

    @property
    def base_dir(self) -> Path:
        """Relative paths in the file are relative to the file's folder."""
        return self.path.parent

    @property
    def output_path(self) -> Path:
        return self.base_dir / self.output_dir

    @property
    def state_path(self) -> Path:
        return self.base_dir / self.state.path

    def dataset(self, name: str) -> DatasetConfig:
        for dataset in self.datasets:
            if dataset.name == name:
                return dataset
        known = ", ".join(d.name for d in self.datasets) or "none"
        raise ConfigError(f"{self.path.name}: no dataset named {name!r}; configured: {known}")

    def select(self, names: Sequence[str]) -> tuple[DatasetConfig, ...]:
        """The named datasets (all when ``names`` is empty), in config order."""
        if not names:
            return self.datasets
        wanted = [self.dataset(name) for name in names]
        return tuple(d for d in self.datasets if d in wanted)

    # effective values: a dataset's own, else [defaults]
    def license_of(self, dataset: DatasetConfig) -> str:
        return dataset.license or self.defaults.license

    def schedule_of(self, dataset: DatasetConfig) -> str:
        return dataset.schedule or self.defaults.schedule

    def frequency_of(self, dataset: DatasetConfig) -> str:
        return dataset.update_frequency or self.defaults.update_frequency

    def on_invalid_of(self, dataset: DatasetConfig) -> OnInvalid:
        return dataset.on_invalid or self.defaults.on_invalid

    def on_removed_of(self, dataset: DatasetConfig) -> OnRemoved:
        return dataset.on_removed or self.defaults.on_removed


def _check_license(value: str) -> str:
    if ckan_license_id(value) is None:
        from publisher.licenses import known_license_names

        raise ValueError(f"unknown licence {value!r}; known: {', '.join(known_license_names())}")
    return value


# --- loading ----------------------------------------------------------------

def _format_loc(loc: Sequence[int | str], prefix: str = "") -> str:
    text = prefix
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or "(top level)"


def _problems_from(error: ValidationError, file_label: str, prefix: str = "") -> list[str]:
    problems = []
    for item in error.errors():
        loc = item["loc"]
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown key (check its spelling)"
        elif item["type"] == "missing":
            message = "required key is missing"
        problems.append(f"{file_label}: {_format_loc(loc, prefix)}: {message}")
    return problems


def default_config_path() -> Path:
    return Path(os.environ.get("PUBLISHER_CONFIG", DEFAULT_CONFIG_NAME))


def load_config(path: Path | str | None = None) -> Config:
    """Read and check harvest_config.toml; raises ConfigError listing every problem."""
    config_path = Path(path) if path is not None else default_config_path()
    label = config_path.name
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{config_path}: file not found", hint="pass --config PATH or set PUBLISHER_CONFIG") from None
    except UnicodeDecodeError as e:
        raise ConfigError(f"{config_path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{label}: not valid TOML: {e}") from None
    return parse_config(raw, config_path)


def parse_config(raw: dict[str, Any], config_path: Path) -> Config:
    """Validate an already-parsed TOML document (see load_config)."""
    label = config_path.name
    problems: list[str] = []
    raw = dict(raw)
    raw_datasets = raw.get("datasets", [])
    if not isinstance(raw_datasets, list):
        raise ConfigError(f"{label}: datasets: expected an array of tables ([[datasets]])")
    raw["path"] = config_path
    # The source tables are checked by their kind's Options below; here only their kind.
    raw["datasets"] = [_with_bare_source(d) for d in raw_datasets]
    try:
        config = Config.model_validate(raw)
    except ValidationError as e:
        problems.extend(_problems_from(e, label))
        config = None
    sources = _validate_sources(raw_datasets, config_path, problems)
    if problems or config is None:
        raise ConfigError(problems or [f"{label}: invalid"])
    datasets = tuple(
        d.model_copy(update={"source": sources[i]}) for i, d in enumerate(config.datasets)
    )
    return config.model_copy(update={"datasets": datasets})


def _with_bare_source(raw_dataset: Any) -> Any:
    if isinstance(raw_dataset, dict) and isinstance(raw_dataset.get("source"), dict):
        return {**raw_dataset, "source": {"kind": str(raw_dataset["source"].get("kind", ""))}}
    return raw_dataset


def _validate_sources(raw_datasets: list[Any], config_path: Path, problems: list[str]) -> list[SourceOptions]:
    from publisher.sources import registry

    label = config_path.name
    context = {"base_dir": config_path.parent}
    sources: list[SourceOptions] = []
    for index, raw_dataset in enumerate(raw_datasets):
        prefix = f"datasets[{index}].source"
        raw_source = raw_dataset.get("source") if isinstance(raw_dataset, dict) else None
        if not isinstance(raw_source, dict):
            continue  # reported by the model validation ("required key is missing")
        kind = raw_source.get("kind")
        source_class = registry.get(kind) if isinstance(kind, str) else None
        if source_class is None:
            problems.append(
                f"{label}: {prefix}.kind: unknown source kind {kind!r}; available: {', '.join(registry.kinds())}"
            )
            continue
        try:
            sources.append(source_class.Options.model_validate(raw_source, context=context))
        except ValidationError as e:
            problems.extend(_problems_from(e, label, prefix))
    return sources

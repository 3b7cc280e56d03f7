"""Typed settings for every SCIM job.

One :class:`Settings` object holds everything a run needs. It is built, in increasing
order of precedence, from

1. the defaults below (the *embedded default*: generated sample data, local Spark,
   the lake under ``./lake``),
2. a YAML file (``--config FILE`` on the command line, or ``SCIM_CONFIG``),
3. environment variables ``SCIM_<FIELD>``; nested fields use a double underscore,
   e.g. ``SCIM_SPARK__MASTER=spark://host:7077`` or ``SCIM_IDENTITY__BACKEND=spark``.

Secrets are never stored in the YAML file: the HMAC key comes from ``SCIM_HMAC_KEY`` or
from a file named by ``SCIM_HMAC_KEY_FILE``.  In the ``local`` environment a key is
generated once under ``<lake>/_secrets/`` so the demo runs with nothing set; the
``production`` environment refuses to start without a key.
"""

from __future__ import annotations

import difflib
import json
import logging
import os
import secrets
import typing
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import urlparse

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

ENV_PREFIX = "SCIM_"


class ConfigError(ValueError):
    """Raised when the configuration is wrong; the message says what and how to fix it."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)


class SparkSettings(_Section):
    """How to reach Spark: a local master by default, a cluster master or a Connect remote."""

    master: str = Field("local[2]", description="Spark master URL; ignored when `remote` is set")
    remote: str | None = Field(None, description="Spark Connect URL, e.g. sc://host:15002")
    app_name: str = "scim"
    driver_memory: str = Field("4g", description="driver heap for local runs")
    shuffle_partitions: int = Field(4, ge=1, description="spark.sql.shuffle.partitions")
    conf: dict[str, str] = Field(default_factory=dict, description="extra Spark conf pairs")


class IdentitySettings(_Section):
    """Identity resolution: engine backend and decision thresholds."""

    backend: Literal["duckdb", "spark"] = "duckdb"
    match_threshold: float = Field(0.90, gt=0, lt=1, description="auto-merge at or above this probability")
    review_threshold: float = Field(0.50, gt=0, lt=1, description="review queue between this and match_threshold")
    max_cluster_size: int = Field(50, ge=2, description="larger clusters go to review, not merged")
    max_key_records: int = Field(
        10, ge=2, description="an identifier value (phone, email, unionid...) held by more records never links"
    )
    max_block_records: int = Field(
        200, ge=2, description="a masked phone / handle / full name held by more records does not block"
    )
    exclusive_keys: tuple[str, ...] = Field(
        ("wechat_unionid_hash", "id_number_hash"),
        description="identifiers a person has only one of: a merge joining two values goes to review",
    )
    exclusive_sources: tuple[str, ...] = Field(
        ("weibo", "wechat"),
        description="sources a person has one account of: a merge joining two accounts of one goes to review",
    )
    conflict_checked_keys: tuple[str, ...] = Field(
        ("phone_hash", "email_hash", "qq_hash"),
        description="identifiers people sometimes share: their links go to review when the records conflict",
    )
    conflict_attributes: tuple[str, ...] = Field(
        ("gender", "birth_year", "birth_month", "birth_day"),
        description="attributes both records know and disagree on that make a shared identifier a conflict",
    )
    account_share: float | None = Field(
        0.5, gt=0, le=1,
        description="share of an exclusive platform's accounts expected in another source (prior of their pairs); "
                    "null = Splink's single prior",
    )
    u_max_pairs: float = Field(2e6, ge=1e3, description="random pairs sampled to estimate Splink u probabilities")
    m_floor: float = Field(
        0.01, gt=0, lt=0.5, description="smallest m probability a trained level keeps (no single-field vetoes)"
    )
    prior_recall: float = Field(
        0.6, gt=0, le=1, description="assumed recall of the unique-identifier rules when estimating the match prior"
    )
    seed: int = Field(42, description="seed of Splink's u sampling (reproducible models)")
    waterfall_sample: int = Field(20, ge=1, description="links shown in the waterfall report of each run")
    min_fill: float = Field(
        0.01, ge=0, lt=1, description="share of records that must fill a comparison's evidence for the model to use it"
    )
    max_rule_pairs_per_record: float = Field(
        20.0, gt=0, description="a blocking rule making more pairs than this times the records is not used"
    )
    em_min_pairs: int = Field(10, ge=1, description="an EM pass needs at least this many pairs")
    em_max_pairs: int = Field(2_000_000, ge=1000, description="larger EM passes are sampled down to this many pairs")

    @field_validator("review_threshold")
    @classmethod
    def _review_below_match(cls, v: float, info: Any) -> float:
        match = info.data.get("match_threshold")
        if match is not None and v >= match:
            raise ValueError(f"review_threshold ({v}) must be below match_threshold ({match})")
        return v


class IngestSettings(_Section):
    """Ingestion: CRM file encoding and the JDBC extraction of a PostgreSQL CRM.

    JDBC credentials are read from SCIM_CRM_JDBC_URL / _USER / _PASSWORD, never from files.
    """

    crm_encoding: Literal["auto", "gbk", "gb18030", "utf-8"] = Field(
        "auto", description="CRM CSV encoding; auto = manifest, then detection (UTF-8 vs GB18030)")
    jdbc_schema: str = "crm"
    jdbc_num_partitions: int = Field(4, ge=1)


class AlertSettings(_Section):
    """Alerts (failed runs, negative-sentiment spikes): always a JSON line under
    ``<lake>/_reports/alerts/``; in production also POSTed to a webhook (Slack, an e-mail gateway).

    The webhook URL carries its credential (a Slack incoming-webhook URL is a secret): it is
    read from ``SCIM_ALERTS__WEBHOOK_URL`` only, never from the YAML file.
    """

    webhook_url: SecretStr | None = Field(None, description="POST each alert as JSON here (env only)")
    webhook_timeout_seconds: float = Field(10.0, gt=0, le=120, description="give up on the webhook after this")


class Settings(_Section):
    """All settings of a SCIM run."""

    env: Literal["local", "production"] = "local"
    lake_root: str = Field("./lake", description="lake root: a local path or a delta-rs/Spark URI")
    delta_writer: Literal["deltars", "delta-spark"] = "deltars"
    delta_data_files: Literal["spark-parquet", "datasource"] = Field(
        "spark-parquet", description="deltars writer: who writes the data files: Spark's Parquet writer "
        "(falls back to the Python Data Source where it cannot be used) or always the Data Source")
    timezone: str = Field("Asia/Shanghai", description="business time zone of the daily partitions")
    spark: SparkSettings = Field(default_factory=SparkSettings)
    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    ingest: IngestSettings = Field(default_factory=IngestSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    hmac_key: SecretStr | None = Field(None, description="HMAC-SHA256 key for identifiers (env only)")
    hmac_key_file: str | None = Field(None, description="file holding the HMAC key (env only)")

    @field_validator("lake_root")
    @classmethod
    def _normalise_root(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("lake_root is empty")
        if _is_local(v):
            path = v[len("file://"):] if v.startswith("file://") else v
            return str(Path(path).expanduser().resolve())
        return v.rstrip("/")

    # -- derived values ---------------------------------------------------------------
    @property
    def lake_is_local(self) -> bool:
        return _is_local(self.lake_root)

    def lake_path(self, *parts: str) -> str:
        """URI (or local path) of a location below the lake root."""
        return "/".join([self.lake_root.rstrip("/"), *[p.strip("/") for p in parts]])

    def hmac_key_bytes(self) -> bytes:
        """The identifier-hashing key.

        Order: ``SCIM_HMAC_KEY``, then ``SCIM_HMAC_KEY_FILE``; in ``local`` only, a key
        generated once under ``<lake>/_secrets/hmac.key``. Production without a key raises.
        """
        if self.hmac_key is not None and self.hmac_key.get_secret_value():
            return self.hmac_key.get_secret_value().encode("utf-8")
        if self.hmac_key_file:
            path = Path(self.hmac_key_file).expanduser()
            if not path.is_file():
                raise ConfigError(f"SCIM_HMAC_KEY_FILE={path} does not exist; create it or unset the variable")
            key = path.read_bytes().strip()
            if len(key) < 16:
                raise ConfigError(f"HMAC key in {path} is shorter than 16 bytes; use a longer random key")
            return key
        if self.env == "production":
            raise ConfigError(
                "production configuration has no HMAC key: set SCIM_HMAC_KEY or SCIM_HMAC_KEY_FILE "
                "(identifiers cannot be pseudonymised without it)"
            )
        if not self.lake_is_local:
            raise ConfigError("no HMAC key set and the lake is not local: set SCIM_HMAC_KEY or SCIM_HMAC_KEY_FILE")
        path = Path(self.lake_root) / "_secrets" / "hmac.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        return path.read_bytes().strip()


def _is_local(uri: str) -> bool:
    scheme = urlparse(uri).scheme
    return scheme in ("", "file") or (len(scheme) == 1 and uri[1:3] == ":\\")


#: SCIM_* variables that are not settings: read by their own code (the YAML file's name, the
#: JDBC credentials of the CRM reader). Everything else under SCIM_ must name a setting.
NON_SETTING_ENV = ("SCIM_CONFIG",)
NON_SETTING_ENV_PREFIXES = ("SCIM_CRM_JDBC_",)
_NULLS = ("null", "none", "~")
_warned: set[str] = set()


def _leaf_field(path: list[str]) -> Any | None:
    """The pydantic FieldInfo a lower-cased env path names (``["identity", "backend"]``), or None."""
    model: type[BaseModel] = Settings
    for i, part in enumerate(path):
        info = model.model_fields.get(part)
        if info is None:
            return None
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if i == len(path) - 1:
                return None  # a whole section cannot come from one variable
            model = annotation
        elif i == len(path) - 1:
            return info
        else:
            return None
    return None


def _shape(annotation: Any) -> tuple[str, bool]:
    """(``list`` / ``dict`` / ``scalar``, optional?) of a field annotation."""
    args = typing.get_args(annotation)
    optional = type(None) in args
    if optional:
        inner = [a for a in args if a is not type(None)]
        annotation = inner[0] if len(inner) == 1 else annotation
    origin = typing.get_origin(annotation)
    if origin in (tuple, list, set, frozenset):
        return "list", optional
    if origin is dict:
        return "dict", optional
    return "scalar", optional


def env_value(name: str, raw: str, annotation: Any) -> Any:
    """The value of environment variable ``name`` for a field of type ``annotation``.

    Optional fields take ``null`` (or ``none``, ``~``, empty) for None; lists take a JSON
    array or comma-separated items (``a,b``; empty = no items); dicts take a JSON object or
    ``key=value`` pairs separated by commas. Scalars are passed to pydantic as written.
    """
    shape, optional = _shape(annotation)
    text = raw.strip()
    if optional and (text == "" or text.lower() in _NULLS):
        return None
    if shape == "scalar":
        return raw
    if text.startswith("[" if shape == "list" else "{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{name}: not valid JSON ({exc.msg} at character {exc.pos}); "
                              f"write a JSON {'array' if shape == 'list' else 'object'} or "
                              f"{'comma-separated items' if shape == 'list' else 'key=value pairs'}") from None
    items = [item.strip() for item in text.split(",") if item.strip()]
    if shape == "list":
        return items
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{name}: item {item!r} is not key=value; write {name}='k1=v1,k2=v2' or a JSON object")
        pairs[key.strip()] = value.strip()
    return pairs


def _unknown_env(name: str) -> None:
    """Warn (once per process) about a SCIM_* variable that names no setting, with the closest names."""
    if name in _warned:
        return
    _warned.add(name)
    known = _known_env_vars()
    section = [k for k in known if k.startswith(name + "__")]
    close = difflib.get_close_matches(name, known, n=2, cutoff=0.8)
    if section:
        hint = f"a section: set its fields, e.g. {section[0]}"
    else:
        hint = f"did you mean {' or '.join(close)}?" if close else "see the settings table in README.md"
    logging.getLogger("scim.config").warning("ignoring environment variable %s: no such setting (%s)", name, hint)


def _env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``SCIM_A__B=v`` -> ``{"a": {"b": v}}`` for every known field, ``v`` typed by :func:`env_value`.

    A ``SCIM_*`` variable that names no setting is ignored with a warning naming the closest
    known variables, so a stray variable does not stop every command.
    """
    out: dict[str, Any] = {}
    for name, value in environ.items():
        if (not name.startswith(ENV_PREFIX) or name in NON_SETTING_ENV
                or name.startswith(NON_SETTING_ENV_PREFIXES)):
            continue
        path = name[len(ENV_PREFIX):].lower().split("__")
        info = _leaf_field(path)
        if info is None:
            _unknown_env(name)
            continue
        node = out
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = env_value(name, value, info.annotation)
    return out


def _deep_merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _known_env_vars() -> list[str]:
    names = []
    for field, info in Settings.model_fields.items():
        annotation = info.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            names += [f"{ENV_PREFIX}{field.upper()}__{sub.upper()}" for sub in annotation.model_fields]
        else:
            names.append(f"{ENV_PREFIX}{field.upper()}")
    return names


def load_settings(
    config_file: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Build :class:`Settings` from defaults, a YAML file, the environment and overrides.

    Raises :class:`ConfigError` naming the offending source and field.
    """
    environ = os.environ if environ is None else environ
    config_file = config_file or environ.get("SCIM_CONFIG")
    data: dict[str, Any] = {}
    source = "defaults"
    if config_file:
        path = Path(config_file)
        if not path.is_file():
            raise ConfigError(f"config file {path} not found")
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        if "hmac_key" in loaded:
            raise ConfigError(f"config file {path}: hmac_key must not be stored in a file; use SCIM_HMAC_KEY")
        if isinstance(loaded.get("alerts"), dict) and "webhook_url" in loaded["alerts"]:
            raise ConfigError(f"config file {path}: alerts.webhook_url carries a credential and must not be stored "
                              "in a file; use SCIM_ALERTS__WEBHOOK_URL")
        data = loaded
        source = str(path)
    env = _env_overrides(environ)
    if env:
        source += " + environment"
    data = _deep_merge(_deep_merge(data, env), overrides)
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"])
            env_name = ENV_PREFIX + "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"  {where} (env {env_name}): {err['msg']}")
        hint = ("known variables: " + ", ".join(_known_env_vars())
                + "\n(lists: comma-separated or a JSON array; dicts: k=v,k2=v2 or a JSON object; "
                  "optional settings: null)")
        raise ConfigError(f"invalid configuration from {source}:\n" + "\n".join(problems) + "\n" + hint) from None
    if settings.env == "production":
        settings.hmac_key_bytes()  # production refuses to start without its key
    return settings

"""Dagster resources: settings (per environment), a lazy Spark session, the lake, secrets."""


from functools import cached_property

import dagster as dg
from pydantic import PrivateAttr

from pipelines.config import Settings, load_settings


class ScimConfig(dg.ConfigurableResource):
    """Per-environment settings: a YAML file (or SCIM_CONFIG) plus SCIM_* environment variables.

    ``lake_root`` overrides the lake for one run (``scim run --lake``) without touching files.
    """

    config_file: str | None = None
    lake_root: str | None = None

    _settings: Settings | None = PrivateAttr(default=None)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            overrides = {"lake_root": self.lake_root} if self.lake_root else {}
            self._settings = load_settings(self.config_file, **overrides)
        return self._settings

    def hmac_key(self) -> bytes:
        """The identifier-hashing secret (environment, secret file, or the local demo key)."""
        return self.settings.hmac_key_bytes()


class SparkResource(dg.ConfigurableResource):
    """One Spark session per run, created on first use (steps that need no Spark start none)."""

    config: ScimConfig

    @cached_property
    def session(self):
        from pipelines.spark import get_spark

        return get_spark(self.config.settings)


class LakeResource(dg.ConfigurableResource):
    """The lake (root URI and writer from settings) bound to the run's Spark session."""

    config: ScimConfig
    spark: SparkResource

    @cached_property
    def lake(self):
        from lake_io import Lake

        return Lake(self.config.settings, self.spark.session)


def build_resources(config_file: str | None = None, lake_root: str | None = None) -> dict[str, object]:
    config = ScimConfig(config_file=config_file, lake_root=lake_root)
    spark = SparkResource(config=config)
    return {"config": config, "spark": spark, "lake": LakeResource(config=config, spark=spark)}

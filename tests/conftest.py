"""Shared fixtures: one Spark session for the whole test run, a throw-away lake per test."""

from __future__ import annotations

import os
import sys

import pytest

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("TZ", "UTC")

from pipelines.config import Settings, load_settings  # noqa: E402


@pytest.fixture(scope="session")
def spark_settings(tmp_path_factory) -> Settings:
    root = tmp_path_factory.mktemp("lake_session")
    return load_settings(environ={}, lake_root=str(root), spark={"driver_memory": "3g", "shuffle_partitions": 2})


@pytest.fixture(scope="session")
def spark(spark_settings):
    from pipelines.spark import get_spark

    session = get_spark(spark_settings)
    yield session
    session.stop()


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings whose lake is a fresh temporary directory (no environment variables read)."""
    return load_settings(
        environ={"SCIM_HMAC_KEY": "test-key-0123456789abcdef"},
        lake_root=str(tmp_path / "lake"),
        spark={"driver_memory": "3g", "shuffle_partitions": 2},
    )

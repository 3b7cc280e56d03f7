"""Spark session factory.

``get_spark(settings)`` returns the one session of this process: a local session tuned for
a small machine by default, a cluster master or a Spark Connect remote when configured.
Job code uses the DataFrame API only, so the same code runs on all three.
"""

from __future__ import annotations

import logging
import os
import sys
import threading

from pyspark.sql import SparkSession

from pipelines.config import Settings

log = logging.getLogger(__name__)
_lock = threading.Lock()
# Debian's libpostgresql-jdbc-java: the driver for the JDBC CRM reader, when installed.
POSTGRES_JDBC_JAR = "/usr/share/java/postgresql.jar"


def splink_similarity_jar() -> str | None:
    """Path of the Spark-4 similarity-functions jar that ships inside the Splink wheel."""
    try:
        from splink.backends.spark import similarity_jar_location
    except ImportError:  # splink not installed: Spark works without the UDFs
        return None
    try:
        return similarity_jar_location()
    except Exception:  # pragma: no cover - a broken splink install
        log.warning("splink similarity jar not found; Spark-backend fuzzy comparisons will fail")
        return None


def _local_conf(settings: Settings) -> dict[str, str]:
    conf = {
        "spark.driver.memory": settings.spark.driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark.shuffle_partitions),
        "spark.default.parallelism": str(max(2, os.cpu_count() or 2)),
        "spark.ui.enabled": "false",
        "spark.ui.showConsoleProgress": "false",
        "spark.sql.execution.arrow.pyspark.enabled": "true",
        "spark.sql.execution.arrow.pyspark.fallback.enabled": "false",
        "spark.sql.session.timeZone": "UTC",
        "spark.sql.adaptive.enabled": "true",
        "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
        "spark.sql.warehouse.dir": settings.lake_path("_spark_warehouse") if settings.lake_is_local else "spark-warehouse",
        "spark.python.worker.reuse": "true",
    }
    jars = [j for j in (splink_similarity_jar(), POSTGRES_JDBC_JAR if os.path.exists(POSTGRES_JDBC_JAR) else None) if j]
    if jars:
        conf["spark.jars"] = ",".join(jars)
    return conf


def get_spark(settings: Settings) -> SparkSession:
    """Return the active session, creating it from ``settings`` on first use.

    Sets ``PYSPARK_PYTHON``/``PYSPARK_DRIVER_PYTHON`` to this interpreter so Python workers
    find the project's packages (pyarrow, rjieba, deltalake).
    """
    with _lock:
        active = SparkSession.getActiveSession()
        if active is not None:
            return active
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
        os.environ.setdefault("TZ", "UTC")
        if not settings.spark.remote and settings.spark.master.startswith("local"):
            os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = SparkSession.builder.appName(settings.spark.app_name)
        if settings.spark.remote:
            builder = builder.remote(settings.spark.remote)
            conf = {"spark.sql.session.timeZone": "UTC"}
        else:
            builder = builder.master(settings.spark.master)
            conf = _local_conf(settings)
        conf.update(settings.spark.conf)
        for key, value in conf.items():
            builder = builder.config(key, value)
        spark = builder.getOrCreate()
        if not settings.spark.remote:
            spark.sparkContext.setLogLevel("ERROR")
        log.info("spark session ready: %s", settings.spark.remote or settings.spark.master)
        return spark

"""The same :class:`~lake_io.Lake` interface on delta-spark's native ``format("delta")``.

Selected by ``settings.delta_writer == "delta-spark"`` for clusters whose Spark has the
Delta connector jars (``delta-spark`` 4.4.x for Spark 4.2, from Maven). It cannot run on
the embedded default (no Maven), so it is kept thin: Spark writes, reads and MERGEs with
the JVM connector; ``delta`` is imported only when a method needs it. Inspection and
helpers inherited from :class:`Lake` (``history``, ``version``, ``describe``,
``list_tables``, ``to_arrow``, ``checkpoint``) use deltalake on the same tables, which is
safe because both speak the same Delta protocol (as long as the connector does not
enable deletion vectors or column mapping, which deltalake's readers here refuse).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Mapping

from lake_io.lake import Lake, LakeError

log = logging.getLogger("lake_io")


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


class DeltaSparkLake(Lake):
    """Lake on the JVM Delta connector (``format("delta")``, ``delta.tables.DeltaTable``)."""

    def __init__(self, settings: Any, spark: Any = None):
        super().__init__(settings, spark)
        self.backend = "delta-spark"

    def _delta(self) -> Any:
        try:
            import delta.tables  # noqa: F401  (delta-spark's Python package)
        except ImportError as exc:
            raise LakeError(
                "settings.delta_writer='delta-spark' needs the delta-spark package (pip install 'scim[cluster]') "
                "and its jars on the Spark classpath; use delta_writer='deltars' otherwise"
            ) from exc
        return delta.tables

    def _ref(self, table: str) -> str:
        return f"delta.`{self.uri(table)}`"

    def write(self, df: Any, table: str, mode: str = "append", partition_by: list[str] | None = None,
              replace_where: str | None = None, description: str | None = None,
              column_comments: Mapping[str, str] | None = None, schema_mode: str | None = None, *,
              app_id: str | None = None, app_version: int | None = None, **_: Any) -> int:
        """As :meth:`Lake.write`, through ``df.write.format("delta")``.

        One Delta commit by the connector (replaceWhere may hold any predicate here);
        comments are applied afterwards with ALTER TABLE (one commit each). A failed job
        commits nothing; its files are unreferenced until VACUUM.
        """
        self._delta()
        spark = self._need_spark("write")
        if mode not in ("append", "overwrite"):
            raise LakeError(f"write to {table}: mode must be 'append' or 'overwrite', not {mode!r}")
        t0 = time.monotonic()
        writer = df.write.format("delta").mode(mode)
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        if replace_where:
            writer = writer.option("replaceWhere", replace_where)
        if schema_mode == "merge":
            writer = writer.option("mergeSchema", "true")
        elif schema_mode == "overwrite":
            writer = writer.option("overwriteSchema", "true")
        if app_id is not None:
            writer = writer.option("txnAppId", app_id).option("txnVersion", str(int(app_version)))
        writer.save(self.uri(table))
        if description is not None or column_comments:
            self.set_comments(table, description=description, column_comments=column_comments)
        version = self.version(table)
        log.info("lake write table=%s mode=%s backend=delta-spark version=%d seconds=%.2f",
                 table, mode, version, time.monotonic() - t0)
        del spark
        return version

    def read(self, table: str, version: int | None = None) -> Any:
        """``spark.read.format("delta")`` (``versionAsOf`` when given). Reads only."""
        self._delta()
        reader = self._need_spark("read").read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        return reader.load(self.uri(table))

    def merge(self, df: Any, table: str, keys: list[str], update_condition: str | None = None,
              delete_not_matched: bool = False, **kwargs: Any) -> int:
        """Upsert with the connector's distributed MERGE (no collect); one commit."""
        tables = self._delta()
        spark = self._need_spark("merge")
        if not self.exists(table):
            return self.write(df, table, mode="append", **kwargs)
        target = tables.DeltaTable.forPath(spark, self.uri(table))
        cond = " AND ".join(f"t.`{k}` = s.`{k}`" for k in keys)
        builder = (target.alias("t").merge(df.alias("s"), cond)
                   .whenMatchedUpdateAll(condition=update_condition).whenNotMatchedInsertAll())
        if delete_not_matched:
            builder = builder.whenNotMatchedBySourceDelete()
        builder.execute()
        return self.version(table)

    def delete(self, table: str, predicate: str) -> int:
        """``DELETE FROM`` through the connector; one commit."""
        tables = self._delta()
        if not predicate or not predicate.strip():
            raise LakeError(f"delete from {table}: an empty predicate would delete everything; pass one")
        tables.DeltaTable.forPath(self._need_spark("delete"), self.uri(table)).delete(predicate)
        return self.version(table)

    def set_comments(self, table: str, description: str | None = None,
                     column_comments: Mapping[str, str] | None = None) -> int:
        """ALTER TABLE ... SET TBLPROPERTIES ('comment') / ALTER COLUMN ... COMMENT; one commit each."""
        spark = self._need_spark("set_comments")
        if description is not None:
            spark.sql(f"ALTER TABLE {self._ref(table)} SET TBLPROPERTIES ('comment' = {_sql_string(description)})")
        for col, comment in (column_comments or {}).items():
            spark.sql(f"ALTER TABLE {self._ref(table)} ALTER COLUMN `{col}` COMMENT {_sql_string(comment)}")
        return self.version(table)

    def optimize(self, table: str, zorder_by: list[str] | None = None, target_size: int | None = None) -> dict[str, Any]:
        """``OPTIMIZE`` (``ZORDER BY``) through the connector; returns its metrics row."""
        self._delta()
        sql = f"OPTIMIZE {self._ref(table)}" + (f" ZORDER BY ({', '.join(f'`{c}`' for c in zorder_by)})" if zorder_by else "")
        rows = self._need_spark("optimize").sql(sql).collect()
        return rows[0].asDict(recursive=True) if rows else {}

    def vacuum(self, table: str, retention_hours: int = 168, enforce_retention: bool = True,
               dry_run: bool = False) -> list[str]:
        """``VACUUM ... RETAIN n HOURS`` through the connector; returns the (dry-run) file list."""
        spark = self._need_spark("vacuum")
        self._delta()
        if not enforce_retention:
            spark.conf.set("spark.databricks.delta.retentionDurationCheck.enabled", "false")
        rows = spark.sql(f"VACUUM {self._ref(table)} RETAIN {int(retention_hours)} HOURS"
                         + (" DRY RUN" if dry_run else "")).collect()
        return [r[0] for r in rows]

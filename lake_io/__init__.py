"""lake_io: the only code of SCIM that touches Delta tables.

``Lake(settings, spark)`` gives read/write/merge/maintenance over the lake. The default
backend writes data files with Spark's Parquet writer (or a Spark Python Data Source where
that cannot be used) and commits them with delta-rs (``deltalake``);
``settings.delta_writer == "delta-spark"`` selects the JVM Delta connector instead.
See docs/lake.md for the design and the guarantees.

Names are imported lazily so that Spark's Python workers, which import
``lake_io.datasource``, do not pay for deltalake where they do not need it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Lake", "LakeError", "LakeSchemaError", "UnsupportedPredicate"]


def __getattr__(name: str) -> Any:
    if name in ("Lake", "LakeError"):
        from lake_io import lake

        return getattr(lake, name)
    if name == "LakeSchemaError":
        from lake_io._schema import LakeSchemaError

        return LakeSchemaError
    if name == "UnsupportedPredicate":
        from lake_io._partitions import UnsupportedPredicate

        return UnsupportedPredicate
    raise AttributeError(f"module 'lake_io' has no attribute {name!r}")

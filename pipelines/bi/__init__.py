"""BI on the lake: the DuckDB catalog behind ``scim sql`` and SQLAlchemy (:mod:`pipelines.bi.catalog`)
and the Superset demo that is set up on it (:mod:`pipelines.bi.superset`). See docs/bi.md."""

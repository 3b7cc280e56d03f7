"""Identity resolution: the engine, its lake tables, ``scim link`` and ``scim evaluate-identity``.

``resolve_identities(settings, spark, person_records_df, run_date)`` is the nightly step
(:mod:`pipelines.identity.pipeline`); :func:`transforms.matching.engine.resolve` is the pure
engine it shares with ``scim link``. See ``docs/identity.md``.
"""

from __future__ import annotations

from typing import Any


def resolve_identities(settings: Any, spark: Any, person_records_df: Any, run_date: Any) -> dict[str, Any]:
    """See :func:`pipelines.identity.pipeline.resolve_identities` (imported lazily: Splink is heavy)."""
    from pipelines.identity.pipeline import resolve_identities as run

    return run(settings, spark, person_records_df, run_date)


__all__ = ["resolve_identities"]

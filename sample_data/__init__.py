"""Realistic generated sources for SCIM: Weibo, WeChat and legacy-CRM landing files plus
the ground truth they were drawn from (see docs/generate.md)."""

from __future__ import annotations


def generate(root, persons: int, days: int, start: str, seed: int, dirt_rate: float = 0.003,
             crm_encoding: str = "gbk", **kwargs) -> dict:
    """Write ``days`` daily drops for ``persons`` people under ``root`` and return a summary.

    See :func:`sample_data.generator.generate` for every option.
    """
    from .generator import generate as _generate

    return _generate(root, persons, days, start, seed, dirt_rate=dirt_rate, crm_encoding=crm_encoding, **kwargs)


__all__ = ["generate"]

"""Read-only YAML lexicons shipped inside this package (``<name>.yaml`` beside the modules,
packaged by pyproject's ``*.yaml`` package-data rule), loaded once per process."""

from __future__ import annotations

import functools
from importlib import resources
from typing import Any

import yaml


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict[str, Any]:
    """The parsed ``transforms/standardise/<name>.yaml`` (cached; treat it as read-only)."""
    text = resources.files("transforms.standardise").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    if not isinstance(data, dict):
        raise ValueError(f"lexicon transforms/standardise/{name}.yaml must be a mapping at the top level")
    return data

"""``python -m transforms.features > docs/features.md`` regenerates the feature catalogue."""

from transforms.features.registry import load_registry, render_catalogue

print(render_catalogue(load_registry()), end="")

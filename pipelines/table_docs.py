"""Generate the data dictionary (docs/tables.md) from the Delta table metadata of a lake.

Every documented table (one that carries a description) is listed with its description,
partition columns and each column's name, type and comment, grouped by layer (gold first,
then silver and bronze). Tables without a description are named at the end so a gap is
visible. Volatile facts (versions, row counts) are left out, so the file changes only when
the metadata does.

    python -m pipelines.table_docs --lake ./lake [--out docs/tables.md]
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path(__file__).resolve().parent.parent / "docs" / "tables.md"
LAYERS = ["gold", "silver", "bronze"]


def _cell(text: Any) -> str:
    return "" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def render(tables: dict[str, dict[str, Any]]) -> str:
    """Markdown for ``{table: Lake.describe(table)}``."""
    lines = ["# Data dictionary", "",
             "<!-- Generated from the Delta table metadata by `python -m pipelines.table_docs --lake PATH`;",
             "     do not edit by hand: change the descriptions/comments where the tables are written",
             "     (gold: transforms/marts/tables.yaml). -->", "",
             "Gold tables are the BI star schema (surrogate keys `*_sk`, date keys `date_key` = yyyymmdd joining",
             "`gold/dim_date`, money as `decimal(18,2)`, timestamps UTC with local-date columns beside them, no",
             "nested types, no clear personal data). Silver and bronze tables are listed when they carry a",
             "description.", ""]
    undocumented = []
    for layer in LAYERS + ["other"]:
        names = sorted(t for t in tables if (t.split("/")[0] if t.split("/")[0] in LAYERS else "other") == layer)
        documented = [t for t in names if tables[t].get("description")]
        undocumented += [t for t in names if not tables[t].get("description")]
        if not documented:
            continue
        lines += [f"## {layer.capitalize()}", ""]
        for name in documented:
            info = tables[name]
            lines += [f"### `{name}`", "", _cell(info["description"]), ""]
            part = info.get("partition_by") or []
            lines += [f"Partitioned by: {', '.join(f'`{p}`' for p in part) if part else 'not partitioned'}.", ""]
            lines += ["| column | type | comment |", "| --- | --- | --- |"]
            lines += [f"| `{c['name']}` | {_cell(c['type'])} | {_cell(c['comment'])} |" for c in info["columns"]]
            lines.append("")
    if undocumented:
        lines += ["## Tables without a description", "", *[f"- `{t}`" for t in undocumented], ""]
    return "\n".join(lines)


def describe_lake(lake) -> dict[str, dict[str, Any]]:
    """``{table: describe}`` for every Delta table of the lake."""
    return {t: lake.describe(t) for t in lake.list_tables()}


class CatalogueError(ValueError):
    """The lake cannot produce a complete catalogue; the existing file is left untouched."""


def documented_tables(markdown: str) -> set[str]:
    """Tables a rendered catalogue lists (its ``### `table` `` headings and undocumented names)."""
    return set(re.findall(r"^### `([^`]+)`", markdown, flags=re.M)) | set(re.findall(r"^- `([^`]+)`$", markdown, flags=re.M))


def generate(lake_root: str, out: str | Path = DEFAULT_OUT, allow_missing: bool = False) -> str:
    """Write the data dictionary of the lake at ``lake_root`` to ``out``; returns the markdown.

    Raises :class:`CatalogueError` (and writes nothing) when the lake holds no Delta table,
    or, unless ``allow_missing``, when it lacks tables the current ``out`` documents: a
    missing or half-built lake must not overwrite a good catalogue.
    """
    from lake_io import Lake
    from pipelines.config import load_settings

    lake = Lake(load_settings(lake_root=lake_root), None)
    tables = describe_lake(lake)
    if not tables:
        raise CatalogueError(f"lake {lake.settings.lake_root} holds no Delta table (wrong --lake / LAKE=?); "
                             f"{out} left unchanged: build the lake first (make run)")
    out = Path(out)
    if out.is_file() and not allow_missing:
        missing = sorted(documented_tables(out.read_text(encoding="utf-8")) - set(tables))
        if missing:
            raise CatalogueError(
                f"lake {lake.settings.lake_root} lacks {len(missing)} table(s) that {out} documents "
                f"({', '.join(missing[:5])}{', ...' if len(missing) > 5 else ''}); {out} left unchanged: run the "
                "whole pipeline on this lake first (make run), or pass --allow-missing if the tables were removed")
    text = render(tables)
    out.write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.table_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root to read the table metadata from")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="markdown file to write (default docs/tables.md)")
    parser.add_argument("--allow-missing", action="store_true",
                        help="write even when the lake lacks tables the current file documents")
    args = parser.parse_args(argv)
    try:
        text = generate(args.lake, args.out, allow_missing=args.allow_missing)
    except CatalogueError as exc:
        print(f"table_docs: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {args.out} ({text.count('### ')} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

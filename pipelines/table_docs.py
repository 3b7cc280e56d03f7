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


def generate(lake_root: str, out: str | Path = DEFAULT_OUT) -> str:
    """Write the data dictionary of the lake at ``lake_root`` to ``out``; returns the markdown."""
    from lake_io import Lake
    from pipelines.config import load_settings

    lake = Lake(load_settings(lake_root=lake_root), None)
    text = render(describe_lake(lake))
    Path(out).write_text(text, encoding="utf-8")
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.table_docs", description=__doc__.splitlines()[0])
    parser.add_argument("--lake", required=True, help="lake root to read the table metadata from")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help="markdown file to write (default docs/tables.md)")
    args = parser.parse_args(argv)
    text = generate(args.lake, args.out)
    print(f"wrote {args.out} ({text.count('### ')} tables)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Writing landing files: serialisation, injected dirt, manifests and ``_SUCCESS`` markers.

Every file of every daily drop is declared up front (so an empty day still has its files,
with only a header for CSV).  Chunks of records are appended in a fixed order, which keeps
the output byte-identical for a seed.  Dirt is injected while writing, so the writer knows
the physical line of every dirty record and records it (``truth/dirt``).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

DIRT_KINDS = ("malformed_json", "wrong_type", "truncated_line", "mojibake", "duplicate", "future_date",
              "negative_amount", "unknown_extra_field")
# Kinds after which the file holds no clean copy of the record.
LOST_KINDS = {"malformed_json", "truncated_line"}


@dataclass(frozen=True)
class FileSpec:
    """One landing file: where it goes, how it is written and how it can be dirtied."""

    source: str
    name: str
    entity: str
    columns: tuple[str, ...]
    key: tuple[str, ...]
    date_field: str | None = None
    date_kind: str = "iso"  # iso | local | date | unix
    text_field: str | None = None
    amount_field: str | None = None
    wrong_type: tuple[str, Callable[[object], object]] | None = None
    host_all_kinds: bool = False  # the first drop gets every applicable dirt kind at least once

    @property
    def is_csv(self) -> bool:
        return self.name.endswith(".csv")

    def kinds(self) -> tuple[str, ...]:
        out = []
        for k in DIRT_KINDS:
            if k == "malformed_json" and self.is_csv:
                continue
            if k == "negative_amount" and not self.amount_field:
                continue
            if k == "future_date" and not self.date_field:
                continue
            if k == "wrong_type" and not self.wrong_type:
                continue
            if k == "mojibake" and not (self.is_csv or self.text_field):
                continue
            out.append(k)
        return tuple(out)


@dataclass
class _FileState:
    path: Path
    lines: int = 0
    records: int = 0
    sha: "hashlib._Hash" = field(default_factory=hashlib.sha256)


class Landing:
    """Appends records to ``<root>/landing/<source>/<date>/<file>`` for every drop."""

    def __init__(self, root: Path, start: np.datetime64, days: int, seed: int,
                 dirt_rate: float = 0.003, crm_encoding: str = "gbk") -> None:
        self.root = Path(root)
        self.start = start
        self.days = days
        self.seed = seed
        self.dirt_rate = float(dirt_rate)
        self.crm_encoding = crm_encoding
        self.specs: dict[tuple[str, str], FileSpec] = {}
        self.state: dict[tuple[str, str, int], _FileState] = {}
        self.dirt: list[dict] = []
        self._forced: set[tuple[str, str]] = set()

    # -- layout ------------------------------------------------------------------------
    def date_of(self, drop: int) -> str:
        return str(self.start + np.timedelta64(drop, "D"))

    def encoding(self, spec: FileSpec) -> str:
        return self.crm_encoding if spec.source == "crm" else "utf-8"

    def declare(self, spec: FileSpec) -> None:
        """Create the file in every drop (CSV: header line only)."""
        self.specs[(spec.source, spec.name)] = spec
        for drop in range(self.days):
            d = self.root / "landing" / spec.source / self.date_of(drop)
            d.mkdir(parents=True, exist_ok=True)
            st = _FileState(d / spec.name)
            data = b""
            if spec.is_csv:
                data = (",".join(spec.columns) + "\n").encode(self.encoding(spec))
                st.lines = 1
            st.path.write_bytes(data)
            st.sha.update(data)
            self.state[(spec.source, spec.name, drop)] = st

    # -- writing -----------------------------------------------------------------------
    def write(self, source: str, name: str, frame: pd.DataFrame, chunk: int) -> None:
        """Append ``frame`` (columns of the spec plus ``_drop``) to each drop's file."""
        spec = self.specs[(source, name)]
        if frame.empty:
            return
        drops = frame["_drop"].to_numpy()
        order = np.argsort(drops, kind="stable")
        frame = frame.iloc[order]
        drops = drops[order]
        bounds = np.flatnonzero(np.diff(drops)) + 1
        for part in np.split(np.arange(len(frame)), bounds):
            if len(part) == 0:
                continue
            drop = int(drops[part[0]])
            if drop >= self.days:
                continue
            self._append(spec, drop, frame.iloc[part][list(spec.columns)].reset_index(drop=True), chunk)

    def _append(self, spec: FileSpec, drop: int, df: pd.DataFrame, chunk: int) -> None:
        st = self.state[(spec.source, spec.name, drop)]
        lines: list = _serialise(df, spec)
        lines = self._dirty(spec, drop, df, lines, chunk, st.lines)
        enc = self.encoding(spec)
        blob = bytearray()
        run: list[str] = []
        for line in lines:
            if isinstance(line, bytes):  # a line written in the wrong encoding (mojibake)
                if run:
                    blob += ("\n".join(run) + "\n").encode(enc)
                    run = []
                blob += line + b"\n"
            else:
                run.append(line)
        if run:
            blob += ("\n".join(run) + "\n").encode(enc)
        with open(st.path, "ab") as fh:
            fh.write(blob)
        st.sha.update(blob)
        st.lines += len(lines)
        st.records += len(lines)

    # -- dirt --------------------------------------------------------------------------
    def _dirty(self, spec: FileSpec, drop: int, df: pd.DataFrame, lines: list, chunk: int, base: int) -> list:
        kinds = spec.kinds()
        if self.dirt_rate <= 0 or not kinds:
            return lines
        rng = np.random.default_rng([self.seed, 7, zlib.crc32(f"{spec.source}/{spec.name}".encode()), drop, chunk])
        n = len(lines)
        count = min(n, int(rng.binomial(n, min(self.dirt_rate, 1.0))))
        rows = rng.choice(n, size=count, replace=False) if count else np.empty(0, dtype=int)
        chosen = [kinds[i] for i in rng.integers(0, len(kinds), count)]
        if spec.host_all_kinds and drop == 0 and (spec.source, spec.name) not in self._forced:
            self._forced.add((spec.source, spec.name))
            free = np.setdiff1d(np.arange(n), rows)
            extra = rng.choice(free, size=min(len(kinds), len(free)), replace=False)
            rows = np.concatenate([rows, extra])
            chosen += list(kinds[: len(extra)])
        if len(rows) == 0:
            return lines
        plan = dict(zip(rows.tolist(), chosen))
        order = sorted(plan)
        records = df.iloc[order].to_dict("records")
        date = self.date_of(drop)
        file = f"landing/{spec.source}/{date}/{spec.name}"
        out: list = []
        prev = 0
        for i, record in zip(order, records):  # rebuild by slices: O(lines), not O(lines x dirt)
            out.extend(lines[prev:i])
            prev = i + 1
            kind = plan[i]
            key = "|".join(str(record[k]) for k in spec.key)
            if kind == "duplicate":
                out.append(lines[i])
                out.append(lines[i])
            else:
                out.append(_corrupt(kind, spec, record, lines[i], rng, self.encoding(spec), int(date[:4])))
            self.dirt.append({"source": spec.source, "entity": spec.entity, "date": date, "file": file,
                              "line_no": base + len(out), "kind": kind, "record_key": key,
                              "record_lost": kind in LOST_KINDS})
        out.extend(lines[prev:])
        return out

    # -- closing -----------------------------------------------------------------------
    def finish(self) -> dict:
        """Write ``manifest.json`` then ``_SUCCESS`` in every drop; return counts per file."""
        summary: dict[str, dict[str, int]] = {}
        for source in sorted({s for s, _ in self.specs}):
            for drop in range(self.days):
                date = self.date_of(drop)
                files = []
                for (src, name), spec in self.specs.items():
                    if src != source:
                        continue
                    st = self.state[(src, name, drop)]
                    files.append({"name": name, "records": st.records, "sha256": st.sha.hexdigest(),
                                  "encoding": self.encoding(spec)})
                    summary.setdefault(f"{source}/{name}", {})[date] = st.records
                folder = self.root / "landing" / source / date
                manifest = {"source": source, "date": date, "files": files}
                (folder / "manifest.json").write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n",
                                                      encoding="utf-8")
                (folder / "_SUCCESS").write_bytes(b"")
        return summary


# -- serialisation ---------------------------------------------------------------------
def _csv_lines(df: pd.DataFrame) -> list[str]:
    """CSV lines with minimal quoting (as the csv module writes them); None -> empty field."""
    cols = []
    for name in df.columns:
        s = df[name]
        if s.dtype != object:
            v = s.astype(str)
            cols.append((v.where(s.notna(), "") if s.dtype.kind == "f" else v).tolist())
            continue
        missing = s.isna()
        if pd.api.types.infer_dtype(s, skipna=True) in ("string", "empty"):
            vals = (s.fillna("") if missing.any() else s).tolist()
        else:  # mixed column (e.g. ints and None): stringify, then blank the missing values
            vals = s.astype(str).where(~missing, "").tolist()
        joined = "".join(vals)  # one C-speed scan decides whether any value needs quoting
        if any(ch in joined for ch in ',"\n\r'):
            vals = [f'"{v.replace(chr(34), chr(34) * 2)}"' if any(ch in v for ch in ',"\n\r') else v for v in vals]
        cols.append(vals)
    return [",".join(row) for row in zip(*cols)]


def _serialise(df: pd.DataFrame, spec: FileSpec) -> list[str]:
    if spec.is_csv:
        return _csv_lines(df)
    else:
        text = df.to_json(orient="records", lines=True, force_ascii=False)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _csv_line(values: list) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="").writerow(["" if v is None else v for v in values])
    return buf.getvalue()


def _json_line(record: dict) -> str:
    return json.dumps(record, ensure_ascii=False, separators=(",", ":"))


def _future(value, kind: str, year: int):
    """The same date moved to ``year`` (years after the drop): a clock or typing error."""
    if kind == "unix":
        return int(value or 0) + (year - 1970) * 31_556_952 - int(value or 0) % 31_556_952
    s = str(value or "2026-01-01 00:00:00")
    return str(year) + s[4:]


def _garble(text: str) -> str:
    # UTF-8 bytes read back as GBK: the classic Chinese mojibake (锟斤拷, 鑺辨紡 ...)
    return text.encode("utf-8").decode("gb18030", errors="replace")


def _corrupt(kind: str, spec: FileSpec, record: dict, line: str, rng: np.random.Generator, enc: str, year: int):
    rec = dict(record)
    if kind == "truncated_line":
        # a CSV line loses at least its last field; any proper prefix of a JSON object is invalid
        end = line.rfind(",") if spec.is_csv else len(line) - 1
        cut = int(rng.integers(max(1, min(len(line) // 4, end - 1)), max(2, end)))
        return line[:cut]
    if kind == "malformed_json":
        variant = int(rng.integers(0, 3))
        if variant == 0:
            return line[:-1] + ",}"           # trailing comma
        if variant == 1:
            return line.replace('":', '":"', 1)  # unbalanced quote
        return "{" + line                      # doubled brace
    if kind == "wrong_type":
        fld, fn = spec.wrong_type
        rec[fld] = fn(rec.get(fld))
    elif kind == "future_date":
        rec[spec.date_field] = _future(rec.get(spec.date_field), spec.date_kind, year + int(rng.integers(5, 12)))
    elif kind == "negative_amount":
        rec[spec.amount_field] = "-" + str(rec[spec.amount_field]).lstrip("-")
    elif kind == "unknown_extra_field":
        if spec.is_csv:
            return line + ",EXT" + str(int(rng.integers(100, 999)))
        rec["_ext_" + ("client_ver" if rng.random() < 0.5 else "trace_id")] = f"{int(rng.integers(1, 99999))}"
    elif kind == "mojibake":
        if spec.is_csv:
            # the whole line written in the other encoding; GBK<->UTF-8 never eats a comma
            other = "utf-8" if enc.lower().replace("-", "") in ("gbk", "gb18030", "gb2312") else "gb18030"
            return line.encode(other, errors="replace")
        # garble the first non-ASCII text, starting with the entity's main text field
        names = [spec.text_field] + [c for c in spec.columns if c != spec.text_field]
        target = next((c for c in names if isinstance(rec.get(c), str) and not rec[c].isascii()), spec.text_field)
        rec[target] = _garble(str(rec.get(target) or "乱码"))
    if spec.is_csv:
        return _csv_line([rec[c] for c in spec.columns])
    return _json_line(rec)

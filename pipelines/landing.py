"""The landing area: which daily drops exist and which are complete.

A source's drop for a day is complete when ``landing/<source>/<date>/_SUCCESS`` exists
(written last, after ``manifest.json``). A day is ready for the pipeline when every
expected source has a complete drop for it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pyarrow.fs as pafs

from pipelines.config import Settings

SOURCES: tuple[str, ...] = ("crm", "weibo", "wechat")
SUCCESS_MARKER = "_SUCCESS"
MANIFEST = "manifest.json"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class DropStatus:
    source: str
    date: str
    present: bool
    complete: bool


def landing_fs(settings: Settings) -> tuple[pafs.FileSystem, str]:
    """The landing area's filesystem and root path (local disk or any pyarrow URI)."""
    if settings.lake_is_local:
        return pafs.LocalFileSystem(), settings.lake_path("landing")
    fs, path = pafs.FileSystem.from_uri(settings.lake_path("landing"))
    return fs, path


def _is_file(fs: pafs.FileSystem, path: str) -> bool:
    return fs.get_file_info(path).type == pafs.FileType.File


def drop_status(settings: Settings, date: str, sources: tuple[str, ...] = SOURCES) -> list[DropStatus]:
    """Presence and completeness of each source's drop for ``date`` (YYYY-MM-DD)."""
    fs, root = landing_fs(settings)
    out = []
    for source in sources:
        folder = f"{root}/{source}/{date}"
        present = fs.get_file_info(folder).type == pafs.FileType.Directory
        complete = present and _is_file(fs, f"{folder}/{SUCCESS_MARKER}")
        out.append(DropStatus(source, date, present, complete))
    return out


def drop_dates(settings: Settings, sources: tuple[str, ...] = SOURCES) -> list[str]:
    """Every date for which at least one source has a drop folder, sorted."""
    fs, root = landing_fs(settings)
    dates: set[str] = set()
    for source in sources:
        selector = pafs.FileSelector(f"{root}/{source}", allow_not_found=True)
        for info in fs.get_file_info(selector):
            if info.type == pafs.FileType.Directory and _DATE.match(info.base_name):
                dates.add(info.base_name)
    return sorted(dates)


def complete_dates(settings: Settings, sources: tuple[str, ...] = SOURCES) -> list[str]:
    """Dates whose drops are complete for every source in ``sources``."""
    return [d for d in drop_dates(settings, sources) if all(s.complete for s in drop_status(settings, d, sources))]


def read_manifest(settings: Settings, source: str, date: str) -> dict | None:
    """The drop's manifest, or None when the source wrote none."""
    fs, root = landing_fs(settings)
    path = f"{root}/{source}/{date}/{MANIFEST}"
    if not _is_file(fs, path):
        return None
    with fs.open_input_stream(path) as fh:
        return json.loads(fh.read().decode("utf-8"))

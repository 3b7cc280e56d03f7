"""A lake-level run lock: one writer job (nightly run, erasure, backfill) at a time.

Delta commits are atomic, but two jobs that each rebuild the same partition or table can
still interleave badly (each removes the files it saw; an erasure running beside a silver
rebuild could be undone by the rebuild). The lock is an exclusive ``fcntl.flock`` on
``<lake_root>/_locks/<name>.lock``: the kernel releases it when the holder exits, even after
SIGKILL, so a crashed job never leaves a stale lock. It works for a lake on a local or
NFS/POSIX file system shared by the jobs' drivers; for an object-store lake, run the jobs
from one scheduler (Dagster's run queue with a concurrency limit of 1) instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("scim.lock")


class LakeBusyError(RuntimeError):
    """Another job holds the lake's run lock (the message names it)."""


def lock_path(settings: Any, name: str = "lake") -> Path:
    """The lock file of ``name`` under the lake root; refuses non-local lake roots."""
    root = str(settings.lake_root)
    if "://" in root and not root.startswith("file://"):
        raise LakeBusyError(f"run lock: lake root {root} is not a local path; serialise jobs in the scheduler instead")
    root = root[len("file://"):] if root.startswith("file://") else root
    return Path(root) / "_locks" / f"{name}.lock"


@contextlib.contextmanager
def run_lock(settings: Any, job: str, name: str = "lake", timeout: float | None = None,
             poll_seconds: float = 0.5) -> Iterator[None]:
    """Hold the lake's exclusive run lock for the ``with`` block.

    ``timeout``: None waits as long as needed, 0 fails at once, else seconds to wait.
    Raises :class:`LakeBusyError` naming the holder (job, pid, host, since) when the lock
    is not obtained in time. Released on exit, and by the kernel if the process dies.
    """
    path = lock_path(settings, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    started = time.monotonic()
    next_note = 0.0
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES):
                    raise
                waited = time.monotonic() - started
                if timeout is not None and waited >= timeout:
                    holder = _read_holder(fd)
                    raise LakeBusyError(
                        f"lake {settings.lake_root} is busy: {holder or 'another job'} holds {path}; "
                        f"{job} gave up after {waited:.0f}s (wait for it to finish, or raise the timeout)"
                    ) from None
                if waited >= next_note:  # once at first, then every minute
                    log.info("%s waits for the lake run lock (%s)", job, _read_holder(fd) or "held")
                    next_note = waited + 60
                time.sleep(poll_seconds)
        os.ftruncate(fd, 0)
        info = {"job": job, "pid": os.getpid(), "host": socket.gethostname(),
                "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
        os.pwrite(fd, json.dumps(info).encode(), 0)
        log.info("%s holds the lake run lock after %.1fs", job, time.monotonic() - started)
        try:
            yield
        finally:
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str | None:
    try:
        info = json.loads(os.pread(fd, 4096, 0).decode() or "null")
    except (OSError, ValueError):
        return None
    if not info:
        return None
    return f"{info.get('job')} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')})"

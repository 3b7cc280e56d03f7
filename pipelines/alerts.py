"""Alerts: a record of every failed run and negative-sentiment spike, and a hook for production.

Every alert is one JSON object with ``kind`` (``run_failure``, ``negative_spike``), ``at``
(UTC), ``summary`` (one line for a chat message) and the details of its kind. It is always
written under ``<lake>/_reports/alerts/``: on a local lake appended as one line to
``<UTC date>.jsonl`` (``tail -f`` friendly), on an object store (which cannot append) as
one file ``<UTC date>/<time>-<kind>-<id>.json``. When ``alerts.webhook_url`` is set
(``SCIM_ALERTS__WEBHOOK_URL``), the alert is also POSTed there as JSON
``{"text": summary, "alert": {...}}`` (``text`` is what a Slack incoming webhook shows; an
e-mail or paging gateway reads ``alert``). A webhook that fails is logged and never fails
the caller: the record under ``_reports/alerts/`` is the alert of record.

Alerts carry run ids, step names, error messages (first line, cut at 300 characters),
brands and counts: no personal data.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any, Iterable

log = logging.getLogger("scim.alerts")

ALERTS = "_reports/alerts"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _first_line(text: str | None, limit: int = 300) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= limit else line[:limit - 1] + "…"


def root_error(error: Any) -> str | None:
    """The message of the innermost cause of a Dagster error (``SerializableErrorInfo``): the
    user's exception, not the "Error occurred while executing op" wrapper."""
    while error is not None and getattr(error, "cause", None) is not None:
        error = error.cause
    return None if error is None else error.message


def run_failure_alert(run_id: str, job: str, tags: dict[str, str], failures: Iterable[tuple[str, str | None]],
                      source: str) -> dict[str, Any]:
    """The alert of a failed run: ``failures`` are (step key, error message) pairs; ``source``
    says who noticed (``sensor`` in a Dagster deployment, ``scim run`` in-process)."""
    steps = [{"step": step, "error": _first_line(message)} for step, message in failures]
    partition = tags.get("dagster/partition") or "..".join(
        t for t in (tags.get("dagster/asset_partition_range_start"), tags.get("dagster/asset_partition_range_end")) if t)
    names = ", ".join(s["step"] for s in steps) or "no step failed (run-level failure)"
    return {
        "kind": "run_failure", "at": _now().isoformat(), "run_id": run_id, "job": job, "partition": partition or None,
        "source": source, "failed_steps": steps,
        "summary": f"SCIM run {run_id[:8]} of {job}{' for ' + partition if partition else ''} failed: {names}",
    }


def negative_spike_alert(run_date: str, spikes: list[dict[str, Any]]) -> dict[str, Any]:
    """The alert of a negative-sentiment spike on ``run_date`` (``spikes``: brand, platform, counts)."""
    what = ", ".join(f"{s['brand']} on {s['platform']} ({s['negative']} negative)" for s in spikes)
    return {"kind": "negative_spike", "at": _now().isoformat(), "run_date": run_date, "spikes": spikes,
            "summary": f"Negative spike on {run_date}: {what}"}


def record_alert(settings: Any, alert: dict[str, Any]) -> str:
    """Write ``alert`` under ``<lake>/_reports/alerts/`` and send it to the webhook if one is set; returns its URI.

    The local file is appended with one ``write`` of one line (readers never see half a
    line from a single writer). A webhook failure is logged, not raised.
    """
    at = dt.datetime.fromisoformat(alert["at"]) if "at" in alert else _now()
    line = json.dumps(alert, ensure_ascii=False, sort_keys=True, default=str)
    if settings.lake_is_local:
        uri = settings.lake_path(ALERTS, f"{at:%Y-%m-%d}.jsonl")
        Path(uri).parent.mkdir(parents=True, exist_ok=True)
        with open(uri, "a", encoding="utf-8") as fh:
            fh.write(line + "\n")
    else:
        from lake_io.datasource import filesystem

        uri = settings.lake_path(ALERTS, f"{at:%Y-%m-%d}", f"{at:%H%M%S}-{alert.get('kind', 'alert')}-{uuid.uuid4().hex[:8]}.json")
        fs, path = filesystem(uri)
        with fs.open_output_stream(path) as out:
            out.write((line + "\n").encode("utf-8"))
    log.warning("alert %s recorded in %s: %s", alert.get("kind"), uri, alert.get("summary"))
    notify(settings, alert)
    return uri


def notify(settings: Any, alert: dict[str, Any]) -> bool:
    """POST ``alert`` to ``alerts.webhook_url``; True when the receiver answered 2xx, False otherwise (logged)."""
    secret = settings.alerts.webhook_url
    if secret is None or not secret.get_secret_value():
        return False
    body = json.dumps({"text": alert.get("summary", ""), "alert": alert}, ensure_ascii=False, default=str).encode("utf-8")
    request = urllib.request.Request(secret.get_secret_value(), data=body, method="POST",
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    try:
        with urllib.request.urlopen(request, timeout=settings.alerts.webhook_timeout_seconds) as response:
            ok = 200 <= response.status < 300
    except (urllib.error.URLError, OSError, ValueError) as exc:
        # the URL holds a credential: never log it
        log.warning("alert %s: webhook failed (%s); the record under %s stands", alert.get("kind"),
                    type(exc).__name__ + (f" {exc.code}" if isinstance(exc, urllib.error.HTTPError) else ""), ALERTS)
        return False
    if not ok:
        log.warning("alert %s: webhook answered HTTP %s", alert.get("kind"), response.status)
    return ok

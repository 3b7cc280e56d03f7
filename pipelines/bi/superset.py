"""The Superset BI demo (``make bi-demo``): Superset on localhost over the DuckDB BI catalog.

Superset cannot share the project's virtual environment (it needs SQLAlchemy < 2, numpy < 2,
pandas < 2.2, pyarrow < 19: docs/bi.md), so it runs from its own, ``.venv-bi``, installed
from ``requirements-bi.lock``. This module runs in the project's environment and only talks
to Superset: its command line (metadata database, admin user), its web server (gunicorn),
and its REST API (``/api/v1``), through which it registers the catalog as a database, adds
the gold views as datasets and builds the dashboard described in ``dashboard.yaml``.

``python -m pipelines.bi.superset serve`` (what ``make bi-demo`` runs) does all of it and
keeps the server in the foreground until Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("scim.bi.superset")

HERE = Path(__file__).resolve().parent
DASHBOARD_FILE = HERE / "dashboard.yaml"
CONFIG_FILE = HERE / "superset_config.py"
ADMIN_USER = "admin"


class SupersetError(RuntimeError):
    """Superset refused a call or did not start; the message names the call and Superset's answer."""


# -- the server ------------------------------------------------------------------------------------
def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "SUPERSET_HOME": str(home),
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE), "FLASK_APP": "superset"}


def prepare_home(venv: Path, home: Path, password: str) -> None:
    """Create the demo's state once: secret key, metadata database (migrations), admin user, roles.

    Idempotent: a home that finished once (``.initialised``) is left as it is.
    """
    superset = venv / "bin" / "superset"
    if not superset.exists():
        raise SupersetError(f"{superset} not found: `make bi-demo` creates {venv} from requirements-bi.lock")
    home.mkdir(parents=True, exist_ok=True)
    if (home / ".initialised").exists():
        return
    key = home / "secret_key"
    if not key.exists():
        key.write_text(secrets.token_hex(32), encoding="utf-8")
        key.chmod(0o600)
    env = _env(home)
    for args in (["db", "upgrade"],
                 ["fab", "create-admin", "--username", ADMIN_USER, "--firstname", "SCIM", "--lastname", "Admin",
                  "--email", "admin@localhost", "--password", password],
                 ["init"]):
        t0 = time.monotonic()
        done = subprocess.run([str(superset), *args], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SupersetError(f"superset {' '.join(args[:2])} failed ({done.returncode}):\n{done.stderr[-3000:]}")
        log.info("superset %s done (%.0fs)", args[0], time.monotonic() - t0)
    (home / ".initialised").write_text(ADMIN_USER, encoding="utf-8")


def start_server(venv: Path, home: Path, port: int, timeout: float = 240) -> subprocess.Popen:
    """Start Superset's web server on 127.0.0.1:``port`` (gunicorn, one worker); wait until /health answers."""
    logfile = open(home / "server.log", "ab")
    proc = subprocess.Popen(
        [str(venv / "bin" / "gunicorn"), "--workers", "1", "--threads", "4", "--worker-class", "gthread",
         "--timeout", "120", "--bind", f"127.0.0.1:{port}", "superset.app:create_app()"],
        env=_env(home), stdout=logfile, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SupersetError(f"Superset exited with {proc.returncode} while starting; see {home / 'server.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=5) as r:
                if r.status == 200:
                    return proc
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(2)
    stop_server(proc)
    raise SupersetError(f"Superset did not answer on port {port} within {timeout:.0f}s; see {home / 'server.log'}")


def stop_server(proc: subprocess.Popen) -> None:
    """Stop the server started by :func:`start_server` (its own process group)."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- the API ---------------------------------------------------------------------------------------
class Client:
    """Superset's REST API as the admin user: a JWT for the API plus the session cookie and CSRF token."""

    def __init__(self, base_url: str, password: str, user: str = ADMIN_USER):
        self.base = base_url.rstrip("/")
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        self.headers: dict[str, str] = {}
        token = self.call("POST", "/api/v1/security/login",
                          {"username": user, "password": password, "provider": "db", "refresh": True})
        self.headers["Authorization"] = f"Bearer {token['access_token']}"
        self.headers["X-CSRFToken"] = self.call("GET", "/api/v1/security/csrf_token/")["result"]
        self.headers["Referer"] = self.base

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        headers = {**self.headers, **({"Content-Type": "application/json"} if data is not None else {})}
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=120) as r:
                text = r.read().decode()
        except urllib.error.HTTPError as exc:
            raise SupersetError(f"{method} {path}: HTTP {exc.code}: {exc.read().decode()[:2000]}") from None
        return json.loads(text) if text else None

    def find(self, resource: str, **match: Any) -> list[dict[str, Any]]:
        """Objects of ``/api/v1/<resource>/`` whose fields equal ``match`` (first 100 objects)."""
        rows = self.call("GET", f"/api/v1/{resource}/?q=(page_size:100)")["result"]
        return [r for r in rows if all(_field(r, k) == v for k, v in match.items())]


def _field(row: dict[str, Any], key: str) -> Any:
    value: Any = row
    for part in key.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def register_catalog(client: Client, name: str, sqlalchemy_uri: str) -> int:
    """The Superset database for the BI catalog (created, or its URI updated); returns its id."""
    body = {"database_name": name, "sqlalchemy_uri": sqlalchemy_uri, "expose_in_sqllab": True,
            "allow_run_async": False, "allow_dml": False}
    found = client.find("database", database_name=name)
    if found:
        client.call("PUT", f"/api/v1/database/{found[0]['id']}", body)
        return int(found[0]["id"])
    return int(client.call("POST", "/api/v1/database/", body)["id"])


def ensure_dataset(client: Client, database_id: int, schema: str, table: str) -> int:
    """The Superset dataset of view ``schema.table`` (columns re-read from the catalog); returns its id."""
    found = [d for d in client.find("dataset", table_name=table, schema=schema)
             if _field(d, "database.id") == database_id]
    if found:
        ds_id = int(found[0]["id"])
        client.call("PUT", f"/api/v1/dataset/{ds_id}/refresh")
        return ds_id
    return int(client.call("POST", "/api/v1/dataset/", {"database": database_id, "schema": schema,
                                                         "table_name": table})["id"])


def _metric(m: dict[str, str]) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": m["sql"], "label": m["label"], "hasCustomLabel": True,
            "optionName": f"metric_{m['label']}"}


def form_data(chart: dict[str, Any], dataset_id: int) -> dict[str, Any]:
    """Superset's form data (chart ``params``) for one chart of ``dashboard.yaml``: how it is drawn."""
    fd: dict[str, Any] = {"datasource": f"{dataset_id}__table", "viz_type": chart["viz_type"],
                          "adhoc_filters": [], "row_limit": chart.get("row_limit", 10000)}
    if chart.get("where"):
        fd["adhoc_filters"] = [{"expressionType": "SQL", "sqlExpression": chart["where"], "clause": "WHERE"}]
    metrics = [_metric(m) for m in chart.get("metrics", [])]
    if chart["viz_type"].startswith("echarts_timeseries"):
        fd.update(x_axis=chart["x_axis"], time_grain_sqla="P1D", metrics=metrics, groupby=chart.get("groupby", []),
                  show_legend=True, rich_tooltip=True, x_axis_time_format="%Y-%m-%d")
    elif chart["viz_type"] == "pie":
        fd.update(groupby=chart["groupby"], metric=metrics[0], show_labels=True, label_type="key_percent",
                  show_legend=True)
    elif chart["viz_type"] == "table":
        col, direction = chart.get("order_by", [None, None])
        fd.update(query_mode="raw", all_columns=chart["columns"],
                  order_by_cols=[json.dumps([col, direction != "desc"])] if col else [])
    else:
        raise SupersetError(f"dashboard.yaml chart {chart['name']!r}: viz_type {chart['viz_type']} is not supported here")
    fd.update(chart.get("form") or {})
    return fd


def query_context(chart: dict[str, Any], dataset_id: int, fd: dict[str, Any]) -> dict[str, Any]:
    """The query context saved with the chart: what ``GET /api/v1/chart/<id>/data/`` runs."""
    metrics = [_metric(m) for m in chart.get("metrics", [])]
    query: dict[str, Any] = {"filters": [], "extras": {"where": chart.get("where") or "", "having": ""},
                             "row_limit": chart.get("row_limit", 10000), "metrics": metrics, "orderby": []}
    if chart["viz_type"].startswith("echarts_timeseries"):
        query["columns"] = [{"columnType": "BASE_AXIS", "expressionType": "SQL", "sqlExpression": chart["x_axis"],
                             "label": chart["x_axis"], "timeGrain": "P1D"}, *chart.get("groupby", [])]
        query["extras"]["time_grain_sqla"] = "P1D"
        query["orderby"] = [[metrics[0], False]] if metrics else []
    elif chart["viz_type"] == "pie":
        query["columns"] = chart["groupby"]
        query["orderby"] = [[metrics[0], False]]
    else:
        query["columns"] = chart["columns"]
        col, direction = chart.get("order_by", [None, None])
        query["orderby"] = [[col, direction != "desc"]] if col else []
    return {"datasource": {"id": dataset_id, "type": "table"}, "force": False, "queries": [query],
            "form_data": fd, "result_format": "json", "result_type": "full"}


def _position(chart_ids: list[tuple[int, str, int]]) -> dict[str, Any]:
    """Dashboard layout: charts in rows of at most 12 grid units, in ``dashboard.yaml`` order."""
    pos: dict[str, Any] = {"DASHBOARD_VERSION_KEY": "v2",
                           "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
                           "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]}}
    row, used = None, 12
    for chart_id, name, width in chart_ids:
        if used + width > 12:
            row, used = f"ROW-{uuid.uuid4().hex[:8]}", 0
            pos[row] = {"type": "ROW", "id": row, "children": [], "parents": ["ROOT_ID", "GRID_ID"],
                        "meta": {"background": "BACKGROUND_TRANSPARENT"}}
            pos["GRID_ID"]["children"].append(row)
        key = f"CHART-{chart_id}"
        pos[key] = {"type": "CHART", "id": key, "children": [], "parents": ["ROOT_ID", "GRID_ID", row],
                    "meta": {"chartId": chart_id, "width": width, "height": 50, "sliceName": name}}
        pos[row]["children"].append(key)
        used += width
    return pos


def build_dashboard(client: Client, sqlalchemy_uri: str, spec: dict[str, Any] | None = None) -> dict[str, Any]:
    """Register the catalog, add the datasets, (re)create the charts and the dashboard of ``dashboard.yaml``.

    Returns ``{"database_id", "dashboard_id", "url", "charts": {name: id}}``. A dashboard with
    the same slug is replaced (with its charts), so a second run leaves one dashboard.
    """
    spec = spec or yaml.safe_load(DASHBOARD_FILE.read_text(encoding="utf-8"))
    db_id = register_catalog(client, spec["database_name"], sqlalchemy_uri)
    slug = spec["dashboard"]["slug"]
    for old in client.find("dashboard", slug=slug):
        for c in client.call("GET", f"/api/v1/dashboard/{old['id']}/charts")["result"]:
            client.call("DELETE", f"/api/v1/chart/{c['id']}")
        client.call("DELETE", f"/api/v1/dashboard/{old['id']}")
    dash_id = int(client.call("POST", "/api/v1/dashboard/", {"dashboard_title": spec["dashboard"]["title"],
                                                              "slug": slug, "published": True})["id"])
    placed, charts = [], {}
    for chart in spec["charts"]:
        ds_id = ensure_dataset(client, db_id, "gold", chart["dataset"])
        fd = form_data(chart, ds_id)
        chart_id = int(client.call("POST", "/api/v1/chart/", {
            "slice_name": chart["name"], "viz_type": chart["viz_type"], "datasource_id": ds_id,
            "datasource_type": "table", "params": json.dumps(fd),
            "query_context": json.dumps(query_context(chart, ds_id, fd)), "dashboards": [dash_id]})["id"])
        charts[chart["name"]] = chart_id
        placed.append((chart_id, chart["name"], int(chart.get("width", 6))))
    client.call("PUT", f"/api/v1/dashboard/{dash_id}", {"position_json": json.dumps(_position(placed))})
    return {"database_id": db_id, "dashboard_id": dash_id, "url": f"{client.base}/superset/dashboard/{slug}/",
            "charts": charts}


def chart_rows(client: Client, chart_id: int) -> int:
    """Rows the chart's saved query returns now (``GET /api/v1/chart/<id>/data/``)."""
    result = client.call("GET", f"/api/v1/chart/{chart_id}/data/")["result"]
    return int(sum(len(r.get("data") or []) for r in result))


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


# -- make bi-demo ----------------------------------------------------------------------------------
def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", choices=["serve", "setup"],
                        help="serve: start Superset, build the dashboard, stay up until Ctrl-C; "
                             "setup: build the dashboard on a running Superset")
    parser.add_argument("--lake", help="lake root (overrides the settings' lake_root)")
    parser.add_argument("--venv", type=Path, default=Path(".venv-bi"), help="Superset's virtual environment")
    parser.add_argument("--home", type=Path, default=Path(".bi-demo"), help="the demo's state (metadata db, key)")
    parser.add_argument("--port", type=int, default=8088)
    parser.add_argument("--password", default=os.environ.get("SUPERSET_ADMIN_PASSWORD", "scim-demo"),
                        help="the admin password (or SUPERSET_ADMIN_PASSWORD); localhost demo only")


def run(args: argparse.Namespace) -> int:
    from pipelines.bi.catalog import BIError, catalog_path, sqlalchemy_url
    from pipelines.config import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
    settings = load_settings(None, **({"lake_root": args.lake} if args.lake else {}))
    try:
        if not catalog_path(settings).exists():
            raise BIError(f"no BI catalog at {catalog_path(settings)}: run `make run` (or `scim sql --refresh`) first")
        uri = sqlalchemy_url(settings)
        base = f"http://127.0.0.1:{args.port}"
        proc = None
        # Ctrl-C and SIGTERM both stop the server (a background start may have SIGINT ignored).
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, _interrupt)
        if args.action == "serve":
            prepare_home(args.venv.resolve(), args.home.resolve(), args.password)
            proc = start_server(args.venv.resolve(), args.home.resolve(), args.port)
        try:
            built = build_dashboard(Client(base, args.password), uri)
            for name, chart_id in built["charts"].items():
                log.info("chart %d %r: %d rows", chart_id, name, chart_rows(Client(base, args.password), chart_id))
            print(f"Superset: {built['url']}  (user {ADMIN_USER}, password {args.password})")
            if proc is not None:
                print("Ctrl-C stops it.")
                proc.wait()
        except KeyboardInterrupt:
            pass
        finally:
            if proc is not None:
                stop_server(proc)
    except (BIError, SupersetError) as exc:
        print(f"bi-demo: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    parser = argparse.ArgumentParser(prog="python -m pipelines.bi.superset", description=__doc__.splitlines()[0])
    add_arguments(parser)
    sys.exit(run(parser.parse_args()))

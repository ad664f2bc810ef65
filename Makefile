# Two commands do everything on a fresh machine:
#   make run    install what the app needs (once) and start it on http://localhost:8501
#   make test   install what the tests need (once, Chromium included), check the code with ruff, run every test
# For the inner loop: `make check` (ruff and the tests that need no browser and no full training, a few minutes).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test check lint format bench dask-scheduler dask-worker

run: $(VENV)/.app-installed
	$(PY) -m streamlit run app.py

test: lint
	$(PY) -m pytest -q tests

check: lint
	$(PY) -m pytest -q -m "not browser and not slow" tests

lint: $(VENV)/.test-installed
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format: $(VENV)/.test-installed
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

bench: $(VENV)/.test-installed
	$(PY) -m bench

$(VENV)/.app-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.app-installed node_modules/.installed
	$(PY) -m pip install -q -r requirements-test.txt
	sh tests/install_chromium.sh $(PY)
	touch $@

# axe-core (package.json, pinned by package-lock.json): the accessibility engine the browser tests run.
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --silent
	touch $@

# Trainings on a Dask cluster (README: "Past one machine"). Each runs from this folder with it on PYTHONPATH,
# so the scheduler and its workers can import the project's code (a training is this project's own function).
#   make dask-scheduler [PORT=8786]
#   make dask-worker SCHEDULER=tcp://HOST:8786 [THREADS=1]     THREADS: trainings that machine runs at once
# ARGS passes more of Dask's own flags (e.g. ARGS="--no-dashboard").
PORT ?= 8786
SCHEDULER ?= tcp://127.0.0.1:$(PORT)
THREADS ?= 1
ARGS ?=

dask-scheduler: $(VENV)/.app-installed
	PYTHONPATH="$(CURDIR)" exec $(PY) -m distributed.cli.dask_scheduler --port $(PORT) $(ARGS)

dask-worker: $(VENV)/.app-installed
	PYTHONPATH="$(CURDIR)" exec $(PY) -m distributed.cli.dask_worker $(SCHEDULER) --nthreads $(THREADS) $(ARGS)

# Two commands do everything on a fresh machine:
#   make run    install what the app needs (once) and start it on http://localhost:8501
#   make test   install what the tests need (once, Chromium included) and run every test
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: run test bench

run: $(VENV)/.app-installed
	$(PY) -m streamlit run app.py

test: $(VENV)/.test-installed
	$(PY) -m pytest -q tests

bench: $(VENV)/.test-installed
	$(PY) -m bench

$(VENV)/.app-installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	touch $@

$(VENV)/.test-installed: requirements-test.txt $(VENV)/.app-installed
	$(PY) -m pip install -q -r requirements-test.txt
	sh tests/install_chromium.sh $(PY)
	touch $@

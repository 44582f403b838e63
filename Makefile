# The two commands of the README:
#   make serve   set up (first time) and start the backend on 127.0.0.1:8731
#   make test    set up (first time) and run every test, browser tests included
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup serve token test-setup test bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e .
	touch $@

serve: setup
	$(BIN)/fakelens serve

token: setup
	@$(BIN)/fakelens token

test-setup: $(VENV)/.test-installed
	bash scripts/setup_browser.sh

# the test extras once, and again when pyproject.toml changes (as setup does)
$(VENV)/.test-installed: pyproject.toml $(VENV)/.installed
	$(BIN)/pip install -q -e '.[test]'
	touch $@

test: test-setup
	$(BIN)/pytest -q -ra

bench: setup
	$(BIN)/python bench/bench_backend.py

# synfab — two commands: `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PYTEST_ARGS ?= -n auto
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip

.PHONY: demo test bench serve i18n clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade --quiet pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml | $(BIN)/python
	$(PIP) install --quiet -e '.[test]'
	touch $@ $(VENV)/.installed

demo: $(VENV)/.installed
	$(BIN)/synfab demo

serve: $(VENV)/.installed
	$(BIN)/synfab serve

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed
	$(BIN)/synfab bench all

# Re-extract translatable text and update the zh_CN and en catalogs.
i18n: $(VENV)/.installed
	$(BIN)/synfab i18n update

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info

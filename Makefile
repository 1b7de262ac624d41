# The two commands of the README: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEV := VIGIE_ENV=development

.PHONY: demo test install install-test system-deps translations translations-update lint

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

install: $(BIN)/python
	$(BIN)/pip install -q -e .
	$(MAKE) --no-print-directory translations

install-test: $(BIN)/python system-deps
	$(BIN)/pip install -q -e '.[test]'
	$(MAKE) --no-print-directory translations

system-deps:
	./scripts/install-system-deps.sh

# Compile the catalogs (.po -> .mo; the .mo files are not versioned). `pybabel -q`: the option is global.
translations:
	$(BIN)/pybabel -q compile -d vigie/translations

# After changing translatable strings: re-extract, merge into the catalogs, then translate the new entries.
translations-update:
	./scripts/update-translations.sh

demo: install
	$(DEV) $(BIN)/vigie db upgrade
	$(DEV) $(BIN)/vigie demo
	$(DEV) $(BIN)/vigie run

lint:
	$(BIN)/ruff check vigie compliance governance tests bench migrations
	$(BIN)/mypy

test: install-test lint
	$(BIN)/pytest

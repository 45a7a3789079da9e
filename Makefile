# The front door. `make index` = full publication run on the bundled data; `make test` = the suite.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: index test ingest lint format bench clean

$(BIN)/python:
	$(PY) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# the project's own modules compiled once (an editable install leaves them as source, and
	@# where PYTHONDONTWRITEBYTECODE is set every command would compile them again)
	$(BIN)/python -m compileall -q index
	touch $(STAMP)

index: $(STAMP)
	$(BIN)/compute-index publish

ingest: $(STAMP)
	$(BIN)/compute-index ingest

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy index
	$(BIN)/python -m pytest -n 2 -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy index

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py

clean:
	rm -rf $(VENV) data/processed/*.parquet publications

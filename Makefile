# Buwei 不为 — every target documents itself: `make help`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
HOST   ?= 127.0.0.1
PORT   ?= 8000
MODEL_POINTER := models/CURRENT

.DEFAULT_GOAL := help
.PHONY: help install train evaluate select label serve test bench lint format clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) ## create .venv and install Buwei with its dev tools (.venv/bin/buwei)

$(MODEL_POINTER): | $(STAMP)
	$(BIN)/buwei train

train: $(STAMP) ## train a new model version on data/complaints.csv and make it current
	$(BIN)/buwei train

evaluate: $(STAMP) ## repeated cross-validation report on the training data (reports/)
	$(BIN)/buwei evaluate

select: $(STAMP) ## compare candidate pipelines by cross-validation; records data/model-selection.json
	$(BIN)/buwei select

label: $(STAMP) $(MODEL_POINTER) ## label a file: make label IN=file.xlsx [OUT=out.xlsx]
	@test -n "$(IN)" || { echo "usage: make label IN=file.csv [OUT=out.csv]"; exit 2; }
	$(BIN)/buwei label "$(IN)" $(if $(OUT),-o "$(OUT)")

serve: $(STAMP) $(MODEL_POINTER) ## set up, train if no model, serve API + page on http://127.0.0.1:8000 (HOST, PORT)
	$(BIN)/buwei serve --host $(HOST) --port $(PORT)

test: $(STAMP) ## run the whole test suite (builds its own small models)
	$(BIN)/python -m pytest

bench: $(STAMP) $(MODEL_POINTER) ## speed and memory benchmarks -> bench/results.json and bench/results.md
	$(BIN)/python -m bench

lint: $(STAMP) ## ruff and mypy
	$(BIN)/ruff check classifier api tests bench
	$(BIN)/ruff format --check classifier api tests bench
	$(BIN)/mypy

format: $(STAMP) ## format the code with ruff
	$(BIN)/ruff format classifier api tests bench
	$(BIN)/ruff check --fix classifier api tests bench

clean: ## remove the venv, caches, reports and trained models
	rm -rf $(VENV) reports .pytest_cache .mypy_cache .ruff_cache .hypothesis *.egg-info
	find models -mindepth 1 ! -name .gitkeep -exec rm -rf {} +
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

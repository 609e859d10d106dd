# Two commands on a fresh machine:
#   make run    installs everything and runs the main job end to end on real Fashion-MNIST
#   make test   installs everything, runs the test suite, then holds the shipped models to
#               budget.toml (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The main job's short budget: a few minutes on 2 CPU cores.
RUN_DIR  ?= runs/quickstart
RUN_ARGS ?= --model vgg198k --epochs 3 --mixed-precision --quantize-epochs 1

.PHONY: run test install data

run: install data
	$(BIN)/fmnist-edge pipeline $(RUN_ARGS) --out $(RUN_DIR) --force

test: install data
	$(BIN)/python -m pytest -q --durations=15
	$(BIN)/fmnist-edge check --budget budget.toml

install: $(VENV)/.installed

# Reinstall only when the project's dependencies change.
$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

data:
	bash scripts/install-data.sh

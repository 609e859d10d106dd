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

# The Kotlin compiler for the app's pure-Kotlin code (its golden test runs on the JVM here):
# npm's kotlin-compiler package ships kotlinc; the JDK comes from Debian.
KOTLINC := .tools/node_modules/kotlin-compiler/bin/kotlinc

.PHONY: run test install data tools

run: install data
	$(BIN)/fmnist-edge pipeline $(RUN_ARGS) --out $(RUN_DIR) --force

test: install data tools
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

tools: $(KOTLINC)

$(KOTLINC):
	bash scripts/install-tools.sh

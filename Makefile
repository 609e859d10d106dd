# Two commands on a fresh machine:
#   make run    installs everything and runs the main job end to end on real Fashion-MNIST
#   make test   installs everything, builds the manual (mkdocs, strict: a broken link fails), checks the
#               layer rules (import-linter's contracts in pyproject.toml), runs the test suite, then
#               holds the shipped models to budget.toml (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# The main job's short budget: a few minutes on 2 CPU cores.
RUN_DIR  ?= runs/quickstart
RUN_ARGS ?= --model vgg-a --epochs 3 --quantize-epochs 1

.PHONY: run test install data tools

run: install data
	$(BIN)/fmnist-edge pipeline $(RUN_ARGS) --out $(RUN_DIR) --force

test: install data tools
	$(BIN)/mkdocs build --strict --quiet
	$(BIN)/lint-imports --no-cache
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

# The demos' test tools (scripts/install-tools.sh): the Kotlin compiler for the app's pure-Kotlin code
# (npm's kotlin-compiler ships kotlinc; the JDK comes from Debian), the web demo's LiteRT.js (npm, from
# web_demo/package-lock.json) and Chromium (Debian). A stamp, since npm keeps its packages' 1985 file dates: reinstall only when the list changes.
TOOLS_STAMP := .tools/.installed

tools: $(TOOLS_STAMP)

$(TOOLS_STAMP): scripts/install-tools.sh web_demo/package-lock.json
	bash scripts/install-tools.sh
	touch $@

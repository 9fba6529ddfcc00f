# make demo / make test / make bench: each creates .venv and installs what it needs.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The shared data folder beside the checkout, when there is one (MNIST IDX files, CIFAR sample).
SHARED_DATA := $(wildcard ../shared/data)
DATA_ROOT := $(if $(SHARED_DATA),$(abspath $(SHARED_DATA)),)

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check --upgrade pip
	$(BIN)/pip install -q --disable-pip-version-check torch==2.14.1 torchvision==0.29.1
	$(BIN)/pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/genzoo demo $(if $(DATA_ROOT),--data-root $(DATA_ROOT),)

lint: $(STAMP)
	$(BIN)/ruff check .
	tools/lint_imports.sh

# The torchrun tests run after the rest, on their own: beside the rest of the suite a rank of theirs aborted in
# gloo ("terminate called without an active exception") 3 times in 2 full runs on 2026-12-07; alone, never (13 runs).
# On 2026-12-08: once in ~160 launches of these tests under load, and not in 2 full runs of the whole suite together.
# The cause is not known; should it recur, the failure message holds the aborting rank's Python thread stacks
# (the tests run the ranks with PYTHONFAULTHANDLER=1).
test: lint
	tools/ensure_chromium.sh
	GENZOO_TEST_DATA=$(DATA_ROOT) $(BIN)/pytest -q -n 2 --ignore tests/test_distributed.py
	GENZOO_TEST_DATA=$(DATA_ROOT) $(BIN)/pytest -q -n 2 tests/test_distributed.py

# make bench: rerun the committed mnist-quick suite into bench/mnist-quick (results.md/csv/json, report.html; see
# bench/RESULTS.md). Finished cells (bench/mnist-quick/cells, git-ignored) are reused, so a rerun only redoes what changed.
bench: $(STAMP)
	GENZOO_DATA=$(DATA_ROOT) $(BIN)/genzoo bench mnist-quick --out bench/mnist-quick

clean:
	rm -rf $(VENV) build *.egg-info runs

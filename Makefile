# numlite developer entry points.  Everything runs in ./.venv (created when missing).
#   make demo                 install numlite and run MediaPipe's face detector and segmentation on a photo
#   make test                 install the test extras and run the fast test suite
#   make test-slow            the model-scale checks (full-size MobileNet v1/v2, Inception v3)
#   make bench                numlite vs LiteRT: latency, load-to-first-result, peak RSS, arena
#   make lint                 ruff
#   make ci                   what CI runs: the suite on every CPython pyenv has, the oldest deps, NumPy 1.26
# Pass arguments with DEMO_ARGS="--model mobilenet_v2 --threads 2", BENCH_ARGS="--runs 50", ...

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO_ARGS ?=
BENCH_ARGS ?=
PYTEST_ARGS ?=

.PHONY: demo test test-slow bench lint ci install install-test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

install: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[image]'

install-test: $(BIN)/python
	$(BIN)/python -m pip install -q -e '.[test]'

demo: install
	$(BIN)/numlite demo $(DEMO_ARGS)

test: install-test
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

test-slow: install-test
	$(BIN)/python -m pytest -q -m slow $(PYTEST_ARGS)

bench: install-test
	$(BIN)/python benchmarks/bench.py $(BENCH_ARGS)

lint: install-test
	$(BIN)/ruff check numlite tests benchmarks scripts

ci:
	bash .ci/run

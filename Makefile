# Everything a fresh clone needs: a Python 3.11 or 3.12, a C compiler (durable-rules builds
# a C extension) and make. The venv is made and filled on first use.
PYTHON ?= $(shell for p in python3.12 python3.11 python3; do \
	$$p -c 'import sys; sys.exit(not ((3, 11) <= sys.version_info[:2] < (3, 13)))' 2>/dev/null && { echo $$p; break; }; done)
VENV := .venv
BIN := $(VENV)/bin
CORPUS ?= ../shared/seeds
EXAMPLE ?= examples/pancreas-insulinoma-metastatic.yaml

.PHONY: demo test lint check bench bench-serve serve soak clean

$(BIN)/netaid: pyproject.toml
	@test -n "$(PYTHON)" || { echo "netaid needs Python 3.11 or 3.12 (durable-rules does not import on 3.13)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $@

demo: $(BIN)/netaid
	$(BIN)/netaid discuss $(EXAMPLE)

test: $(BIN)/netaid
	$(BIN)/ruff check src tests $(wildcard benchmarks)
	$(BIN)/ruff format --check src tests $(wildcard benchmarks)
	$(BIN)/mypy
	@if [ -d "$(CORPUS)" ]; then $(BIN)/netaid lint --corpus $(CORPUS); \
	elif [ -n "$$CI" ]; then echo "lint: no corpus at $(CORPUS): CI must check quotes"; exit 1; \
	else echo "lint: no corpus at $(CORPUS); quotes not checked"; fi
	$(BIN)/netaid check
	$(BIN)/python -m pytest -q -m "not slow"

# Prints every figure of docs/performance.md; the discuss_many part (200,000 cases at 1 and
# 2 processes) takes a while: BENCH_FLAGS="--many 20000" shortens it.
bench: $(BIN)/netaid
	$(BIN)/python benchmarks/bench.py --serve $(BENCH_FLAGS)

# The web app on http://127.0.0.1:8000/: the tutor page, CDS Hooks at /cds-services, the API at
# /docs (see docs/service.md). SERVE_FLAGS="--port 8080 --max-cards 5" passes flags on.
serve: $(BIN)/netaid
	$(BIN)/netaid serve $(SERVE_FLAGS)

# Only the service's figures (CDS Hooks calls over loopback, 1 and 2 workers); `make bench`
# prints them too (--serve), after the library's.
bench-serve: $(BIN)/netaid
	$(BIN)/python benchmarks/bench.py --serve-only $(BENCH_FLAGS)

# The tests marked slow: the 1,000,000-evaluation soak and the gigabyte batch stream.
soak: $(BIN)/netaid
	$(BIN)/python -m pytest -q -m slow

clean:
	rm -rf $(VENV) build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis

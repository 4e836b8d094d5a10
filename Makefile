# Everything a fresh clone needs: a Python 3.11 or later and make. On 3.11 and 3.12 a C
# compiler too: durable-rules, the default engine there, builds a C extension. On 3.13 and
# later durable-rules cannot run and netaid uses its pure-Python engine. The venv is made and
# filled on first use.
#
# The interpreter: one on which durable-rules works (3.12, 3.11) if there is one, else the
# first 3.11+ found. PYTHON=python3.13 (or any) overrides it; VENV=.venv-3.13 keeps venvs of
# several interpreters side by side (.ci/run does).
_IN_RANGE = import sys; sys.exit(not (3, 11) <= sys.version_info[:2] < (3, 13))
_RECENT = import sys; sys.exit(not (3, 11) <= sys.version_info[:2])
PYTHON ?= $(shell \
	for p in python3.12 python3.11 python3; do \
		$$p -c '$(_IN_RANGE)' 2>/dev/null && { echo $$p; exit 0; }; done; \
	for p in python3.13 python3.14 python3; do \
		$$p -c '$(_RECENT)' 2>/dev/null && { echo $$p; exit 0; }; done)
VENV ?= .venv
BIN := $(VENV)/bin
CORPUS ?= ../shared/seeds
EXAMPLE ?= examples/pancreas-insulinoma-metastatic.yaml

.PHONY: demo test lint check bench bench-serve serve soak clean

$(BIN)/netaid: pyproject.toml
	@test -n "$(PYTHON)" || { echo "netaid needs Python 3.11 or later"; exit 1; }
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
	rm -rf $(VENV) .venv-3.* build dist .pytest_cache .mypy_cache .ruff_cache .hypothesis

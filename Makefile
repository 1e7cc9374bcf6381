# The two commands of the README: `make demo` and `make test`. Both set up .venv first (tools/setup_env.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= tars-demo

.PHONY: setup demo test bench clean

setup:
	@VENV=$(VENV) bash tools/setup_env.sh

demo: setup
	$(VENV)/bin/swift-tars demo --out $(DEMO_DIR)

test: setup
	$(PY) -m pytest tests

bench: setup
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

clean:
	rm -rf $(DEMO_DIR) .pytest_cache

# The two commands of the README: `make demo` and `make test`. Both set up .venv first (tools/setup_env.sh).
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= tars-demo
# make setup VLLM=1: also the pinned [vllm] extra (vllm==0.32.0 on torch 2.13.0; CUDA machines only)
VLLM ?= 0

.PHONY: setup demo test bench gpu-check clean

setup:
	@VENV=$(VENV) VLLM=$(VLLM) bash tools/setup_env.sh

demo: setup
	$(VENV)/bin/swift-tars demo --out $(DEMO_DIR)

test: setup
	$(PY) -m pytest tests

bench: setup
	@for script in benchmarks/bench_*.py; do echo "== $$script"; $(PY) $$script || exit 1; done

# make gpu-check: the <= 10 min GPU check (benchmarks/gpu_check.sh); GPU_CHECK_ARGS=--dry-run runs it on CPU
GPU_CHECK_OUT ?= gpu-check
gpu-check: setup
	PYTHON=$(PY) bash benchmarks/gpu_check.sh --out $(GPU_CHECK_OUT) $(GPU_CHECK_ARGS)

clean:
	rm -rf $(DEMO_DIR) .pytest_cache

#!/usr/bin/env bash
# Set up (or refresh) the virtual environment that `make demo` and `make test` use. Idempotent:
# a stamp of the inputs' hash skips everything when nothing changed.
#
#   - creates $VENV (default .venv) when absent;
#   - torch: if the base Python already has a CUDA torch, the venv sees it (--system-site-packages)
#     and it is pinned as-is; otherwise the CPU build torch==2.13.0 is installed first;
#   - installs swift-tars (editable, with [dev]) and requirements/lock.txt under a constraints file that
#     pins that torch, so no dependency can pull another (multi-GB CUDA) torch;
#   - CPU only: installs tools/cpu_torchvision_shim.py (see its docstring) into site-packages and pre-builds
#     DeepSpeed's CPU communication op (otherwise JIT-compiled, ~2 min, at the first ZeRO run);
#   - installs espeak-ng through apt when missing (needed to synthesise speech offline);
#   - VLLM=1 (make setup VLLM=1): also the [vllm] extra of setup.cfg (vllm==0.32.0, which needs torch 2.13.0
#     exactly) — CUDA machines only: on CPU it says so and skips; with another CUDA torch it stops.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
CPU_TORCH=2.13.0
VLLM=${VLLM:-0}
VLLM_TORCH=2.13.0  # the torch vllm==0.32.0 (setup.cfg [vllm]) requires
LOG="$VENV/setup.log"  # pip's chatter goes here; its tail is printed on failure

if ! command -v espeak-ng >/dev/null 2>&1; then
  echo "[setup] installing espeak-ng (apt)"
  SUDO=""; [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1 && SUDO="sudo"
  { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq espeak-ng >/dev/null; } \
    || echo "[setup] WARNING: could not install espeak-ng; install it yourself (apt-get install espeak-ng)" >&2
fi

HASH=$(cat setup.cfg pyproject.toml requirements/lock.txt tools/setup_env.sh tools/cpu_torchvision_shim.py \
       | sha256sum | cut -c1-16)-vllm$VLLM
STAMP="$VENV/.swift-tars-setup"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && [ -x "$VENV/bin/python" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  if "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.version.cuda else 1)" 2>/dev/null; then
    echo "[setup] creating $VENV on top of the CUDA torch of $PYTHON"
    "$PYTHON" -m venv --system-site-packages "$VENV"
  else
    echo "[setup] creating $VENV"
    "$PYTHON" -m venv "$VENV"
  fi
fi
PY="$VENV/bin/python"
: > "$LOG"
"$PY" -m pip install -q -U pip >> "$LOG" 2>&1

CONSTRAINTS="$VENV/constraints.txt"
LOCK="$VENV/lock.txt"
if "$PY" -c "import torch, sys; sys.exit(0 if torch.version.cuda else 1)" 2>/dev/null; then
  MODE=gpu
  "$PY" -c "import torch; print(f'torch=={torch.__version__}')" > "$CONSTRAINTS"
  "$PY" -c "import torchvision; print(f'torchvision=={torchvision.__version__}')" >> "$CONSTRAINTS" 2>/dev/null || true
  grep -v "^torchvision" requirements/lock.txt > "$LOCK"
  echo "torchvision" >> "$LOCK"  # resolved against the pinned CUDA torch
else
  MODE=cpu
  echo "torch==$CPU_TORCH" > "$CONSTRAINTS"
  if ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__ == '$CPU_TORCH+cpu' else 1)" 2>/dev/null; then
    echo "[setup] installing CPU torch $CPU_TORCH"
    # Ask for the +cpu build by name: PyPI has none, so this can never pull a CUDA torch. First through the
    # configured indexes / wheel caches, then through PyTorch's CPU index.
    "$PY" -m pip install -q "torch==$CPU_TORCH+cpu" >> "$LOG" 2>&1 \
      || "$PY" -m pip install -q --retries 1 --timeout 30 "torch==$CPU_TORCH+cpu" \
           --index-url https://download.pytorch.org/whl/cpu >> "$LOG" 2>&1 \
      || { tail -20 "$LOG" >&2; echo "[setup] ERROR: could not install torch==$CPU_TORCH+cpu" >&2; exit 1; }
    "$PY" -W ignore -c "import torch, sys; sys.exit(0 if torch.__version__.endswith('+cpu') else 1)" 2>/dev/null \
      || { echo "[setup] ERROR: expected a CPU build of torch $CPU_TORCH" >&2; exit 1; }
  fi
  cp requirements/lock.txt "$LOCK"
fi

EXTRAS=dev
if [ "$VLLM" = 1 ]; then
  if [ "$MODE" = cpu ]; then
    echo "[setup] VLLM=1: vLLM needs CUDA (no CUDA torch here); skipping the [vllm] extra" >&2
  elif ! "$PY" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$VLLM_TORCH' else 1)"; then
    echo "[setup] ERROR: VLLM=1 needs torch $VLLM_TORCH (vllm==0.32.0 pins it); this venv sees torch" \
         "$("$PY" -c 'import torch; print(torch.__version__)'). Install a CUDA torch==$VLLM_TORCH first." >&2
    exit 1
  else
    EXTRAS=dev,vllm
  fi
fi

echo "[setup] installing swift-tars and pinned dependencies ($MODE, extras: $EXTRAS)"
if ! "$PY" -m pip install -q -c "$CONSTRAINTS" -r "$LOCK" -e ".[$EXTRAS]" >> "$LOG" 2>&1; then
  tail -40 "$LOG" >&2; echo "[setup] ERROR: pip install failed (full log: $LOG)" >&2; exit 1
fi

SITE=$("$PY" -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")
if [ "$MODE" = cpu ]; then
  install -m 644 tools/cpu_torchvision_shim.py "$SITE/swift_tars_cpu_torchvision_shim.py"
  echo "import swift_tars_cpu_torchvision_shim" > "$SITE/swift_tars_cpu_torchvision_shim.pth"
else
  rm -f "$SITE/swift_tars_cpu_torchvision_shim.py" "$SITE/swift_tars_cpu_torchvision_shim.pth"
fi

if [ "$MODE" = cpu ]; then
  # DeepSpeed JIT-compiles its CPU shared-memory communication op the first time a (ZeRO) engine starts;
  # build it here once (~2 min on 2 cores; cached in ~/.cache/torch_extensions) rather than mid-run.
  echo "[setup] pre-building DeepSpeed's CPU communication op (one time, ~2 min)"
  "$PY" -c "from deepspeed.accelerator import get_accelerator as a; a().create_op_builder('ShareMemCommBuilder').load()" \
    >> "$LOG" 2>&1 || echo "[setup] WARNING: DeepSpeed's CPU comm op did not build; ZeRO runs will try again" >&2
fi
"$PY" -m pip check >> "$LOG" 2>&1 || { tail -20 "$LOG" >&2; echo "[setup] ERROR: pip check failed" >&2; exit 1; }
"$PY" -c "import swift, swift_tars; assert swift.__version__ == swift_tars.SWIFT_VERSION, swift.__version__"
echo "$HASH" > "$STAMP"
echo "[setup] ready: $VENV ($MODE, $("$PY" -c 'import torch; print(torch.__version__)'))"

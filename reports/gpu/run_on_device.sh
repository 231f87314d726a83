#!/bin/sh
# Issue 7's GPU battery in one call on a CUDA machine, from the repository root:
#   sh reports/gpu/run_on_device.sh [OUTDIR]      (default: $OUT, else reports/gpu/latest)
# It needs no network and no install: the GPU image's python3 has torch, triton, numba,
# numpy, pandas, pyyaml, pytest and ml_dtypes, and hwsim runs from this checkout
# (PYTHONPATH). It writes 7 files, few enough for the device tool to bring back:
#   env.txt (nvidia-smi, versions)   verify.json verify.txt banner.txt fp8_scaled_mm.md
#   pytest_gpu.txt (tests/gpu)       bench_reference.md (Triton vs torch at LLaMA-7B shapes)
# BENCH_ARGS passes options to benchmarks/bench_reference.py (e.g. "--m 1 --shapes qkvo").
# The exit status is the number of the three steps that failed.
set -u
out=${1:-${OUT:-reports/gpu/latest}}
mkdir -p "$out"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
py=${PYTHON:-python3}
failed=0

{
    date -u
    nvidia-smi || echo "nvidia-smi: not found"
    $py -c 'import sys, numpy, numba; print("python", sys.version.split()[0], "numpy",
numpy.__version__, "numba", numba.__version__)'
    $py -c 'import torch, triton; print("torch", torch.__version__, "cuda", torch.version.cuda,
"triton", triton.__version__, "gpu", torch.cuda.is_available())'
} >"$out/env.txt" 2>&1

echo "== hwsim verify"
$py -m hwsim verify -o "$out" || failed=$((failed + 1))

echo "== pytest tests/gpu"
# -W default: a deprecation warning of the image's torch must not read as a numeric failure
$py -m pytest tests/gpu -q -p no:cacheprovider -W default >"$out/pytest_gpu.txt" 2>&1 ||
    failed=$((failed + 1))
tail -n 5 "$out/pytest_gpu.txt"

echo "== benchmarks/bench_reference.py"
# shellcheck disable=SC2086  # BENCH_ARGS is a list of options
$py benchmarks/bench_reference.py ${BENCH_ARGS:-} >"$out/bench_reference.md" 2>&1 ||
    failed=$((failed + 1))
cat "$out/bench_reference.md"
exit "$failed"

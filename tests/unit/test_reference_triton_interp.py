"""The Triton kernels' own code, run by Triton's interpreter on a CPU (TRITON_INTERPRET=1):
equal to the CPU fallbacks and hwsim's PEs bit for bit. The GPU run (tests/gpu) checks the
compiled kernels; this checks the kernel logic (indexing, nibble unpacking, plane signs).

The interpreter must be switched on before triton is first imported, so the kernels run in
a child process (this file's `_child`) and the parent asserts on what it reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("triton")
pytest.importorskip("torch")


def _child() -> dict:
    import numpy as np

    import hwsim
    from hwsim.reference import triton_jit as J
    from hwsim.reference import triton_kernels as T
    from hwsim.reference.checks_kernels import bitmod_weights, fp16_acts, int4_weights

    rng = np.random.default_rng(20261123)
    kernels = J.build_kernels()
    res = {}
    for sym, M in ((True, 3), (False, 1)):  # M=1: the decode block shape
        qt = int4_weights(rng, 70, 256, sym)  # N=70: a partial second column block; G=2
        a = fp16_acts(rng, M, 256)
        gw = T.weights_from_qtensor(qt)
        got = J.group_gemm_triton(a.astype(np.float16), gw, "cpu", kernels)
        res[f"int4 sym={sym} == fallback"] = bool(np.array_equal(got, T.group_gemm_cpu(a, gw)))
        res[f"int4 sym={sym} == mixpe"] = bool(
            np.array_equal(got, hwsim.pe.run("mixpe", a, qt).out)
        )
    qt = bitmod_weights(rng, 20, 256)
    a = fp16_acts(rng, 2, 256)
    gw = T.weights_from_qtensor(qt)
    got = J.group_gemm_triton(a.astype(np.float16), gw, "cpu", kernels)
    res["bitmod == fallback"] = bool(np.array_equal(got, T.group_gemm_cpu(a, gw)))
    for ab, wb in ((8, 8), (3, 5), (1, 2)):
        x = rng.integers(-(2 ** (ab - 1)), 2 ** (ab - 1), (70, 100))  # partial M and K blocks
        w = rng.integers(-(2 ** (wb - 1)), 2 ** (wb - 1), (9, 100))
        got = J.bitplane_triton(x, w, ab, wb, "cpu", kernels)
        want = hwsim.pe.run("int_mac", x, w, acc_bits=32).out
        res[f"bitplane W{wb}A{ab} == int_mac"] = bool(np.array_equal(got, want))
    return res


def test_interpreted_kernels_equal_fallbacks_and_pes():
    code = "import json, test_reference_triton_interp as t; print(json.dumps(t._child()))"
    env = {**os.environ, "TRITON_INTERPRET": "1"}
    here = os.path.dirname(__file__)
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=here, env=env, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-2000:]
    res = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(res) == 8
    assert all(res.values()), res

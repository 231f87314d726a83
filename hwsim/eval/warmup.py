"""`hwsim warmup`: compile every numba kernel the shipped archs and recipes use, once.

numba's kernels carry `cache=True`, so what one process compiles lands in the on-disk cache
(beside the modules, or NUMBA_CACHE_DIR) and later processes load it in well under a second.
Warmup runs each shipped arch's PE, at its own precision and under every shipped recipe it
can take, on a small linear op and a small attention op, through the same path as
`hwsim eval` (hwsim.eval.datapath: the same dtypes, so the same kernel signatures).
"""

from __future__ import annotations

import time

import numpy as np

from hwsim.errors import HwsimError


def _ops(rng):
    from hwsim.workload.op import Op

    def tensors(batch, M, N, K):
        return rng.standard_normal((batch, M, K)), rng.standard_normal((batch, N, K))

    # 8 rows take BitMoD's split kernel, 4 its general one (hwsim.pe.bitmod_fast)
    a, w = tensors(1, 8, 8, 256)
    qk = tensors(2, 4, 8, 64)
    return (
        Op("warm.linear", "gemm", M=8, N=8, K=256, inputs=a[0], weights=w[0]),
        Op("warm.decode", "gemm", M=4, N=8, K=256, inputs=a[0][:4], weights=w[0]),
        Op("warm.attn_qk", "attn_qk", M=4, N=8, K=64, batch=2, weight_is_activation=True,
           inputs=qk[0], weights=qk[1]),
    )  # fmt: skip


def warmup():
    """Yield one line per (arch, recipe) warmed, then the total time."""
    from hwsim.eval import datapath
    from hwsim.shipped import files
    from hwsim.sim.plan import plan
    from hwsim.spec import load_arch
    from hwsim.workload import load_recipe
    from hwsim.workload.op import Workload

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    wl = Workload("warmup", _ops(rng))
    recipes = [None] + [load_recipe(p) for p in files("recipe").values()]
    for path in files("arch").values():
        arch = load_arch(path)
        for recipe in recipes:
            t = time.perf_counter()
            try:
                bound = plan(arch, wl, recipe)
                for p in bound.ops:
                    datapath.hardware(p, p.op.inputs, p.op.weights)
            except HwsimError:
                continue  # this arch cannot take this recipe: nothing of it to compile
            name = recipe.name if recipe is not None else "(arch precision)"
            yield f"{arch.name:<14} {name:<18} {time.perf_counter() - t:6.2f} s"
    yield f"warmup: {time.perf_counter() - start:.1f} s"

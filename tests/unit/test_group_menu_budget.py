"""A bit budget on per-group menus: least total squared error at mean element bits <= budget."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import hwsim
from hwsim.dtypes.qtensor import QuantSpec
from hwsim.errors import HwsimError
from hwsim.sim.precision import spec_overrides

G = 16  # group size of the small cases


def _group_sse(x: np.ndarray, qt, group: int) -> np.ndarray:
    """Squared error per group of what the QTensor stores (decoded through its own formats)."""
    err = (hwsim.dequantize(qt) - x).reshape(x.shape[0], -1, group)
    return np.sum(err**2, axis=2).ravel()


def _uniform_sse(x, name: str, group: int) -> np.ndarray:
    return _group_sse(x, hwsim.quantize(x, QuantSpec(name, "group", group)), group)


def _brute_force(x, menu, budget: float) -> tuple[float, tuple]:
    """Every assignment of one format per group: the least total error within the budget."""
    sse = np.stack([_uniform_sse(x, name, G) for name in menu])
    bits = [hwsim.format(name).bits for name in menu]
    best = None
    for pick in itertools.product(range(len(menu)), repeat=sse.shape[1]):
        if sum(bits[k] for k in pick) > budget * len(pick):
            continue
        total = sum(sse[k, i] for i, k in enumerate(pick))
        if best is None or total < best[0]:
            best = (total, pick)
    return best


@pytest.mark.parametrize(
    ("menu", "groups", "budget"),
    [
        (("int2", "int4"), 12, 3.0),
        (("int2", "int4"), 12, 2.5),
        (("int4", "int2"), 11, 3.3),
        (("int2", "int3", "int4"), 9, 3.0),
        (("int2", "int3", "int4"), 9, 2.4),
        (("int4", "int2", "int8"), 8, 4.0),
    ],
)
def test_budget_equals_brute_force(menu, groups, budget):
    rng = np.random.default_rng(groups * 7 + len(menu))
    x = rng.standard_t(3, size=(1, groups * G))
    qt = hwsim.quantize(x, QuantSpec(menu, "group", G, bits_per_weight=budget))
    best, pick = _brute_force(x, menu, budget)
    ids = qt.format_ids.ravel()
    bits = np.array([hwsim.format(n).bits for n in menu])
    assert bits[ids].mean() <= budget
    stored = _group_sse(x, qt, G).sum()  # the codes decode through the chosen formats
    assert stored == pytest.approx(best, rel=1e-9)
    assert tuple(ids.tolist()) == pick  # continuous data: the optimum is unique


def test_two_format_sort_equals_the_ilp():
    from hwsim.dtypes.menu_budget import _milp, _two_formats

    rng = np.random.default_rng(5)
    sse = rng.exponential(size=(2, 300)) + np.array([[1.0], [0.0]])
    bits = np.array([2, 4])
    free = np.argmin(sse, axis=0)
    for budget in (2.0, 2.7, 3.0, 3.5):
        fast, exact = _two_formats(sse, bits, budget, free), _milp(sse, bits, budget)
        assert bits[fast].mean() <= budget
        total = sse[fast, np.arange(300)].sum()
        assert total == pytest.approx(sse[exact, np.arange(300)].sum(), rel=1e-12)


def test_equal_groups_tie_to_the_lower_index():
    x = np.tile(np.random.default_rng(3).standard_t(3, size=G), 6)[None, :]  # 6 equal groups
    qt = hwsim.quantize(x, QuantSpec(("int2", "int4"), "group", G, bits_per_weight=3.0))
    assert qt.format_ids.ravel().tolist() == [1, 1, 1, 0, 0, 0]


def test_budget_at_widest_reproduces_least_error_choice():
    rng = np.random.default_rng(1)
    x = rng.standard_t(3, size=(8, 256))
    menu = ("int2", "int3", "int4")
    free = hwsim.quantize(x, QuantSpec(menu, "group", 32))
    capped = hwsim.quantize(x, QuantSpec(menu, "group", 32, bits_per_weight=4))
    assert np.array_equal(free.format_ids, capped.format_ids)
    assert np.array_equal(free.codes, capped.codes)
    assert np.array_equal(free.scales, capped.scales)


def test_heavy_tailed_512_groups_mix_int2_int4():
    rng = np.random.default_rng(16)
    x = rng.standard_t(3, size=(512, 128))  # 512 groups of 128
    menu = ("int2", "int4")
    free = hwsim.quantize(x, QuantSpec(menu, "group", 128))
    assert np.bincount(free.format_ids.ravel(), minlength=2).tolist() == [0, 512]
    qt = hwsim.quantize(x, QuantSpec(menu, "group", 128, bits_per_weight=3.0))
    counts = np.bincount(qt.format_ids.ravel(), minlength=2)
    assert counts.tolist() == [256, 256]  # int4 costs 2 bits more: half the groups fit
    mixed = _group_sse(x, qt, 128).sum()
    int2 = _uniform_sse(x, "int2", 128).sum()
    int4 = _uniform_sse(x, "int4", 128).sum()
    assert int4 < mixed < int2
    # the int4 groups are those int4 helps most (the knapsack with equal costs is a sort)
    gain = _uniform_sse(x, "int2", 128) - _uniform_sse(x, "int4", 128)
    top = np.sort(np.argsort(-gain, kind="stable")[:256])
    assert np.array_equal(np.flatnonzero(qt.format_ids.ravel() == 1), top)


def test_minilm_query_weight_512_groups_mix():
    pytest.importorskip("torch")
    from hwsim.workload.models import load_minilm

    model, _ = load_minilm()
    w = model.state_dict()["encoder.layer.0.attention.self.query.weight"].numpy()
    x = w.astype(np.float64).reshape(-1, 128)[:512]  # its first 512 groups of 128 along K
    menu = ("int2", "int4")
    assert np.all(hwsim.quantize(x, QuantSpec(menu, "group", 128)).format_ids == 1)
    qt = hwsim.quantize(x, QuantSpec(menu, "group", 128, bits_per_weight=3.0))
    assert np.bincount(qt.format_ids.ravel(), minlength=2).tolist() == [256, 256]
    mixed = _group_sse(x, qt, 128).sum()
    assert _uniform_sse(x, "int4", 128).sum() < mixed < _uniform_sse(x, "int2", 128).sum()


def test_tensor_select_takes_best_format_within_budget():
    x = np.random.default_rng(2).standard_t(3, size=(4, 64))
    qt = hwsim.quantize(
        x, QuantSpec(("int2", "int3", "int4"), "channel", menu_select="tensor", bits_per_weight=3.5)
    )
    assert set(qt.format_ids.ravel().tolist()) == {1}


def test_precision_moves_weights_at_the_budget():
    spec = QuantSpec(("int2", "int4"), "group", 128, bits_per_weight=3.0)
    over = spec_overrides(spec, None)
    assert over["weight_bits"] == 3.0
    assert over["scale_bits"] == 32
    asym = QuantSpec(("int2", "int4"), "group", 128, symmetric=False, bits_per_weight=2.5)
    assert spec_overrides(asym, None)["scale_bits"] == 32 + 4  # zero point at the widest
    assert spec_overrides(QuantSpec(("int2", "int4"), "group", 128), None)["weight_bits"] == 4.0


def test_simulated_traffic_follows_the_budget():
    from hwsim.workload.recipe import load_recipe

    def dram(budget):
        w = {"format": ["int2", "int4"], "granularity": "group", "group_size": 128}
        if budget is not None:
            w["bits_per_weight"] = budget
        recipe = load_recipe({"version": 1, "default": {"weights": w}})
        return hwsim.simulate("bitmod", "minilm", quant=recipe, mode="analytic").dram_bytes

    assert dram(4.0) == dram(None)
    assert dram(2.0) < dram(3.0) < dram(4.0)


def test_recipe_takes_the_budget(tmp_path):
    from hwsim.workload.recipe import load_recipe

    path = tmp_path / "r.yaml"
    path.write_text(
        "version: 1\ndefault:\n  weights: {format: [int2, int4], granularity: group,\n"
        "            group_size: 128, bits_per_weight: 3.0}\n"
    )
    assert load_recipe(path).default["weights"].bits_per_weight == 3.0
    path.write_text(
        "version: 1\ndefault:\n  weights: {format: [int2, int4], granularity: group,\n"
        "            group_size: 128, bits_per_weight: 1.5}\n"
    )
    with pytest.raises(HwsimError, match=r"r\.yaml: default\.weights\.bits_per_weight: expected"):
        load_recipe(path)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"format": ("int2", "int4"), "bits_per_weight": 1.9}, "at least the narrowest format's 2"),
        ({"format": ("int2", "int4"), "bits_per_weight": 4.5}, "at most the widest format's 4"),
        ({"format": ("int2", "int4"), "bits_per_weight": "3"}, "a number, got '3'"),
        ({"format": ("int2", "int4"), "bits_per_weight": True}, "a number, got True"),
        ({"format": ("int2", "int4"), "bits_per_weight": float("nan")}, "a number, got nan"),
        (
            {"format": "int4", "bits_per_weight": 3.0},
            "two or more formats to budget, got the one format 'int4'",
        ),
    ],
)
def test_bad_budget_one_line(kwargs, match):
    with pytest.raises(HwsimError, match=f"^QuantSpec.bits_per_weight: expected .*{match}") as e:
        QuantSpec(granularity="group", group_size=16, **kwargs)
    assert "\n" not in str(e.value)

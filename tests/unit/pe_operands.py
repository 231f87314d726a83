"""Valid operands for every PE kind, which the bad-input tests then spoil one at a time."""

from __future__ import annotations

import numpy as np

import hwsim

FP4 = tuple(f"bitmod_fp4_{v}" for v in ("er_pos", "er_neg", "ea_pos", "ea_neg"))


def q(x, fmt, **kw):
    return hwsim.quantize(x, hwsim.QuantSpec(format=fmt, **kw))


def valid_operands(kind: str, xa, xw, ia, iw):
    """(a, w, params) of PE `kind` from float operands xa [M, K], xw [N, K] and integer ones
    ia, iw of the same shapes."""
    bitmod_w = q(xw, FP4, granularity="group", group_size=32, scale_format="int8")
    mx = {"granularity": "block", "group_size": 32, "scale_format": "e8m0"}
    return {
        "int_mac": (ia, iw, {}),
        "stripes": (ia, iw, {}),
        "loom": (ia, iw, {}),
        "float_mac": (q(xa, "float8_e4m3fn"), q(xw, "float8_e4m3fn"), {}),
        "bitmod": (np.asarray(xa).astype(np.float16), bitmod_w, {}),
        "mixed_dtype": (xa, bitmod_w, {}),
        "mixpe": (
            q(xa, "int8", granularity="channel"),
            q(xw, "int4", granularity="group", group_size=16, scale_format="fp16"),
            {},
        ),
        "denseshift": (xa, q(xw, "denseshift4"), {}),
        "fixed_point": (
            ia / 32,
            iw / 32,
            {"a_format": "ap_fixed<8,3>", "w_format": "ap_fixed<8,3>"},
        ),
        "hawq": (q(xa, "int8"), q(xw, "int8", granularity="channel"), {"out_scale": 0.1}),
        "mx_mac": (q(xa, "float4_e2m1fn", **mx), q(xw, "float4_e2m1fn", **mx), {}),
    }[kind]

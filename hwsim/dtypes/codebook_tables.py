"""The codebooks hwsim ships: BitMoD, ANT, OliVe and NF4 value tables, each with its source.

Every table is a `CodebookFormat` (hwsim.dtypes.codebook, the codec); this module only
writes the values down, names them, says where they and their tie rules come from, and
registers them with the format registry. `SHIPPED` maps name -> format.
"""

from __future__ import annotations

from hwsim.dtypes.codebook import CodebookFormat
from hwsim.dtypes.registry import register_format


def _sign_magnitude(magnitudes, minus_zero: float = 0.0) -> tuple[float, ...]:
    """Table of a sign bit (MSB) + magnitude index layout; the "-0" code holds `minus_zero`."""
    pos = [float(m) for m in magnitudes]
    neg = [minus_zero] + [-m for m in pos[1:]]
    return tuple(pos + neg)


_SM = "sign bit (MSB) + {k}-bit index into magnitudes {mags}; code {z} is the '-0' slot"
_BITMOD_SRC = (
    "BitMoD HPCA'25 (abdelfattah-lab/BitMoD-HPCA-25, bitmod_quant/quant_utils/quant_weight.py: "
    "mid_value[i-1] < x <= mid_value[i] picks entry i of the ascending list, so ties go to the "
    "smaller value; awq/quantize/auto_dtype.py's first argmin agrees)"
)
_BITMOD = {
    # (bits, magnitudes, special values of the -0 slot: er_pos, er_neg, ea_pos, ea_neg)
    3: ((0, 1, 2, 4), {"er_pos": 3, "er_neg": -3, "ea_pos": 6, "ea_neg": -6}),
    4: ((0, 1, 2, 3, 4, 6, 8, 12), {"er_pos": 10, "er_neg": -10, "ea_pos": 16, "ea_neg": -16}),
}
_ANT_SRC = (
    "ANT MICRO'22 (clevercool/ANT-Quantization, ant_quantization/antquant/quant_modules.py "
    "{fn} with is_signed, bit=4; quant/quant_kernel.cu keeps the last of equally near grid "
    "entries of the ascending grid, so ties go to the larger value)"
)
_OLIVE_SRC = (
    "OliVe ISCA'23 (clevercool/ANT-Quantization, olive_quantization/antquant/quant_modules.py "
    "{fn}, bit=4, in OliVe's normalised units where normal values stop at 32; same CUDA "
    "nearest kernel as ANT: ties go to the larger value)"
)


def _shipped() -> list[CodebookFormat]:
    out = []
    for bits, (mags, specials) in _BITMOD.items():
        k, z = bits - 1, 2 ** (bits - 1)
        layout = _SM.format(k=k, mags=list(mags), z=z)
        out.append(
            CodebookFormat(
                f"bitmod_fp{bits}",
                _sign_magnitude(mags),
                tie="lower",
                layout=layout + " (unused: decodes to 0)",
                source=_BITMOD_SRC,
            )
        )
        for variant, special in specials.items():
            out.append(
                CodebookFormat(
                    f"bitmod_fp{bits}_{variant}",
                    _sign_magnitude(mags, minus_zero=float(special)),
                    tie="lower",
                    special_code=z,
                    special_role=f"extra value {special:+d} ({variant.upper()})",
                    layout=layout + f" and decodes to {special:+d}",
                    source=_BITMOD_SRC,
                )
            )
    flint = (0, 1, 2, 3, 4, 6, 8, 16)  # ANT's 3-bit unsigned flint {0,.25,.5,.75,1,1.5,2,4} x4
    pot = (0, 1, 2, 4, 8, 16, 32, 64)
    sm_dup = " (decodes to 0 like code 0; never emitted)"
    out += [
        CodebookFormat(
            "ant_flint4",
            _sign_magnitude(flint),
            tie="upper",
            layout=_SM.format(k=3, mags=list(flint), z=8) + sm_dup,
            source=_ANT_SRC.format(fn="flint_value()"),
        ),
        CodebookFormat(
            "ant_pot4",
            _sign_magnitude(pot),
            tie="upper",
            layout=_SM.format(k=3, mags=list(pot), z=8) + sm_dup,
            source=_ANT_SRC.format(fn="pot_value()"),
        ),
        CodebookFormat(
            "ant_int4",
            tuple(float(c if c < 8 else c - 16) for c in range(16)),
            tie="upper",
            layout="4-bit two's complement integer, -8..7",
            source=_ANT_SRC.format(fn="int_value(q_type='int')"),
        ),
        CodebookFormat(
            # ANT's float_value(eb=3) at 4 signed bits has 0 mantissa bits: E3M0, values
            # {0, +-2^0..2^6} -- the same value set as pot.
            "ant_float4",
            _sign_magnitude(pot),
            tie="upper",
            layout="sign bit + 3-bit exponent e (E3M0, no mantissa): value 2^(e-1), e=0 is zero;"
            " code 8 is '-0'" + sm_dup,
            source=_ANT_SRC.format(fn="float_value(eb=3)"),
        ),
    ]
    olive_int = tuple(4 * m for m in range(8))  # int_value(): {0..7} * 32/8
    olive_flint = tuple(2 * m for m in flint)  # flint_value(): flint * 32/4
    role = "outlier identifier: written into the victim slot of an outlier-victim pair"
    for label, mags, fn in (
        ("olive_int4", olive_int, "int_value()"),
        ("olive_flint4", olive_flint, "flint_value()"),
    ):
        out.append(
            CodebookFormat(
                label,
                _sign_magnitude(mags),
                tie="upper",
                special_code=8,
                special_role=role,
                layout=_SM.format(k=3, mags=list(mags), z=8) + " (decodes to 0, the victim)",
                source=_OLIVE_SRC.format(fn=fn),
            )
        )
    abfloat = [0.0] + [2.0 ** (e + 5) * (1 + m / 2) for e in range(4) for m in range(2)][1:]
    out.append(
        CodebookFormat(
            "olive_abfloat4",
            _sign_magnitude(abfloat),
            tie="upper",
            reserved=(0, 8),
            layout="sign bit + E2M1 with exponent bias -5: value 2^(e+5)*(1+m/2); e=0,m=0 "
            "(codes 0, 8) is not an outlier value: decodes to 0 and is never emitted",
            source=_OLIVE_SRC.format(fn="outlier_value(exp_bit=2, exp_base=5)"),
        )
    )
    nf4 = (
        -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453,
        -0.28444138169288635, -0.18477343022823334, -0.09105003625154495, 0.0,
        0.07958029955625534, 0.16093020141124725, 0.24611230194568634, 0.33791524171829224,
        0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
    )  # fmt: skip
    out.append(
        CodebookFormat(
            "nf4",
            nf4,
            tie="lower",
            layout="4-bit index into the 16 ascending NF4 values (code 7 is 0)",
            source="QLoRA NF4 as bitsandbytes defines it (dDequantizeNF4 table; dQuantizeNF4 "
            "uses x > threshold, so ties go to the smaller value; its thresholds are float32-"
            "rounded midpoints, hwsim uses the exact midpoints)",
        )
    )
    return out


SHIPPED: dict[str, CodebookFormat] = {f.name: f for f in _shipped()}

for _name, _fmt in SHIPPED.items():
    register_format(_name, lambda f=_fmt: f)

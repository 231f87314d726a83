"""SCALE-Sim topology CSV files (GEMM `Layer, M, N, K,` or conv form) <-> Workload.

Read as SCALE-Sim reads them (scale-sim-v2 v2.0.2 and scalesim 3.0.0, topology_utils.py):
the first line is a header and is skipped whatever it says (so `Layer Name`, `layer`, any
spelling works); rows are split on commas, a trailing comma is optional, blank lines are
skipped. The form comes from a known header, else from the row width: 4 cells (name, M, N,
K) is a GEMM row, 8 (name, IFMAP H, IFMAP W, filter H, filter W, channels, filters, stride)
a conv row; SCALE-Sim 3's optional last cell, an N:M sparsity ratio, is accepted when dense.
A conv whose name contains `DP` is depthwise the SCALE-Sim way: one 1-channel layer per
channel (a batch of `channels` GEMMs here).

Stricter than SCALE-Sim where it would crash or mislead: every size is a plain integer > 0
(`32.9` is an error, not 32), and a first line that is itself a layer row is an error, since
SCALE-Sim would silently drop that layer.
"""

from __future__ import annotations

import re
from pathlib import Path

from hwsim.errors import HwsimError, read_text
from hwsim.workload.io import check_size, replace_atomically, writable_path
from hwsim.workload.op import ConvShape, Op, Workload

GEMM_HEADER = ["Layer", "M", "N", "K"]
CONV_HEADER = [
    "Layer name", "IFMAP Height", "IFMAP Width", "Filter Height", "Filter Width",
    "Channels", "Num Filter", "Strides",
]  # fmt: skip
_WIDTH = {"gemm": len(GEMM_HEADER), "conv": len(CONV_HEADER)}
_INT = re.compile(r"\+?[0-9]{1,15}")  # at most 15 digits: counts stay exact downstream
_RATIO = re.compile(r"([0-9]{1,6}):([0-9]{1,6})")


def _clip(text: str, n: int = 40) -> str:
    """repr of a cell, cut so a giant cell still gives a one-line message."""
    return repr(text if len(text) <= n else text[:n] + "...")


def _cells(line: str) -> list[str]:
    cells = [c.strip() for c in line.split(",")]
    while cells and cells[-1] == "":
        cells.pop()  # SCALE-Sim rows end with a comma
    return cells


def _is_layer_row(cells: list[str]) -> bool:
    return len(cells) in (4, 5, 8, 9) and all(_INT.fullmatch(c) for c in cells[1:4])


def _header_form(cells: list[str]) -> str | None:
    low = [c.lower() for c in cells]
    if low[:4] == [h.lower() for h in GEMM_HEADER] and len(low) <= 5:
        return "gemm"
    if low[:8] == [h.lower() for h in CONV_HEADER]:
        return "conv"
    return None


def load_scalesim_csv(path) -> Workload:
    """A SCALE-Sim topology file (GEMM or conv form) as a Workload of gemm/conv ops.

    Conv form: SCALE-Sim has no padding (IFMAP sizes are the padded sizes), one stride for both
    axes; lowered as M = output pixels, N = filters, K = Fh*Fw*C.
    """
    path = Path(path)
    try:
        text = read_text(path, "topology file")
    except OSError as e:
        raise HwsimError(
            f"{path}: topology file: expected a readable file, got {e.strerror or e}"
        ) from None
    lines = [(n, _cells(line)) for n, line in enumerate(text.lstrip("\ufeff").splitlines(), 1)]
    lines = [(n, cells) for n, cells in lines if cells]
    if not lines:
        raise HwsimError(f"{path}: topology: expected a header line and layer rows, got nothing")
    (hline, header), rows = lines[0], lines[1:]
    if _is_layer_row(header):
        raise HwsimError(
            f"{path}: line {hline}: expected a header line (SCALE-Sim skips the first line), "
            f"got a layer row {_clip(', '.join(header))}"
        )
    form = _header_form(header)
    ops = []
    for line, cells in rows:
        if form is None:  # unknown header: the first row's width tells the form
            form = {4: "gemm", 5: "gemm", 8: "conv", 9: "conv"}.get(len(cells))
            if form is None:
                raise HwsimError(
                    f"{path}: line {line}: expected 4 cells (Layer, M, N, K) or 8 (Layer name, "
                    f"IFMAP Height, ..., Strides), got {len(cells)}"
                )
        ops.append(_row_op(path, line, cells, form))
    if not ops:
        raise HwsimError(f"{path}: topology: expected layer rows after the header, got none")
    for (line, _), op in zip(rows, ops, strict=True):
        check_size(f"{path}: line {line}", op)
    return Workload(path.stem, tuple(ops), "", {"source": "scalesim", "path": str(path)})


def _row_op(path: Path, line: int, cells: list[str], form: str) -> Op:
    width = _WIDTH[form]
    names = GEMM_HEADER if form == "gemm" else CONV_HEADER
    where = f"{path}: line {line}"
    if len(cells) not in (width, width + 1):
        raise HwsimError(
            f"{where}: expected {width} fields ({form} rows), got {len(cells)}: "
            f"{_clip(', '.join(cells))}"
        )
    name = cells[0]
    if not name:
        raise HwsimError(f"{where}: {names[0]}: expected a layer name, got an empty cell")
    nums = []
    for col, cell in zip(names[1:], cells[1:width], strict=True):
        if not _INT.fullmatch(cell) or int(cell) <= 0:
            raise HwsimError(f"{where}: {col}: expected an integer > 0, got {_clip(cell)}")
        nums.append(int(cell))
    if len(cells) > width:
        _check_dense(where, cells[width])
    if form == "gemm":
        M, N, K = nums
        return Op(name, "gemm", M=M, N=N, K=K, module=name)
    h, w, fh, fw, c, n, s = nums
    if fh > h or fw > w:
        raise HwsimError(
            f"{where}: Filter Height/Width: expected at most the IFMAP {h}x{w}, got {fh}x{fw}"
        )
    oh, ow = (h - fh) // s + 1, (w - fw) // s + 1
    copies = 1
    if "DP" in name:  # SCALE-Sim's depthwise convention: one 1-channel layer per channel
        copies, c = c, 1
    shape = ConvShape(c, n, (fh, fw), (s, s), (0, 0), (h, w), (oh, ow), 1)
    return Op(name, "conv", M=oh * ow, N=n, K=fh * fw * c, batch=copies, module=name, conv=shape)


def _check_dense(where: str, cell: str) -> None:
    m = _RATIO.fullmatch(cell)
    if not m or int(m[1]) <= 0 or int(m[1]) > int(m[2]):
        raise HwsimError(
            f"{where}: sparsity ratio: expected N:M with 0 < N <= M, got {_clip(cell)}"
        )
    if m[1] != m[2]:
        raise HwsimError(
            f"{where}: sparsity ratio: expected a dense ratio such as 1:1 (hwsim models dense "
            f"layers), got {_clip(cell)}"
        )


def save_scalesim_csv(workload: Workload, path, form: str = "gemm") -> Path:
    """Write the matrix ops as a SCALE-Sim topology; form: gemm | conv.

    SCALE-Sim has no batch or repeat: a batched op (heads, groups) or a repeated op is written
    once per instance, named `name#i`. Vector ops are left out (SCALE-Sim has none). The conv
    form writes convs with padding folded into the IFMAP size, and GEMMs as 1xK IFMAPs with
    a 1xK filter (M rows of IFMAP height), which SCALE-Sim lowers back to the same M, N, K.
    """
    if form not in ("gemm", "conv"):
        raise HwsimError(f"form: expected gemm or conv, got {form!r}")
    path = writable_path(path)
    lines = [", ".join(GEMM_HEADER if form == "gemm" else CONV_HEADER) + ","]
    for op in workload.ops:
        if op.kind == "vector":
            continue
        copies = op.batch * op.repeat
        for i in range(copies):
            name = op.name if copies == 1 else f"{op.name}#{i}"
            if form == "gemm":
                row = [op.M, op.N, op.K]
            elif _scalesim_conv(op):
                c = op.conv
                h, w = c.in_hw[0] + 2 * c.padding[0], c.in_hw[1] + 2 * c.padding[1]
                row = [h, w, *c.kernel, c.in_channels, c.out_channels, c.stride[0]]
            else:  # an M x K "image" of one channel, a 1 x K filter: SCALE-Sim's own GEMM lowering
                row = [op.M, op.K, 1, op.K, 1, op.N, 1]
            lines.append(", ".join([name, *map(str, row)]) + ",")
    replace_atomically(path, lambda tmp: tmp.write_text("\n".join(lines) + "\n"))
    return path


def _scalesim_conv(op: Op) -> bool:
    """True if SCALE-Sim's conv row can express this op exactly (one image, one group)."""
    c = op.conv
    return (
        c is not None
        and c.groups == 1
        and c.stride[0] == c.stride[1]
        and c.out_hw[0] * c.out_hw[1] == op.M
    )

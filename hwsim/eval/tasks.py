"""The models `hwsim eval` runs, their inputs and their task metric against the fp32 model.

minilm-l6           sentence embeddings of hwsim.workload.accuracy.SENTENCES (4 sentences):
                    mean cosine similarity to the fp32 embeddings
smollm2-135m        EVAL_TEXT (hwsim.workload.models.smollm2), `max_tokens` tokens
                    (default 256): perplexity and next-token top-1 agreement with the text,
                    and top-1 agreement with the fp32 model's own predictions
efficientnet-lite0  8 images from matplotlib's sample data (grace_hopper.jpg: centre,
                    four corner crops and its mirror image; Minduka_Present_Blue_Pack.png;
                    logo2.png), 224x224: top-1 agreement with the fp32 model, and the mean
                    probability the model gives to the fp32 top-1 class
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hwsim.errors import HwsimError, closest
from hwsim.eval.metrics import METRICS
from hwsim.workload.tracer import import_torch

MODELS = tuple(METRICS)


@dataclass(frozen=True)
class Task:
    """A loaded model, its inputs, and how to score a forward against the fp32 one."""

    name: str
    model: object
    inputs: tuple  # positional arguments of model(...)
    forward: Callable  # forward(model, *inputs) -> the tensor the metric reads
    metric: Callable  # metric(fp32 output, output) -> {name: value}
    meta: dict


def load_task(name: str, max_tokens: int = 256) -> Task:
    """The shipped model `name` with its inputs (the `models` extra: one line if missing)."""
    if name == "minilm-l6":
        return _minilm()
    if name == "smollm2-135m":
        return _smollm2(max_tokens)
    if name == "efficientnet-lite0":
        return _efficientnet()
    raise HwsimError(f"model {name!r}: unknown; expected one of {', '.join(MODELS)} "
                     f"(closest: {closest(name, MODELS)})")  # fmt: skip


def _minilm() -> Task:
    from hwsim.workload import models
    from hwsim.workload.accuracy import SENTENCES

    model, tok = models.load_minilm()
    ids, mask = models.minilm_inputs(tok, SENTENCES)

    def metric(ref, got):
        return {"embedding_cosine": float((ref * got).sum(-1).mean())}

    meta = {"sentences": len(SENTENCES), "tokens": int(mask.sum())}
    return Task("minilm-l6", model, (ids, mask), models.minilm_embed, metric, meta)


def _smollm2(max_tokens: int) -> Task:
    from hwsim.workload import models
    from hwsim.workload.models.smollm2 import EVAL_TEXT

    model, tok = models.load_smollm2()
    ids = models.smollm2_ids(tok, EVAL_TEXT, max_tokens)
    target = ids[0, 1:]
    torch = import_torch()

    def forward(m, x):
        return m(x)[0, :-1].double()

    def metric(ref, got):
        nll = torch.nn.functional.cross_entropy(got, target).item()
        top = got.argmax(-1)
        return {
            "perplexity": math.exp(nll),
            "top1_text": float((top == target).double().mean()),
            "top1_fp32": float((top == ref.argmax(-1)).double().mean()),
        }

    return Task("smollm2-135m", model, (ids,), forward, metric, {"tokens": int(ids.shape[1])})


def _efficientnet() -> Task:
    from hwsim.workload import models

    model = models.load_efficientnet_lite0()
    torch = import_torch()

    def forward(m, x):
        return torch.softmax(m(x).double(), -1)

    def metric(ref, got):
        top = ref.argmax(-1)
        return {
            "top1_fp32": float((got.argmax(-1) == top).double().mean()),
            "p_fp32_top1": float(got.gather(1, top[:, None]).mean()),
        }

    images = sample_images()
    meta = {"images": int(images.shape[0]), "image_source": "matplotlib sample_data"}
    return Task("efficientnet-lite0", model, (images,), forward, metric, meta)


def sample_images(size: int = 224):
    """[8, 3, size, size] images normalised as EfficientNet-Lite expects (module doc)."""
    torch = import_torch()
    import matplotlib.cbook
    import matplotlib.pyplot as plt

    def read(name):
        img = plt.imread(matplotlib.cbook.get_sample_data(name, asfileobj=False))
        img = np.asarray(img[..., :3], dtype=np.float32)
        return img * 255.0 if img.max() <= 1.0 else img  # PNGs read as 0..1

    def square(img, top, left, side):
        crop = np.ascontiguousarray(img[top : top + side, left : left + side])
        x = torch.from_numpy(crop).permute(2, 0, 1)[None]
        x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
        return (x - 127.5) / 128.0

    hopper = read("grace_hopper.jpg")
    h, w = hopper.shape[:2]
    side, crop = min(h, w), int(min(h, w) * 0.8)
    out = [square(hopper, (h - side) // 2, (w - side) // 2, side)]
    for top, left in ((0, 0), (0, w - crop), (h - crop, 0), (h - crop, w - crop)):
        out.append(square(hopper, top, left, crop))
    out.append(out[0].flip(-1))
    for name in ("Minduka_Present_Blue_Pack.png", "logo2.png"):
        img = read(name)
        h, w = img.shape[:2]
        s = min(h, w)
        out.append(square(img, (h - s) // 2, (w - s) // 2, s))
    return torch.cat(out)

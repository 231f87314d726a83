"""hwsim.eval: a real model run on the simulated hardware (`hwsim eval`, `hwsim.evaluate`).

Every Linear, convolution and attention matmul is computed by its op's unit PE on the
recipe's quantized operands (hwsim.eval.datapath), activations flowing from layer to layer
(hwsim.eval.forward), side by side with fp32 and fake-quant, with the cycles and energy of
the same run (hwsim.eval.run).
"""

from __future__ import annotations

from hwsim.eval.run import evaluate
from hwsim.eval.tasks import MODELS

__all__ = ["MODELS", "evaluate"]

"""hwsim.eval: a real model run on the simulated hardware (`hwsim eval`, `hwsim.evaluate`).

Every Linear, convolution and attention matmul is computed by its op's unit PE on the
recipe's quantized operands (hwsim.eval.datapath), activations flowing from layer to layer
(hwsim.eval.forward), side by side with fp32 and fake-quant, with the cycles and energy of
the same run (hwsim.eval.run). Names resolve on first use (hwsim.lazy): the command line
loads `commands` without numpy or torch.
"""

from hwsim.lazy import lazy_names

lazy_names(
    __name__,
    {"MODELS": "hwsim.eval.tasks", "Task": "hwsim.eval.tasks", "evaluate": "hwsim.eval.run"},
)

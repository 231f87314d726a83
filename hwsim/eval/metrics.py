"""The task metrics each shipped model reports (the keys of its Task.metric), headline first,
and which way is better: the one list that sweeps, the precision search and the paper reports
read (no numpy or torch here, so the sweep loader can import it)."""

from __future__ import annotations

METRICS = {
    "minilm-l6": ("embedding_cosine",),
    "smollm2-135m": ("perplexity", "top1_text", "top1_fp32"),
    "efficientnet-lite0": ("p_fp32_top1", "top1_fp32"),
}
SMALLER_IS_BETTER = ("perplexity",)


def headline(model: str) -> str:
    """The metric a one-number comparison of `model` reads."""
    return METRICS[model][0]


def worse_sign(metric: str) -> float:
    """+1 where a larger value is worse (perplexity), else -1: sign * change = degradation."""
    return 1.0 if metric in SMALLER_IS_BETTER else -1.0

"""What varlint knows about the torch API: tables shared by the analysis and the rules.

Names are canonical qualified names (see names.py). Extend the tables here rather than
keeping private lists in a rule.
"""

from __future__ import annotations

# Fresh tensor constructors: the result is a new leaf that nothing else references.
FACTORIES = frozenset(
    f"torch.{name}"
    for name in (
        "ones", "zeros", "randn", "rand", "randint", "empty", "full", "arange", "eye",
        "linspace", "logspace", "tensor", "from_numpy", "ones_like", "zeros_like",
        "randn_like", "rand_like", "randint_like", "empty_like", "full_like", "normal",
    )
)
# `x.new_*` methods are fresh constructors too.
NEW_METHODS = frozenset({"new_ones", "new_zeros", "new_empty", "new_full", "new_tensor"})

# Legacy typed constructors and the dtype each one means.
TYPED_CONSTRUCTORS = {
    "torch.FloatTensor": "torch.float32",
    "torch.DoubleTensor": "torch.float64",
    "torch.HalfTensor": "torch.float16",
    "torch.BFloat16Tensor": "torch.bfloat16",
    "torch.LongTensor": "torch.int64",
    "torch.IntTensor": "torch.int32",
    "torch.ShortTensor": "torch.int16",
    "torch.CharTensor": "torch.int8",
    "torch.ByteTensor": "torch.uint8",
    "torch.BoolTensor": "torch.bool",
}
CUDA_TYPED_CONSTRUCTORS = {
    name.replace("torch.", "torch.cuda.", 1): dtype for name, dtype in TYPED_CONSTRUCTORS.items()
}

# Methods / functions that reduce to a 0-dim tensor when called without `dim`.
FULL_REDUCTIONS = frozenset(
    {"sum", "mean", "prod", "norm", "max", "min", "std", "var", "median", "logsumexp", "amax", "amin", "all", "any", "dist", "dot", "trace"}
)

# Loss modules (torch.nn.X) and functional losses (torch.nn.functional.x): 0-dim results
# with the default reduction.
LOSS_MODULES = frozenset(
    f"torch.nn.{name}"
    for name in (
        "MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss", "BCEWithLogitsLoss",
        "SmoothL1Loss", "HuberLoss", "KLDivLoss", "SoftMarginLoss", "MarginRankingLoss",
        "HingeEmbeddingLoss", "CosineEmbeddingLoss", "MultiLabelMarginLoss",
        "MultiLabelSoftMarginLoss", "MultiMarginLoss", "PoissonNLLLoss", "GaussianNLLLoss",
        "TripletMarginLoss", "CTCLoss",
    )
)
FUNCTIONAL_LOSSES = frozenset(
    f"torch.nn.functional.{name}"
    for name in (
        "mse_loss", "l1_loss", "cross_entropy", "nll_loss", "binary_cross_entropy",
        "binary_cross_entropy_with_logits", "smooth_l1_loss", "huber_loss", "kl_div",
        "soft_margin_loss", "margin_ranking_loss", "hinge_embedding_loss",
        "cosine_embedding_loss", "multilabel_margin_loss", "multilabel_soft_margin_loss",
        "multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "triplet_margin_loss",
    )
)

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
# Factories whose result requires grad when a tensor argument does, with no `requires_grad=`
# (`torch.normal(mean, std)` is differentiable in `mean` and `std`); checked on PyTorch 2.13.
GRAD_CARRYING_FACTORIES = frozenset({"torch.normal"})

# numpy scalar types: `Variable(np.float32(3))` raises M1 like an ndarray does.
NUMPY_SCALAR_TYPES = frozenset(
    f"numpy.{name}"
    for name in ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool_")
)

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

# Losses that still accept the legacy `size_average=` / `reduce=` arguments (checked against the
# PyTorch 2.13 signatures; HuberLoss, GaussianNLLLoss and CTCLoss never had them).
LEGACY_REDUCTION_LOSSES = (LOSS_MODULES | FUNCTIONAL_LOSSES) - {
    "torch.nn.HuberLoss", "torch.nn.GaussianNLLLoss", "torch.nn.CTCLoss",
    "torch.nn.functional.huber_loss", "torch.nn.functional.gaussian_nll_loss",
}

# Tensor methods whose result has the shape of the receiver: `loss.cpu().data[0]` indexes the
# same 0-dim value as `loss[0]`. (`.data` is the attribute with the same property.)
SAME_SHAPE_METHODS = frozenset({"cpu", "cuda", "detach", "clone", "contiguous"})

# `x.type(torch.FloatTensor)` is the conversion method of that dtype (same values, grads and
# identity, checked on PyTorch 2.13), as long as x is on the CPU.
TYPE_CONVERSION_METHODS = {
    "torch.FloatTensor": "float",
    "torch.DoubleTensor": "double",
    "torch.HalfTensor": "half",
    "torch.BFloat16Tensor": "bfloat16",
    "torch.LongTensor": "long",
    "torch.IntTensor": "int",
    "torch.ShortTensor": "short",
    "torch.CharTensor": "char",
    "torch.ByteTensor": "byte",
    "torch.BoolTensor": "bool",
}

# numpy calls that return an ndarray whatever their arguments (`np.random.rand()` or
# `np.float32(3)` can return scalars, which typed constructors reject).
NUMPY_NDARRAY_CONSTRUCTORS = frozenset(
    f"numpy.{name}"
    for name in (
        "array", "asarray", "ascontiguousarray", "zeros", "ones", "empty", "full", "arange",
        "linspace", "eye", "identity", "zeros_like", "ones_like", "empty_like", "full_like",
        "stack", "concatenate",
    )
)

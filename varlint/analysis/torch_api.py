"""What varlint knows about the torch API: tables shared by the analysis and the rules.

Names are canonical qualified names (see names.py). Extend the tables here rather than
keeping private lists in a rule.
"""

from __future__ import annotations

import sys

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
# Factories that take no `requires_grad=` keyword (`from_numpy` takes no keywords at all).
FACTORIES_WITHOUT_REQUIRES_GRAD = frozenset({"torch.from_numpy"})

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

# --- Operations modelled by the requires-grad analysis (analysis/gradflow) ----------------------
# Each name is a tensor method `x.op(...)` and, where it exists, a function `torch.op(x, ...)`
# or `torch.nn.functional.op(x, ...)`.

# Differentiable, the result has the broadcast shape of the tensor inputs.
ELEMENTWISE_OPS = frozenset({
    "add", "sub", "subtract", "mul", "multiply", "div", "divide", "true_divide", "pow", "neg",
    "negative", "abs", "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt",
    "square", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "sinh", "cosh",
    "tanh", "sigmoid", "logit", "relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "mish",
    "leaky_relu", "hardtanh", "hardsigmoid", "hardswish", "softplus", "softsign", "logsigmoid",
    "tanhshrink", "softshrink", "hardshrink", "threshold", "rrelu", "clamp", "clamp_min",
    "clamp_max", "clip", "sign", "sgn", "round", "floor", "ceil", "trunc", "frac", "erf", "erfc",
    "erfinv", "lerp", "where", "maximum", "minimum", "fmod", "remainder", "addcmul", "addcdiv",
    "masked_fill", "softmax", "log_softmax", "softmin", "dropout", "alpha_dropout",
    "feature_alpha_dropout", "dropout1d", "dropout2d", "dropout3d", "normalize", "xlogy",
    "hypot", "logaddexp", "nan_to_num", "cumsum", "cumprod", "logcumsumexp", "flip", "roll",
    "tril", "triu", "lgamma", "digamma", "sinc",
})
# Differentiable matrix products (shape from both operands).
MATMUL_OPS = frozenset({"mm", "matmul", "bmm", "mv", "dot", "outer"})
# Differentiable views and reshapes: the result may share the receiver's storage.
VIEW_OPS = frozenset({
    "view", "view_as", "reshape", "reshape_as", "t", "transpose", "permute", "squeeze",
    "unsqueeze", "flatten", "expand", "expand_as", "narrow", "select", "unfold", "movedim",
    "swapaxes", "swapdims", "unflatten", "ravel", "diagonal",
})
# Conversions that return the receiver itself when nothing changes (`x.float()` of a float32
# tensor is `x`), otherwise a differentiable copy.
CONVERSION_OPS = frozenset({
    "float", "double", "half", "bfloat16", "cpu", "cuda", "to", "type", "type_as", "contiguous",
})
# Other differentiable operations (shape not modelled).
DIFFERENTIABLE_OPS = frozenset({
    "clone", "cat", "concat", "concatenate", "stack", "hstack", "vstack", "index_select",
    "gather", "scatter", "scatter_add", "masked_select", "masked_scatter", "index_add",
    "repeat", "repeat_interleave", "tile", "linear", "bilinear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d", "max_pool1d", "max_pool2d",
    "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d",
    "adaptive_avg_pool2d", "adaptive_max_pool1d", "adaptive_max_pool2d", "embedding",
    "batch_norm", "layer_norm", "group_norm", "instance_norm", "local_response_norm", "pad",
    "interpolate", "upsample", "grid_sample", "pixel_shuffle", "einsum", "cross", "diag",
    "kron", "tensordot", "addmm", "addmv", "addbmm", "baddbmm", "glu", "cosine_similarity",
    "pairwise_distance", "cdist", "one_hot_like", "polar", "complex", "real", "imag",
})
# Operations whose result is an integer or boolean tensor: it never requires grad.
INTEGER_OPS = frozenset({
    "argmax", "argmin", "argsort", "argwhere", "nonzero", "long", "int", "short", "char",
    "byte", "bool", "eq", "ne", "lt", "le", "gt", "ge", "greater", "greater_equal", "less",
    "less_equal", "not_equal", "isnan", "isinf", "isfinite", "isclose", "logical_and",
    "logical_or", "logical_not", "logical_xor", "bitwise_and", "bitwise_or", "bitwise_not",
    "bitwise_xor", "all", "any", "count_nonzero", "bucketize", "searchsorted", "one_hot",
})
# Reductions that return a (values, indices) pair when given a `dim`.
PAIR_REDUCTIONS = frozenset({"max", "min", "median", "mode", "kthvalue"})
# Methods whose result is a Python value (number, list, torch.Size, str ...), not a tensor.
PYTHON_VALUE_METHODS = frozenset({
    "size", "dim", "ndimension", "numel", "nelement", "element_size", "is_contiguous",
    "is_floating_point", "is_complex", "equal", "data_ptr", "get_device", "stride",
    "storage_offset", "allclose",
})
# In-place methods that change the receiver's shape (other `x.op_()` keep it).
SHAPE_CHANGING_INPLACE = frozenset({
    "resize_", "resize_as_", "unsqueeze_", "squeeze_", "t_", "transpose_", "set_",
    "as_strided_", "swapdims_", "swapaxes_",
})
# Methods that exist only on tensors: whatever the receiver was, the result is a tensor.
TENSOR_ONLY_METHODS = frozenset({
    "detach", "detach_", "requires_grad_", "clone", "long", "int", "short", "char", "byte",
    "mm", "unsqueeze", "view_as", "expand", "expand_as", "masked_fill", "contiguous",
    "new_ones", "new_zeros", "new_empty", "new_full", "new_tensor",
})

# Tensor methods and torch functions that never touch `.grad`: a call of one (`x.mm(w1)`,
# `torch.sum(w)`, `h.view(-1)`) neither resets the gradients of the tensors it receives nor
# may reset them, whatever the receiver is.
GRAD_NEUTRAL_METHODS = (
    ELEMENTWISE_OPS | MATMUL_OPS | VIEW_OPS | CONVERSION_OPS | DIFFERENTIABLE_OPS | INTEGER_OPS
    | FULL_REDUCTIONS | PAIR_REDUCTIONS | PYTHON_VALUE_METHODS | SAME_SHAPE_METHODS
    | NEW_METHODS | {"item", "tolist", "numpy", "detach"}
)

# Grad-mode switches (rules.md: results computed with grad disabled never require grad).
NO_GRAD_CONTEXTS = frozenset({
    "torch.no_grad", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad",
    "torch.inference_mode", "torch.autograd.inference_mode",
    "torch.autograd.grad_mode.inference_mode",
})
ENABLE_GRAD_CONTEXTS = frozenset({
    "torch.enable_grad", "torch.autograd.enable_grad", "torch.autograd.grad_mode.enable_grad",
})
SET_GRAD_ENABLED = frozenset({
    "torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
    "torch.autograd.grad_mode.set_grad_enabled",
})

# Calls that differentiate: `torch.autograd.backward(tensors, grad_tensors)` and
# `torch.autograd.grad(outputs, inputs, grad_outputs)`; the index of the gradient argument.
AUTOGRAD_FUNCTIONS = {"torch.autograd.backward": 1, "torch.autograd.grad": 2}
AUTOGRAD_GRADIENT_KEYWORDS = ("grad_tensors", "grad_variables", "grad_outputs")

# Functional losses whose tensor inputs are more than (input, target).
FUNCTIONAL_LOSS_INPUTS = {
    "torch.nn.functional.margin_ranking_loss": 3,
    "torch.nn.functional.cosine_embedding_loss": 3,
    "torch.nn.functional.triplet_margin_loss": 3,
    "torch.nn.functional.gaussian_nll_loss": 3,
    "torch.nn.functional.ctc_loss": 4,
}
# nn modules that may return their input itself (so under no_grad their output can still
# require grad): identity, dropout (in eval mode or with p=0), containers of modules.
PASSTHROUGH_MODULES = frozenset({
    "torch.nn.Identity", "torch.nn.Dropout", "torch.nn.Dropout1d", "torch.nn.Dropout2d",
    "torch.nn.Dropout3d", "torch.nn.AlphaDropout", "torch.nn.FeatureAlphaDropout",
    "torch.nn.Sequential", "torch.nn.ModuleList", "torch.nn.ModuleDict",
})
# torch.nn names that are not module classes.
NN_NON_MODULES = frozenset({
    "torch.nn.Parameter", "torch.nn.ParameterList", "torch.nn.ParameterDict",
    "torch.nn.UninitializedParameter", "torch.nn.UninitializedBuffer", "torch.nn.Buffer",
})

# --- Tables of the grad-state dataflow (analysis/gradflow) ---

# Tensor.backward's parameters: any other keyword raises TypeError (`retain_variables=`).
BACKWARD_PARAMETERS = ("gradient", "retain_graph", "create_graph", "inputs")

# Tensor methods the analysis models (other methods of an unknown object are unknown calls).
KNOWN_TENSOR_METHODS = (
    ELEMENTWISE_OPS | MATMUL_OPS | VIEW_OPS | CONVERSION_OPS | DIFFERENTIABLE_OPS
    | INTEGER_OPS | FULL_REDUCTIONS | PAIR_REDUCTIONS | PYTHON_VALUE_METHODS
    | NEW_METHODS | {"detach", "item", "tolist", "numpy"}
)

# Constructors that build a tensor from data or sizes (the typed ones read ints as sizes).
TENSOR_CONSTRUCTORS = (
    frozenset(TYPED_CONSTRUCTORS)
    | frozenset(CUDA_TYPED_CONSTRUCTORS)
    | {"torch.Tensor", "torch.as_tensor"}
)

# Module methods that return the module itself.
MODULE_RETURNING_METHODS = frozenset(
    {"cuda", "cpu", "to", "train", "eval", "float", "double", "half", "type", "requires_grad_"}
)

def is_module_class(name: str) -> bool:
    """`torch.nn.Linear` and the like: a class whose instances are modules."""
    if not name.startswith("torch.nn."):  # also `model` of `import model`: no dot at all
        return False
    capitalized = name.rsplit(".", 1)[1][:1].isupper()
    return capitalized and name not in NN_NON_MODULES

FLAG_METHODS = frozenset({"requires_grad_", "detach_", "retain_grad"})

# Builtins that reach objects and names by strings.
REFLECTION = frozenset({"getattr", "setattr", "delattr", "exec", "eval", "vars", "globals", "locals"})

FLAG_ATTRIBUTES = frozenset({"requires_grad", "grad"})

PURE_LIBRARIES = frozenset(sys.stdlib_module_names) | {"numpy", "scipy", "matplotlib", "pandas"}

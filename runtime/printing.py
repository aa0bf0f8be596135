"""`repr(tensor)` exactly as PyTorch prints it: a port of torch/_tensor_str.py.

The logic follows PyTorch's `_Formatter` (one width for all elements; integer mode for floats
that are all whole, `tensor([1., 2.])`; scientific mode when the ratio of the largest to the
smallest non-zero magnitude exceeds 1000 or the values leave [1e-4, 1e8]), `_vector_str`
(line wrapping at 80 columns), summarisation above 1000 elements, and `_str_intern`'s
suffixes (`dtype=`, `grad_fn=<...>`, `requires_grad=True`). Values are formatted as Python
floats holding the float32 value, as PyTorch's `.item()`/`.tolist()` give them.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from . import dtypes


@dataclasses.dataclass
class _PrintOptions:
    precision: int = 4
    threshold: float = 1000
    edgeitems: int = 3
    linewidth: int = 80
    sci_mode: bool | None = None


PRINT_OPTS = _PrintOptions()


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    if profile is not None:
        defaults = {"default": (4, 1000, 3, 80), "short": (2, 1000, 2, 80),
                    "full": (4, math.inf, 3, 80)}[profile]
        (PRINT_OPTS.precision, PRINT_OPTS.threshold, PRINT_OPTS.edgeitems,
         PRINT_OPTS.linewidth) = defaults
    if precision is not None:
        PRINT_OPTS.precision = precision
    if threshold is not None:
        PRINT_OPTS.threshold = threshold
    if edgeitems is not None:
        PRINT_OPTS.edgeitems = edgeitems
    if linewidth is not None:
        PRINT_OPTS.linewidth = linewidth
    PRINT_OPTS.sci_mode = sci_mode


def get_printoptions() -> dict:
    return dataclasses.asdict(PRINT_OPTS)


def _python_values(array: np.ndarray) -> list:
    return array.reshape(-1).tolist()


class _Formatter:
    def __init__(self, array: np.ndarray):
        self.floating = array.dtype.kind == "f"
        self.int_mode = True
        self.sci_mode = False
        self.max_width = 1
        if not self.floating:
            for value in _python_values(array):
                self.max_width = max(self.max_width, len(f"{value}"))
            return
        flat = array.reshape(-1)
        nonzero_finite = flat[np.isfinite(flat) & (flat != 0)]
        if nonzero_finite.size == 0:
            return
        magnitudes = np.abs(nonzero_finite).astype(np.float64)
        smallest, largest = float(magnitudes.min()), float(magnitudes.max())
        self.int_mode = bool(np.all(nonzero_finite == np.ceil(nonzero_finite)))
        if PRINT_OPTS.sci_mode is None:
            self.sci_mode = largest / smallest > 1000.0 or largest > 1.0e8 or smallest < 1.0e-4
        else:
            self.sci_mode = PRINT_OPTS.sci_mode
        precision = PRINT_OPTS.precision
        for value in _python_values(nonzero_finite):
            if self.sci_mode:
                width = len(f"{value:.{precision}e}")
            elif self.int_mode:
                width = len(f"{value:.0f}") + 1
            else:
                width = len(f"{value:.{precision}f}")
            self.max_width = max(self.max_width, width)

    def format(self, value) -> str:
        precision = PRINT_OPTS.precision
        if self.floating:
            if self.sci_mode:
                text = f"{value:{self.max_width}.{precision}e}"
            elif self.int_mode:
                text = f"{value:.0f}"
                if not (math.isinf(value) or math.isnan(value)):
                    text += "."
            else:
                text = f"{value:.{precision}f}"
        else:
            text = f"{value}"
        return (self.max_width - len(text)) * " " + text


def _summarized(array: np.ndarray) -> np.ndarray:
    """The elements that are shown when the tensor is summarised (edges of each dim)."""
    edge = PRINT_OPTS.edgeitems
    if array.ndim == 0:
        return array
    if array.shape[0] > 2 * edge:
        array = np.concatenate([array[:edge], array[-edge:]])
    if array.ndim == 1:
        return array
    return np.stack([_summarized(row) for row in array])


def _vector_str(array, indent, summarize, formatter) -> str:
    element_length = formatter.max_width + 2
    per_line = max(1, math.floor((PRINT_OPTS.linewidth - indent) / element_length))
    edge = PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edge:
        items = ([formatter.format(v) for v in array[:edge].tolist()] + [" ..."]
                 + [formatter.format(v) for v in array[-edge:].tolist()])
    else:
        items = [formatter.format(v) for v in array.tolist()]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + ("," + "\n" + " " * (indent + 1)).join(lines) + "]"


def _tensor_str_with_formatter(array, indent, summarize, formatter) -> str:
    if array.ndim == 0:
        return formatter.format(array.item())
    if array.ndim == 1:
        return _vector_str(array, indent, summarize, formatter)
    edge = PRINT_OPTS.edgeitems
    if summarize and array.shape[0] > 2 * edge:
        slices = ([_tensor_str_with_formatter(array[i], indent + 1, summarize, formatter) for i in range(edge)]
                  + ["..."]
                  + [_tensor_str_with_formatter(array[i], indent + 1, summarize, formatter)
                     for i in range(array.shape[0] - edge, array.shape[0])])
    else:
        slices = [_tensor_str_with_formatter(array[i], indent + 1, summarize, formatter)
                  for i in range(array.shape[0])]
    return "[" + ("," + "\n" * (array.ndim - 1) + " " * (indent + 1)).join(slices) + "]"


def tensor_str(array: np.ndarray, indent: int) -> str:
    """The bracketed contents of a tensor, as PyTorch's `_tensor_str`."""
    if array.size == 0:
        return "[]"
    summarize = array.size > PRINT_OPTS.threshold
    formatter = _Formatter(_summarized(array) if summarize else array)
    return _tensor_str_with_formatter(array, indent, summarize, formatter)


def _add_suffixes(text, suffixes, indent) -> str:
    parts = [text]
    last_line_len = len(text) - text.rfind("\n") + 1
    for suffix in suffixes:
        if last_line_len + len(suffix) + 2 > PRINT_OPTS.linewidth:
            parts.append(",\n" + " " * indent + suffix)
            last_line_len = indent + len(suffix)
        else:
            parts.append(", " + suffix)
            last_line_len += len(suffix) + 2
    parts.append(")")
    return "".join(parts)


def tensor_repr(tensor) -> str:
    kind = type(tensor).__name__
    prefix = "tensor(" if kind in ("Tensor", "Parameter") else f"{kind}("
    indent = len(prefix)
    array = tensor._data
    dtype = tensor.dtype
    suffixes = []
    if array.size == 0:
        if array.ndim != 1:
            suffixes.append("size=" + str(tuple(array.shape)))
        if dtype is not dtypes.get_default_dtype():
            suffixes.append("dtype=" + repr(dtype))
        contents = "[]"
    else:
        if dtype not in (dtypes.get_default_dtype(), dtypes.int64, dtypes.bool_):
            suffixes.append("dtype=" + repr(dtype))
        contents = tensor_str(array, indent)
    if tensor._base is not None:
        tensor._refresh_view()
    if tensor._grad_fn is not None:
        suffixes.append(f"grad_fn=<{type(tensor._grad_fn).__name__}>")
    elif tensor._requires_grad:
        suffixes.append("requires_grad=True")
    return _add_suffixes(prefix + contents, suffixes, indent)

"""The Tensor ops, one module per family; each op is defined once, forward and backward together.

Every module lists what it defines (the layer families, conv/pooling/normalization/resampling,
have no METHODS; their torch functions are those PyTorch has at top level, the rest are F.*):
    METHODS         {name: function}: bound as `Tensor.name` (runtime/tensor.py does it)
    FUNCTION_FORMS  names that are also `torch.name(input, ...)`, calling `input.name(...)`
    FUNCTIONS       {name: function}: torch functions that are not a method call on their input
                    (`torch.cat`, `torch.where`, `torch.add(2, x)`)
"""

from __future__ import annotations

from . import (
    arithmetic,
    comparison,
    conv,
    conversions,
    creation,
    indexing,
    linalg,
    normalization,
    pointwise,
    pooling,
    reductions,
    resampling,
    views,
)

# losses.py is not a family: its functions are torch.nn.functional's only
FAMILIES = (creation, conversions, arithmetic, comparison, pointwise, reductions, linalg,
            views, indexing, conv, pooling, normalization, resampling)


def bind_methods(cls, methods: dict) -> None:
    """Set `methods` on `cls`, each function named as if defined in the class (`Tensor.add`:
    Python's argument errors quote that name)."""
    for name, function in methods.items():
        if callable(function) and hasattr(function, "__qualname__") and "." not in function.__qualname__:
            if methods.get(function.__name__) is not function:
                function.__name__ = name
            function.__qualname__ = f"{cls.__name__}.{function.__name__}"
        setattr(cls, name, function)


def methods() -> dict:
    """Every family's METHODS (each name is defined by one family only)."""
    found, family_of = {}, {}
    for family in FAMILIES:
        for name, function in getattr(family, "METHODS", {}).items():
            if name in found:
                raise AssertionError(f"Tensor.{name} defined by both {family_of[name]} and {family.__name__}")
            found[name], family_of[name] = function, family.__name__
    return found


def function_form(name: str):
    """torch.NAME(input, *args, **kwargs) for the Tensor method NAME (`out=` is ignored)."""

    def function(input, *args, **kwargs):
        kwargs.pop("out", None)
        return getattr(input, name)(*args, **kwargs)

    function.__name__ = function.__qualname__ = name
    return function


def torch_functions(extra_forms=()) -> dict:
    """Every torch.NAME the families define: function forms first, then the FUNCTIONS."""
    functions = {name: function_form(name) for name in extra_forms}
    for family in FAMILIES:
        for name in getattr(family, "FUNCTION_FORMS", ()):
            functions[name] = function_form(name)
    for family in FAMILIES:
        functions.update(getattr(family, "FUNCTIONS", {}))
    return functions

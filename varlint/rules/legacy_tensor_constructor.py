"""Legacy typed tensor constructors (`torch.FloatTensor(...)`) and `x.type(torch.FloatTensor)`.

## What it does
Reports calls of the typed constructors `torch.FloatTensor`, `torch.DoubleTensor`,
`torch.LongTensor`, `torch.ByteTensor` ... and their CUDA versions `torch.cuda.FloatTensor` ...,
and conversions spelled `x.type(torch.FloatTensor)` / `x.type('torch.FloatTensor')`.

## Why is this bad
The typed constructors are a 0.3-era API that PyTorch 2.13 keeps without documenting, and each
call means different things depending on its argument:
- an int argument is a *size*: `torch.FloatTensor(3)` is an uninitialised tensor of 3 elements,
  not the value 3, and `torch.FloatTensor(2, 3)` a 2x3 one;
- a list or tuple is data: `torch.FloatTensor([1, 2])` is `tensor([1., 2.])`;
- a float32 ndarray is *aliased*, not copied: writing to the tensor changes the array;
- the dtype is always the constructor's, whatever `torch.set_default_dtype` says.

`torch.tensor([1, 2])`, the obvious replacement, is not equivalent: it gives int64. On a
CPU-only build, `torch.cuda.FloatTensor(...)` raises
`TypeError: type torch.cuda.FloatTensor not available. Torch not compiled with CUDA enabled.`

## Example
```python
one = torch.FloatTensor([1])
noise = torch.FloatTensor(64, 100)
mask = torch.ByteTensor(a)  # a = np.zeros(3)
x = y.type(torch.LongTensor)
```

Use instead:
```python
one = torch.tensor([1], dtype=torch.float32)
noise = torch.empty(64, 100, dtype=torch.float32)
mask = torch.as_tensor(a, dtype=torch.uint8)
x = y.long()
```

## Fix safety
Safe (checked on PyTorch 2.13: same values, dtype, shape, memory sharing):
- a literal list or tuple of numbers -> `torch.tensor(data, dtype=...)` (the typed constructor
  truncates and wraps values exactly as `torch.tensor` with that dtype does);
- no argument or literal ints -> `torch.empty(n, m, dtype=...)`; more than one positional
  argument can only be sizes, so those become `torch.empty(...)` too (the contents are
  uninitialised in both);
- an argument that is an ndarray (an `np.array(...)`, `np.zeros(...)` ... call, or a name
  assigned only from one in its scope) -> `torch.as_tensor(a, dtype=...)`, which aliases a
  matching ndarray and copies otherwise, as the constructor does;
- `x.type(torch.FloatTensor)` -> `x.float()` (and `.double()`, `.long()`, `.byte()` ...): the
  same tensor when the dtype already matches, the same differentiable copy otherwise. The fix
  is unsafe in a file that mentions CUDA or devices anywhere (`.cuda()`, `torch.cuda`,
  `"cuda"`, `x.to(device)`), because `x.type(torch.FloatTensor)` also copies a CUDA tensor to
  the CPU and `x.float()` does not.

Display-only: any other argument (a name whose type is not known could be a size, data or an
ndarray; `torch.as_tensor(x, dtype=...)` is suggested, wrong when `x` is an int), keyword
arguments, and every CUDA constructor (the fix would need a GPU to be checked).
"""

from __future__ import annotations

from functools import cached_property

import libcst as cst

from varlint.analysis.torch_api import (
    CUDA_TYPED_CONSTRUCTORS,
    NUMPY_NDARRAY_CONSTRUCTORS,
    TYPE_CONVERSION_METHODS,
    TYPED_CONSTRUCTORS,
)
from varlint.diagnostic import Applicability
from varlint.rule import Rule, replace_message
from varlint.rules.zero_dim_index import method_call_name

CUDA_UNAVAILABLE = "TypeError: type {name} not available. Torch not compiled with CUDA enabled."


def is_literal_number(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False")
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, (cst.Minus, cst.Plus))
        and isinstance(node.expression, (cst.Integer, cst.Float, cst.Imaginary))
    )


def is_literal_data(node: cst.BaseExpression) -> bool:
    """A list or tuple display of literal numbers (nested any depth)."""
    if not isinstance(node, (cst.List, cst.Tuple)):
        return False
    return all(
        isinstance(element, cst.Element)
        and (is_literal_number(element.value) or is_literal_data(element.value))
        for element in node.elements
    )


def is_size(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Integer)


class LegacyTensorConstructor(Rule):
    code = "VL006"
    name = "legacy-tensor-constructor"

    def visit_Call(self, node: cst.Call) -> None:
        callee = self.context.names.callee(node)
        for name in callee:
            if name in TYPED_CONSTRUCTORS:
                self.check_constructor(node, name, TYPED_CONSTRUCTORS[name], cuda=False)
                return
            if name in CUDA_TYPED_CONSTRUCTORS:
                self.check_constructor(node, name, CUDA_TYPED_CONSTRUCTORS[name], cuda=True)
                return
        if method_call_name(node) == "type" and len(node.args) == 1 and node.args[0].keyword is None:
            self.check_type_conversion(node, node.args[0].value)

    # --- typed constructors ----------------------------------------------------------------

    def check_constructor(self, call: cst.Call, constructor: str, dtype: str, cuda: bool) -> None:
        torch = self.context.names.module_name_at(call)
        positional = [arg for arg in call.args if arg.keyword is None and arg.star != "**"]
        keywords = [arg for arg in call.args if arg not in positional]
        single = positional[0].value if len(positional) == 1 and not positional[0].star else None
        if single is None or is_size(single) or self.is_torch_size(single):
            # No argument, int literals, a torch.Size, or several arguments: only sizes fit
            # (`*shape` probably, but it could unpack a list of data).
            arguments = [self.context.code(without_comma(arg)) for arg in positional] or ["0"]
            factory, proven = "empty", not any(arg.star for arg in positional)
            meaning = f"with size arguments it creates an uninitialised {dtype} tensor"
        elif is_literal_data(single):
            factory, arguments, proven = "tensor", [self.context.code(single)], True
            meaning = (
                f"with a list or tuple it creates a {dtype} tensor whatever the default dtype "
                "(`torch.tensor` alone would infer int64 from ints)"
            )
        elif self.is_ndarray(single):
            factory, arguments, proven = "as_tensor", [self.context.code(single)], True
            meaning = (
                f"with an ndarray it creates a {dtype} tensor that aliases the array's memory "
                "when the dtypes match"
            )
        elif method_call_name(single) == "size" and not single.args:
            # `x.size()` of a tensor is a torch.Size, but the receiver's type is not known.
            factory, arguments, proven = "empty", [self.context.code(single)], False
            meaning = "a size argument gives an uninitialised tensor"
        else:
            factory, arguments, proven = "as_tensor", [self.context.code(single)], False
            meaning = (
                "its argument is read as a size if it is an int, as data (list, ndarray, "
                "tensor) otherwise"
            )
        if cuda:
            message = (
                f"Legacy typed constructor `{constructor}` creates a CUDA tensor; on a CPU-only "
                f"build it raises `{CUDA_UNAVAILABLE.format(name=constructor)}`"
            )
        else:
            message = f"Legacy typed constructor `{constructor}`: {meaning}"
        if torch is None:
            self.report(call, message)  # nothing to write the replacement with
            return
        arguments.append(f"dtype={torch}{dtype.removeprefix('torch')}")
        if cuda:
            arguments.append('device="cuda"')
        arguments.extend(self.context.code(without_comma(arg)) for arg in keywords)
        replacement = f"{torch}.{factory}({', '.join(arguments)})"
        safe = proven and not cuda and not keywords
        fix_message = replace_message(replacement)
        if factory == "as_tensor" and not proven:
            fix_message += " if the argument is data (an int argument is a size: `torch.empty(n, ...)`)"
        self.report(
            call,
            message,
            fix=self.make_fix(
                Applicability.SAFE if safe else Applicability.DISPLAY_ONLY,
                fix_message,
                [self.context.edit(call, replacement)],
            ),
        )

    def is_torch_size(self, expression: cst.BaseExpression | None) -> bool:
        return isinstance(expression, cst.Call) and self.context.names.is_(expression.func, "torch.Size")

    def is_ndarray(self, expression: cst.BaseExpression) -> bool:
        """An ndarray constructor call, or a name assigned only from one in its scope."""
        if isinstance(expression, cst.Call):
            return not NUMPY_NDARRAY_CONSTRUCTORS.isdisjoint(self.context.names.callee(expression))
        if not isinstance(expression, cst.Name):
            return False
        referents = self.context.names.bindings(expression)
        if len(referents) != 1:
            return False  # rebound somewhere in its scope (or not bound)
        target = referents[0].node
        statement = self.context.parents.get(self.context.parents.get(target))
        return (
            isinstance(target, cst.Name)
            and isinstance(statement, cst.Assign)
            and len(statement.targets) == 1
            and statement.targets[0].target is target
            and isinstance(statement.value, cst.Call)
            and self.is_ndarray(statement.value)
        )

    # --- x.type(torch.FloatTensor) ---------------------------------------------------------

    def check_type_conversion(self, call: cst.Call, argument: cst.BaseExpression) -> None:
        type_name = self.type_name(argument)
        if type_name is None:
            return
        receiver = self.context.code(call.func.value)
        if type_name in CUDA_TYPED_CONSTRUCTORS:
            torch = self.context.names.module_name_at(call) or "torch"
            dtype = torch + CUDA_TYPED_CONSTRUCTORS[type_name].removeprefix("torch")
            conversion = f'to(device="cuda", dtype={dtype})'
            applicability = Applicability.DISPLAY_ONLY
        else:
            conversion = f"{TYPE_CONVERSION_METHODS[type_name]}()"
            applicability = Applicability.UNSAFE if self.may_use_cuda else Applicability.SAFE
        replacement = f"{receiver}.{conversion}"
        self.report(
            call,
            f"`.type({type_name})` converts through a legacy tensor type; use `.{conversion}`",
            fix=self.make_fix(
                applicability,
                replace_message(replacement),
                [self.context.edit(call, replacement)],
            ),
        )

    def type_name(self, argument: cst.BaseExpression) -> str | None:
        """`torch.FloatTensor` or `'torch.FloatTensor'` -> "torch.FloatTensor"."""
        if isinstance(argument, cst.SimpleString):
            names = {argument.evaluated_value}
        else:
            names = self.context.names.qualified(argument)
        return next(
            (name for name in names if name in TYPE_CONVERSION_METHODS or name in CUDA_TYPED_CONSTRUCTORS),
            None,
        )

    @cached_property
    def may_use_cuda(self) -> bool:
        """Could a tensor of this file be on a GPU? Any mention of CUDA or of a device (`.cuda()`,
        `torch.cuda`, `"cuda"`, `x.to(device)`, `args.cuda`) counts: a false alarm only makes
        the fix unsafe."""
        code = self.context.text
        return "cuda" in code or "device" in code


def without_comma(arg: cst.Arg) -> cst.Arg:
    return arg.with_changes(comma=cst.MaybeSentinel.DEFAULT)

"""Tensor and autograd nodes: a micrograd-style autograd on numpy (the engine is engine.py).

How it fits together
--------------------
* A `Tensor` holds a numpy array (`_data`, its storage; views are numpy views, so writes
  through a view reach the base), `_requires_grad`, `_grad`, `_grad_fn` and a shared
  `_VersionCounter` (bumped by every in-place op, shared by views and `detach()`, fresh for
  `.data`, exactly as in PyTorch).
* Every differentiable op computes its value with numpy and calls `record_op(name, value,
  inputs, backward)`. If grad mode is on and an input requires grad, that creates a `Node`
  whose class is named like PyTorch's (`AddBackward0`, ...) holding `backward`: a closure
  mapping the output's gradient to one gradient per input. Closures are written with Tensor
  ops, so running them with grad mode on gives the graph of the gradient (create_graph).
  Broadcast gradients are fine: the engine sums them back to each input's shape.
* Saved tensors remember their version; a mismatch at backward time raises M18.
* An in-place op runs the out-of-place op on a snapshot of the old value (`_shadow`) and
  writes the result into the storage (`_commit`): the tensor takes the op's grad_fn (PyTorch's
  history rewriting). On a view, the base's history is rewritten instead (`CopySlices`,
  `_inplace_on_view`), and other views regenerate their grad_fn lazily (`_refresh_view`).

Besides PyTorch semantics the module keeps the bookkeeping for the event log (see
events.py): every gradient-carrying leaf has a `_GradBook` with the sequence numbers and
program lines of its last backward, reset and consumption. The optimizer (runtime/optim.py)
calls `note_optimizer_step(params, previous)` at the start of `step()`.

Internal readers should use `_grad`, `_grad_fn` and `_requires_grad`: the public properties
record events (`.grad` of a leaf without grad, ...) when read from the program.
"""

from __future__ import annotations

import itertools
import math
import operator
import re
import sys
import weakref

import numpy as np

from . import dtypes, events, history
from .dtypes import Size, dtype as _DType
from .grad_mode import enable_grad, is_grad_enabled

# -- messages (texts verbatim from PyTorch 2.13) -----------------------------------------

M5A = "Only Tensors of floating point and complex dtype can require gradients"
M5B = "only Tensors of floating point and complex dtype can require gradients"
M5C = "only Tensors of floating point dtype can require gradients"
M10 = ("invalid index of a 0-dim tensor. Use `tensor.item()` in Python or `tensor.item<T>()` "
       "in C++ to convert a 0-dim tensor to a number")
M14 = ("Converting a tensor with requires_grad=True to a scalar may lead to unexpected behavior.\n"
       "Consider using tensor.detach() first. (Triggered internally at "
       "/__w/pytorch/pytorch/torch/csrc/autograd/generated/python_variable_methods.cpp:822.)")
M15 = "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead."
M16 = "a leaf Variable that requires grad is being used in an in-place operation."
M17 = "a view of a leaf Variable that requires grad is being used in an in-place operation."
M18 = ("one of the variables needed for gradient computation has been modified by an inplace "
       "operation: [{type} {shape}]{origin} is at version {now}; expected version {saved} "
       "instead. Hint: enable anomaly detection to find the operation that failed to compute "
       "its gradient, with torch.autograd.set_detect_anomaly(True, check_nan=False).")
M20 = "element {index} of tensors does not require grad and does not have a grad_fn"
M21 = "grad can be implicitly created only for scalar outputs"
M22 = ("Mismatch in shape: grad_output[{index}] has a shape of {grad_shape} and "
       "output[{index}] has a shape of {out_shape}.")
M23 = ("Trying to backward through the graph a second time (or directly access saved tensors "
       "after they have already been freed). Saved intermediate values of the graph are freed "
       "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
       "backward through the graph a second time or if you need to access saved tensors after "
       "calling backward.")
M29 = ("The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its .grad "
       "attribute won't be populated during autograd.backward(). If you indeed want the .grad "
       "field to be populated for a non-leaf Tensor, use .retain_grad() on the non-leaf Tensor. "
       "If you access the non-leaf Tensor by mistake, make sure you access the leaf Tensor "
       "instead. See github.com/pytorch/pytorch/pull/30531 for more information. (Triggered "
       "internally at /__w/pytorch/pytorch/build/aten/src/ATen/core/TensorBody.h:493.)")
M37 = "you can only change requires_grad flags of leaf variables."
M38 = ("you can only change requires_grad flags of leaf variables. If you want to use a "
       "computed variable in a subgraph that doesn't require differentiation use "
       "var_no_grad = var.detach().")
CREATE_GRAPH_WARNING = (
    "Using backward() with create_graph=True will create a reference cycle between the "
    "parameter and its gradient which can cause a memory leak. We recommend using "
    "autograd.grad when creating the graph to avoid this. If you have to use this function, "
    "make sure to reset the .grad fields of your parameters to None after use to break the "
    "cycle and avoid the leak. (Triggered internally at "
    "/__w/pytorch/pytorch/torch/csrc/autograd/engine.cpp:1307.)")
CUDA_MISSING = "Torch not compiled with CUDA enabled"

# c10 scalar type names, used in a few error messages
_C10_NAME = {dtypes.float32: "Float", dtypes.float64: "Double", dtypes.float16: "Half",
             dtypes.int64: "Long", dtypes.int32: "Int", dtypes.int16: "Short",
             dtypes.int8: "Char", dtypes.uint8: "Byte", dtypes.bool_: "Bool"}
_OPTIONS_NAME = {dtypes.float32: "float", dtypes.float64: "double", dtypes.float16: "c10::Half",
                 dtypes.int64: "long int", dtypes.int32: "int", dtypes.int16: "short int",
                 dtypes.int8: "signed char", dtypes.uint8: "unsigned char", dtypes.bool_: "bool"}

# -- gradient bookkeeping for the event log --------------------------------------------------

_sequence = itertools.count(1)


def next_sequence() -> int:
    """A global, monotonically increasing counter ordering backward/reset/consume/step."""
    return next(_sequence)


class _GradBook:
    """When (sequence number) and where (program line) a leaf's grad was last touched."""

    __slots__ = ("backward_seq", "backward_line", "reset_seq", "reset_line",
                 "consumed_seq", "consumed_line", "stale")

    def __init__(self):
        self.backward_seq = self.reset_seq = self.consumed_seq = 0
        self.backward_line = self.reset_line = self.consumed_line = 0
        # (backward call id, file, line, consumed line) when a backward added into a grad
        # already consumed and not reset since; reported if that grad is consumed again
        self.stale = None


_reported_backward_calls: set[int] = set()


def note_optimizer_step(params, previous_step_seq: int = 0) -> int:
    """Bookkeeping for `Optimizer.step()`; call it first thing in step(), before any update.

    `params`: every parameter the optimizer holds. `previous_step_seq`: the value this
    function returned at the optimizer's previous step (0 the first time); store it on the
    optimizer. It records `step-after-reset` (once, at the step line) for params that got a
    backward since the previous step but whose grad was reset after that backward, and marks
    the grads it is about to use as consumed (for `grad-accumulated`). Returns the sequence
    number to pass next time.
    """
    reset_lines = []
    for param in params:
        book = param._grad_book
        if book is None:
            continue
        if book.backward_seq > previous_step_seq and book.reset_seq > book.backward_seq:
            reset_lines.append(book.reset_line)
    if reset_lines:
        events.record("step-after-reset",
                      "step() after the gradients were reset: it sees None/zero gradients",
                      related=reset_lines)
    for param in params:
        if param._grad is not None:
            param._note_grad_consumed()
    return next_sequence()


# -- version counters, nodes ---------------------------------------------------------------


# Program locations where a 0-dim tensor became a 0-d ndarray or a Python number
# (`loss.data.numpy()`, `loss.data.tolist()`): indexing that value on the same line crashes
# outside the runtime's reach (numpy / Python raise), so runtime/__main__.py records
# `zero-dim-index` when the program dies of exactly that error at such a line.
zero_dim_conversion_sites: set[tuple[str, int]] = set()


def note_zero_dim_conversion() -> None:
    zero_dim_conversion_sites.add(events.program_location())


class _VersionCounter:
    __slots__ = ("value",)

    def __init__(self):
        self.value = 0


_node_classes: dict[str, type] = {}


def _strip_backward(name: str) -> str:
    return re.sub(r"Backward\d*$", "", name)


class Node:
    """One recorded op. `type(node).__name__` is PyTorch's name (a subclass per name)."""

    _site = None  # set on add/sub/mul nodes, for history-across-iterations

    def __init__(self, backward, inputs, saved=()):
        self._backward = backward
        self.next_functions = tuple(_edge(t) for t in inputs)
        self._input_meta = tuple(
            (t._data.shape, t.dtype) if isinstance(t, Tensor) else None for t in inputs)
        self._saved = [(t, t._version_counter.value, False) for t in saved if t is not None]
        self._freed = False
        self._retained = []       # weak refs to non-leaf tensors that retain_grad()
        self._tensor_hooks = []   # register_hook on the non-leaf output
        self.metadata = {}

    def name(self) -> str:
        return type(self).__name__

    def __repr__(self):
        return f"<{type(self).__name__} object at {hex(id(self))}>"

    def register_hook(self, fn):
        raise RuntimeError("Node hooks are not supported by the varlint runtime")

    def _check_saved_versions(self):
        for tensor, saved_version, is_output in self._saved:
            now = tensor._version_counter.value
            if now != saved_version:
                if is_output:
                    origin = f", which is output 0 of {_strip_backward(self.name())},"
                elif tensor._grad_fn is not None:
                    origin = f", which is output 0 of {_strip_backward(tensor._grad_fn.name())},"
                else:
                    origin = ""
                shape = "[" + ", ".join(str(s) for s in tensor._data.shape) + "]"
                raise RuntimeError(M18.format(type=tensor.type(), shape=shape, origin=origin,
                                              now=now, saved=saved_version))

    def _release(self):
        self._backward = None
        self._saved = []
        self._freed = True


def node_class(name: str) -> type:
    cls = _node_classes.get(name)
    if cls is None:
        cls = _node_classes[name] = type(name, (Node,), {"__module__": "torch.autograd"})
    return cls


class AccumulateGrad:
    """The node that stands for a leaf: gradients reaching it are added into `.grad`."""

    next_functions = ()
    _site = None

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "torch::autograd::AccumulateGrad"

    def __repr__(self):
        return f"<AccumulateGrad object at {hex(id(self))}>"


def _edge(tensor):
    if not isinstance(tensor, Tensor) or not tensor._requires_grad:
        return (None, 0)
    if tensor._base is not None:
        tensor._refresh_view()
    if tensor._grad_fn is not None:
        return (tensor._grad_fn, 0)
    return (tensor._accumulate_grad_node(), 0)


def record_op(name, data, inputs, backward, saved=(), save_output=False, track_site=False):
    """Wrap `data` (a numpy value) as the result of op `name` and record it in the graph.

    inputs:   the op's operands in order; non-tensors (Python numbers) are allowed.
    backward: grad -> tuple of gradients, one per input (None where there is none). It is
              only called when some input requires grad. Broadcast gradients are fine: the
              engine sums them back to each input's shape and casts to its dtype.
    saved:    tensors the backward reads; modifying them in place afterwards makes the
              backward raise M18 (as PyTorch's saved variables do).
    save_output: the backward reads the result itself (exp, sigmoid, tanh, ...).
    track_site: for add/sub/mul: remember where the node was created, to detect an
              accumulator whose graph spans iterations (history.py).
    Returns a new Tensor; it requires grad iff grad mode is on, an input requires grad and
    the result is floating point.
    """
    result = Tensor._wrap(data)
    if not is_grad_enabled() or not result.dtype.is_floating_point:
        return result
    if not any(isinstance(t, Tensor) and t._requires_grad for t in inputs):
        return result
    node = node_class(name)(backward, inputs, saved)
    if save_output:
        node._saved.append((result, 0, True))
    if track_site:
        site = history.current_site()
        history.check_accumulator(site, inputs, name)
        node._site = site
    result._grad_fn = node
    result._requires_grad = True
    return result


# -- helpers ---------------------------------------------------------------------------


def _as_array(value, dtype=None):
    """numpy array for a Tensor or a Python/numpy number."""
    if isinstance(value, Tensor):
        array = value._data
        return array if dtype is None else array.astype(dtype.numpy, copy=False)
    return np.asarray(value, dtype=None if dtype is None else dtype.numpy)


def _normalize_array(array):
    array = np.asarray(array)
    if array.dtype in dtypes._BY_NUMPY:
        return array
    if array.dtype.kind in "iu":
        return array.astype(np.int64)
    if array.dtype.kind == "f":
        return array.astype(np.float64)
    if array.dtype.kind == "b":
        return array.astype(np.bool_)
    raise TypeError(f"unsupported numpy dtype {array.dtype}")


def _sum_to(grad, shape):
    """Sum a broadcast gradient back to `shape` (PyTorch's at::sum_to)."""
    shape = tuple(shape)
    if tuple(grad.shape) == shape:
        return grad
    lead = grad.dim() - len(shape)
    if lead > 0:
        grad = grad.sum(dim=tuple(range(lead)))
    dims = tuple(i for i, size in enumerate(shape) if size == 1 and grad.shape[i] != 1)
    if dims:
        grad = grad.sum(dim=dims, keepdim=True)
    if tuple(grad.shape) != shape:
        grad = grad.reshape(shape)
    return grad


def _dims_arg(dim, ndim):
    """Normalise a dim / tuple of dims to a sorted tuple of non-negative ints."""
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        d = int(d)
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                f"{max(ndim, 1) - 1}], but got {d})")
        out.append(d % max(ndim, 1))
    return tuple(sorted(out))


def _shape_arg(args):
    """Accept f(2, 3), f((2, 3)), f([2, 3]) and f(torch.Size([2, 3]))."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(operator.index(a) for a in args)


def _is_scalar(value):
    return isinstance(value, (int, float, bool, np.integer, np.floating, np.bool_))


class _Device:
    def __init__(self, type="cpu", index=None):
        if isinstance(type, _Device):
            type, index = type.type, type.index
        type = str(type)
        if ":" in type:
            type, index = type.split(":")[0], int(type.split(":")[1])
        self.type = type
        self.index = index

    def __repr__(self):
        index = "" if self.index is None else f", index={self.index}"
        return f"device(type='{self.type}'{index})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __eq__(self, other):
        if isinstance(other, str):
            other = _Device(other)
        return isinstance(other, _Device) and (self.type, self.index) == (other.type, other.index)

    def __hash__(self):
        return hash((self.type, self.index))


CPU = _Device("cpu")


def _check_device(device):
    if device is None:
        return
    kind = device.type if isinstance(device, _Device) else str(device).split(":")[0]
    if kind == "cuda":
        raise AssertionError(CUDA_MISSING)
    if kind != "cpu":
        raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {device}")


class _ReturnType(tuple):
    """torch.return_types.max / min: a (values, indices) pair with attribute access."""

    _name = "max"

    def __new__(cls, values, indices):
        return super().__new__(cls, (values, indices))

    values = property(lambda self: self[0])
    indices = property(lambda self: self[1])

    def __repr__(self):
        return f"torch.return_types.{self._name}(\nvalues={self[0]!r},\nindices={self[1]!r})"


class return_types_max(_ReturnType):  # noqa: N801
    _name = "max"


class return_types_min(_ReturnType):  # noqa: N801
    _name = "min"


class return_types_sort(_ReturnType):  # noqa: N801
    _name = "sort"


class return_types_topk(_ReturnType):  # noqa: N801
    _name = "topk"


class _RemovableHandle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


_m14_warned = [False]


# -- the Tensor class ------------------------------------------------------------------


class Tensor:
    """A numpy-backed tensor with PyTorch's autograd semantics.

    Calling the class is PyTorch's legacy constructor (`torch.Tensor(2, 3)` is a size,
    `torch.Tensor([1, 2])` is data); internal code builds tensors with `Tensor._wrap`.
    """

    __hash__ = object.__hash__
    __array_priority__ = 1000  # make numpy defer to our reflected operators
    _no_grad_view = False
    _view_version = 0

    # ---- construction

    def __new__(cls, *args, **kwargs):
        return legacy_new(dtypes.get_default_dtype(), args, kwargs, cls=cls)

    def __init__(self, *args, **kwargs):
        pass  # all the work happens in __new__ / _wrap (subclasses like Parameter rely on it)

    def _init_fields(self, data, requires_grad=False):
        self._data = data
        self._requires_grad = requires_grad
        self._grad = None
        self._grad_fn = None
        self._version_counter = _VersionCounter()
        self._base = None
        self._retains_grad = False
        self._accumulator = None
        self._hooks = []
        self._grad_owner = None  # weakref to the leaf whose .grad this is
        self._data_of = None     # the tensor whose `.data` this is
        self._grad_book = None
        self.name = None

    @classmethod
    def _wrap(cls, data, requires_grad=False):
        """A new leaf tensor on `data` (a numpy array, kept as is: storage is shared)."""
        tensor = object.__new__(Tensor if cls is Tensor else cls)
        tensor._init_fields(_normalize_array(data), requires_grad)
        return tensor

    @staticmethod
    def _make_subclass(cls, data, require_grad=False):
        """torch.Tensor._make_subclass: an instance of `cls` sharing `data`'s storage."""
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {_type_name(data)}")
        tensor = object.__new__(cls)
        tensor._init_fields(data._data, False)
        tensor._version_counter = data._version_counter
        if require_grad:
            if not tensor.dtype.is_floating_point:
                raise RuntimeError(M5A)
            tensor._requires_grad = True
        return tensor

    def _view_of(self, data):
        """A tensor sharing this one's version counter (views, detach)."""
        view = Tensor._wrap(data)
        view._version_counter = self._version_counter
        return view

    # ---- basic properties

    @property
    def dtype(self) -> _DType:
        return dtypes.from_numpy_dtype(self._data.dtype)

    @property
    def shape(self) -> Size:
        return Size(self._data.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[_dims_arg(dim, self.dim())[0]]

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.itemsize

    @property
    def device(self):
        return CPU

    is_cuda = False
    is_sparse = False
    is_quantized = False
    is_meta = False
    is_nested = False
    is_mps = False
    layout = "torch.strided"

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_contiguous(self, memory_format=None) -> bool:
        return bool(self._data.flags["C_CONTIGUOUS"])

    def data_ptr(self) -> int:
        return int(self._data.__array_interface__["data"][0])

    def stride(self, dim=None):
        strides = tuple(s // self._data.itemsize for s in self._data.strides)
        return strides if dim is None else strides[dim]

    def storage_offset(self) -> int:
        return 0

    @property
    def _version(self) -> int:
        return self._version_counter.value

    @property
    def is_leaf(self) -> bool:
        return self._grad_fn is None

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value):
        value = bool(value)
        if self._grad_fn is not None:
            raise RuntimeError(M37 if value else M38)
        if value and not self.dtype.is_floating_point:
            raise RuntimeError(M5B)
        self._requires_grad = value

    def requires_grad_(self, requires_grad=True):
        requires_grad = bool(requires_grad)
        if self._grad_fn is not None:
            if not requires_grad:
                raise RuntimeError(M38)
            return self
        if requires_grad and not self.dtype.is_floating_point:
            raise RuntimeError(M5C)
        self._requires_grad = requires_grad
        return self

    @property
    def grad_fn(self):
        if self._base is not None:
            self._refresh_view()
        if not self._requires_grad and _called_from_program():
            events.record("grad-fn-none", "grad_fn of a tensor that does not require grad is None")
        return self._grad_fn

    @property
    def grad(self):
        if self._grad is None and _called_from_program():
            if self._grad_fn is None and not self._requires_grad:
                events.record("grad-never-populated",
                              ".grad of a leaf that does not require grad is always None")
            elif self._grad_fn is not None and not self._retains_grad:
                events.record("grad-of-non-leaf", ".grad of a non-leaf tensor is None")
                events.warn(M29, UserWarning)
        return self._grad

    @grad.setter
    def grad(self, value):
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {_type_name(value)}")
            if value._data.shape != self._data.shape:
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value._data.shape)}' to a "
                    f"tensor of size '{list(self._data.shape)}'. Please ensure that the gradient "
                    "and the tensor are the same size")
            if value.dtype is not self.dtype:
                raise RuntimeError(
                    f"attempting to assign a gradient with dtype '{_OPTIONS_NAME[value.dtype]}' "
                    f"to a tensor with grad_dtype '{_C10_NAME[self.dtype]}'. The gradient must "
                    "match the tensor's grad_dtype (defaults to the tensor's dtype). You can set "
                    "the tensor's grad_dtype attribute with a specific dtype, or None to allow any "
                    "dtype. Set grad_dtype with caution. Diverging the dtypes of a tensor and its "
                    "gradient may break downstream systems that assume they match.")
            value._grad_owner = weakref.ref(self)
        self._grad = value
        self._note_grad_reset()

    @grad.deleter
    def grad(self):
        self._grad = None
        self._note_grad_reset()

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad

    def retain_grad(self):
        if not self._requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self._grad_fn is None or self._retains_grad:
            return None
        self._retains_grad = True
        self._grad_fn._retained.append(weakref.ref(self))
        return None

    @property
    def data(self):
        data = Tensor._wrap(self._data)
        data._data_of = self
        return data

    @data.setter
    def data(self, value):
        if not isinstance(value, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {_type_name(value)}")
        if self._requires_grad and not value.dtype.is_floating_point:
            raise RuntimeError("data set to a tensor that requires gradients must be floating "
                               "point or complex dtype")
        self._note_inplace_update()
        self._data = value._data

    @property
    def volatile(self):
        events.record("volatile", "read of tensor.volatile (always False)")
        events.warn("volatile was removed (Variable.volatile is always False)", UserWarning)
        return False

    @volatile.setter
    def volatile(self, value):
        events.record("volatile", "write of tensor.volatile (no effect)")
        events.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                    "instead.", UserWarning)

    def detach(self):
        detached = self._view_of(self._data)
        return detached

    def detach_(self):
        if self._base is not None and self._grad_fn is not None:
            raise RuntimeError("Can't detach views in-place. Use detach() instead.")
        self._grad_fn = None
        self._requires_grad = False
        return self

    def register_hook(self, hook):
        if not self._requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        hooks = self._hooks if self._grad_fn is None else self._grad_fn._tensor_hooks
        hooks.append(hook)
        return _RemovableHandle(hooks, hook)

    # ---- gradient bookkeeping (events), see the module docstring

    def _book(self) -> _GradBook:
        if self._grad_book is None:
            self._grad_book = _GradBook()
        return self._grad_book

    def _note_grad_consumed(self):
        """The optimizer (or an in-place update) used this leaf's current grad.

        If that grad holds an accumulation over an earlier consumption (see
        `_after_backward_bookkeeping`), this is where the accumulation does harm: record
        `grad-accumulated` at the backward that accumulated (once per backward call)."""
        book = self._book()
        line = events.program_line()
        if book.stale is not None:
            call_id, file, backward_line, earlier_consumption = book.stale
            book.stale = None
            if call_id not in _reported_backward_calls:
                _reported_backward_calls.add(call_id)
                events.record_at(
                    "grad-accumulated", file, backward_line,
                    "backward adds into gradients already used by a step: they accumulate",
                    related=(earlier_consumption, line))
        book.consumed_seq = next_sequence()
        book.consumed_line = line

    def _note_grad_reset(self):
        """The leaf's grad was set to None/zeros/a new tensor."""
        book = self._book()
        book.reset_seq = next_sequence()
        book.reset_line = events.program_line()
        book.stale = None

    def _note_backward(self):
        book = self._book()
        book.backward_seq = next_sequence()
        book.backward_line = events.program_line()

    def _grad_owner_leaf(self):
        """The leaf whose current .grad this tensor is (directly or through `.data`)."""
        for candidate in (self, self._data_of):
            if candidate is not None and candidate._grad_owner is not None:
                owner = candidate._grad_owner()
                if owner is not None and owner._grad is candidate:
                    return owner
        return None

    def _note_inplace_update(self):
        """An in-place write to this tensor: a reset if it is a grad, a consumption if it is
        a leaf (or `.data` of a leaf) holding a grad."""
        target = self._data_of if self._data_of is not None else self
        if target._grad is not None and target._grad_fn is None:
            target._note_grad_consumed()

    # ---- conversions to Python / numpy

    def item(self):
        if self._data.size != 1:
            raise RuntimeError(f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        return self._data.reshape(-1)[0].item()

    def tolist(self):
        if self._data.ndim == 0:
            note_zero_dim_conversion()
        return self._data.tolist()

    def numpy(self, force=False):
        if self._requires_grad and not force:
            raise RuntimeError(M15)
        if self._data.ndim == 0:
            note_zero_dim_conversion()
        return self._data

    def __array__(self, dtype=None):  # same signature as PyTorch's (numpy 2 then warns M50)
        if self._requires_grad:
            raise RuntimeError(M15)
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def __array_wrap__(self, array):  # PyTorch's signature (numpy 2 warns about it, as there)
        if array.dtype == bool:
            array = array.astype("uint8")
        return Tensor._wrap(array)

    def _scalar_check(self, what="Python scalars"):
        if self._data.size != 1:
            raise ValueError("only one element tensors can be converted to Python scalars")

    def __float__(self):
        self._scalar_check()
        if self._requires_grad and not _m14_warned[0]:
            _m14_warned[0] = True
            events.warn(M14, UserWarning)
        return float(self._data.reshape(-1)[0])

    def __int__(self):
        self._scalar_check()
        return int(self._data.reshape(-1)[0])

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._data.reshape(-1)[0])

    def __index__(self):
        if self._data.size != 1 or self.dtype.is_floating_point:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self._data.reshape(-1)[0])

    def __complex__(self):
        self._scalar_check()
        return complex(self._data.reshape(-1)[0])

    def __format__(self, spec):
        if self.dim() == 0 and type(self) is Tensor:
            return self.item().__format__(spec)
        if spec:
            raise TypeError("unsupported format string passed to Tensor.__format__")
        return str(self)

    def __len__(self):
        if self.dim() == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        if self.dim() == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __repr__(self, *, tensor_contents=None):
        from .printing import tensor_repr

        return tensor_repr(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if self._grad_fn is not None:
            raise RuntimeError("Only Tensors created explicitly by the user (graph leaves) "
                               "support the deepcopy protocol at the moment.  If you were "
                               "attempting to deepcopy a module, this may be because of a "
                               "torch.nn.utils.weight_norm usage, see "
                               "https://github.com/pytorch/pytorch/pull/103001")
        copy = object.__new__(type(self))
        copy.__dict__.update({k: v for k, v in self.__dict__.items()})
        copy._data = self._data.copy()
        copy._version_counter = _VersionCounter()
        copy._grad = None if self._grad is None else self._grad.__deepcopy__(memo)
        copy._accumulator = None
        copy._hooks = []
        copy._grad_book = None
        copy._base = None
        copy._data_of = None
        memo[id(self)] = copy
        return copy

    def __reduce_ex__(self, protocol):
        return (_rebuild, (type(self), self._data.copy(), self._requires_grad))

    # ---- dtype / device conversions

    def type(self, dtype=None, non_blocking=False, **kwargs):
        if dtype is None:
            return self.dtype.legacy_type
        if isinstance(dtype, str):
            if dtype.startswith("torch.cuda."):
                raise RuntimeError(_M35)
            target = _LEGACY_TYPE_NAMES.get(dtype)
            if target is None:
                raise ValueError(f"invalid type: '{dtype}'")
        elif isinstance(dtype, _DType):
            target = dtype
        else:
            if getattr(dtype, "is_cuda", False):
                raise RuntimeError(_M35)
            target = getattr(dtype, "dtype", None)
            if target is None:
                raise ValueError(f"invalid type: '{dtype}'")
        return self.to(target)

    def to(self, *args, **kwargs):
        target_dtype = kwargs.pop("dtype", None)
        device = kwargs.pop("device", None)
        copy = kwargs.pop("copy", False)
        kwargs.pop("non_blocking", None)
        kwargs.pop("memory_format", None)
        for arg in args:
            if isinstance(arg, _DType):
                target_dtype = arg
            elif isinstance(arg, Tensor):
                target_dtype = arg.dtype
            elif isinstance(arg, (str, _Device)):
                device = arg
        _check_device(device)
        if target_dtype is None or target_dtype is self.dtype:
            return self.clone() if copy else self
        return self._to_dtype(target_dtype)

    def _to_dtype(self, target):
        source = self

        def backward(grad):
            return (grad.to(source.dtype),)

        return record_op("ToCopyBackward0", self._data.astype(target.numpy), (self,), backward)

    def float(self):
        return self.to(dtypes.float32)

    def double(self):
        return self.to(dtypes.float64)

    def half(self):
        return self.to(dtypes.float16)

    def long(self):
        return self.to(dtypes.int64)

    def int(self):
        return self.to(dtypes.int32)

    def short(self):
        return self.to(dtypes.int16)

    def char(self):
        return self.to(dtypes.int8)

    def byte(self):
        return self.to(dtypes.uint8)

    def bool(self):
        return self.to(dtypes.bool_)

    def type_as(self, other):
        return self.to(other.dtype)

    def cpu(self, *args, **kwargs):
        return self

    def cuda(self, *args, **kwargs):
        raise AssertionError(CUDA_MISSING)

    def pin_memory(self):
        return self

    def share_memory_(self):
        return self

    # ---- constructors from an existing tensor

    def new(self, *args, **kwargs):
        return legacy_new(self.dtype, args, kwargs)

    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        from .torch_facade import tensor as make_tensor

        return make_tensor(data, dtype=dtype or self.dtype, requires_grad=requires_grad)

    def _new_filled(self, size, value, dtype, requires_grad):
        target = dtype or self.dtype
        result = Tensor._wrap(np.full(_shape_arg(size), value, dtype=target.numpy))
        if requires_grad:
            result.requires_grad_()
        return result

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(size, 1, dtype, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self._new_filled(size, 0, dtype, requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        return self._new_filled((size,), fill_value, dtype, requires_grad)

    def clone(self, memory_format=None):
        return record_op("CloneBackward0", self._data.copy(), (self,), lambda g: (g,))

    def contiguous(self, memory_format=None):
        if self.is_contiguous():
            return self
        return self.clone()

    # ---- in-place machinery

    def _check_inplace(self):
        """M16/M17: in-place ops on (views of) leaves that require grad, in grad mode."""
        if not is_grad_enabled():
            return
        if self._grad_fn is None and self._requires_grad:
            raise RuntimeError(M16)
        base = self._base
        if base is not None and base._grad_fn is None and base._requires_grad:
            raise RuntimeError(M17)

    def _shadow(self):
        """A stand-in for this tensor's value before an in-place op: same graph position,
        private copy of the data (so saved values stay those the op saw)."""
        shadow = Tensor._wrap(self._data.copy())
        shadow._requires_grad = self._requires_grad
        shadow._grad_fn = self._grad_fn
        return shadow

    def _inplace(self, compute, *others, check=True):
        """Run `compute(self_value, *others)` out of place, then write the result into self.

        Records the op in place of self's history when grad is being recorded (self becomes
        a non-leaf with the op's grad_fn), bumps the version counter and notes the event
        bookkeeping (grad reset / grad consumed)."""
        if check:
            self._check_inplace()
        recording = is_grad_enabled() and (
            self._requires_grad or any(isinstance(o, Tensor) and o._requires_grad for o in others))
        if recording and self._base is not None:
            return self._inplace_on_view(compute, others)
        result = compute(self._shadow() if recording else self, *others)
        return self._commit(result)

    def _inplace_on_view(self, compute, others):
        """An in-place op on a view of a non-leaf rewrites the base's history (PyTorch's
        CopySlices): base_new = base_old with the view's elements replaced by op(view_old)."""
        base = self._base
        positions = _view_positions(self._data, base._data)  # flat (C-order) indices into base
        base_old = base._shadow()
        view_shape = self._data.shape
        view_old = record_op(
            "AsStridedBackward0", base_old._data.reshape(-1)[positions], (base_old,),
            lambda g: (_flat_scatter(g, base_old._data.shape, positions),))
        view_new = compute(view_old, *others)
        if not isinstance(view_new, Tensor):
            view_new = Tensor._wrap(np.asarray(view_new))
        values = np.broadcast_to(view_new._data, view_shape).astype(base._data.dtype)
        data = base_old._data.copy()
        data.reshape(-1)[positions.reshape(-1)] = values.reshape(-1)
        keep = np.ones(base._data.size, dtype=bool)
        keep[positions.reshape(-1)] = False
        keep_tensor = Tensor._wrap(keep.reshape(base._data.shape))
        base_new = record_op(
            "CopySlices", data, (base_old, view_new),
            lambda g: (g * keep_tensor, Tensor._wrap(g._data.reshape(-1)[positions]) if not is_grad_enabled()
                       else _flat_gather(g, positions)))
        base._commit(base_new)  # writes through to this view (shared storage), bumps the version
        regathered = record_op("AsStridedBackward0", base._data.reshape(-1)[positions], (base,),
                               lambda g: (_flat_scatter(g, base._data.shape, positions),))
        self._grad_fn = regathered._grad_fn
        self._requires_grad = regathered._requires_grad
        self._view_version = self._version_counter.value
        return self

    def _commit(self, result):
        if not isinstance(result, Tensor):
            result = Tensor._wrap(np.asarray(result))
        if result._data.shape != self._data.shape:
            try:
                values = np.broadcast_to(result._data, self._data.shape)
            except ValueError:
                raise RuntimeError(
                    f"output with shape {list(self._data.shape)} doesn't match the broadcast "
                    f"shape {list(result._data.shape)}") from None
        else:
            values = result._data
        if result.dtype.is_floating_point and not self.dtype.is_floating_point:
            raise RuntimeError(f"result type {_C10_NAME[result.dtype]} can't be cast to the "
                               f"desired output type {_C10_NAME[self.dtype]}")
        self._note_inplace_update()
        np.copyto(self._data, values, casting="unsafe")
        self._version_counter.value += 1
        node = result._grad_fn
        if node is not None:
            if self._retains_grad:
                node._retained.append(weakref.ref(self))
            self._grad_fn = node
            self._requires_grad = True
            node._saved = [(self, self._version_counter.value, True) if t is result else (t, v, o)
                           for t, v, o in node._saved]
        return self

    def _note_reset_if_grad(self, is_reset: bool):
        if is_reset:
            owner = self._grad_owner_leaf()
            if owner is not None:
                owner._note_grad_reset()

    def zero_(self):
        self._note_reset_if_grad(True)
        return self._inplace(lambda t: record_op("ZeroBackward0", np.zeros_like(t._data), (t,),
                                                 lambda g: (None,)))

    def fill_(self, value):
        value_array = _as_array(value)
        self._note_reset_if_grad(bool(np.all(value_array == 0)))

        def compute(t, v):
            filled = np.full_like(t._data, value_array)
            return record_op("FillBackward0" if not isinstance(v, Tensor) else "FillBackward1",
                             filled, (t, v), lambda g: (None, g.sum() if isinstance(v, Tensor) else None))

        return self._inplace(compute, value)

    def copy_(self, src, non_blocking=False):
        def compute(t, s):
            values = np.broadcast_to(_as_array(s), t._data.shape).astype(t._data.dtype)
            return record_op("CopyBackwards", values.copy(), (t, s), lambda g: (None, g))

        return self._inplace(compute, src)

    def resize_(self, *sizes):
        if self._requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        shape = _shape_arg(sizes)
        flat = self._data.reshape(-1)
        count = int(np.prod(shape)) if shape else 1
        new = np.zeros(count, dtype=self._data.dtype)
        new[: min(count, flat.size)] = flat[: min(count, flat.size)]
        self._data = new.reshape(shape)
        return self

    def set_(self, source):
        self._data = source._data
        return self

    # ---- arithmetic

    def _binary(self, other, name, forward, backward, saved=None, reverse=False, track_site=False):
        """An elementwise op on self and other (Tensor or number), PyTorch's promotion."""
        if not isinstance(other, Tensor) and not _is_scalar(other):
            if isinstance(other, (list, tuple, np.ndarray)):
                other = Tensor._wrap(np.asarray(other))
            else:
                return NotImplemented
        left, right = (other, self) if reverse else (self, other)
        result_dtype = dtypes.result_type(left, right)
        a = _as_array(left, result_dtype)
        b = _as_array(right, result_dtype)
        with np.errstate(all="ignore"):
            value = forward(a, b)
        saved_tensors = saved(left, right) if saved else ()
        return record_op(name, value, (left, right), lambda g: backward(g, left, right),
                         saved=saved_tensors, track_site=track_site)

    def add(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self._binary(other, "AddBackward0", np.add, lambda g, a, b: (g, g), track_site=True)

    def sub(self, other, alpha=1):
        if alpha != 1:
            other = other * alpha
        return self._binary(other, "SubBackward0", np.subtract, lambda g, a, b: (g, -g),
                            track_site=True)

    def mul(self, other):
        return self._binary(
            other, "MulBackward0", np.multiply,
            lambda g, a, b: (g * b if _needs(a) else None, g * a if _needs(b) else None),
            saved=lambda a, b: (_if_tensor(b) if _needs(a) else None, _if_tensor(a) if _needs(b) else None),
            track_site=True)

    def div(self, other, rounding_mode=None):
        if rounding_mode is not None:
            return self._rounded_div(other, rounding_mode)
        promoted = dtypes.result_type(self, other)
        if not promoted.is_floating_point:  # true division of integers gives floats
            return self.to(dtypes.get_default_dtype()).div(
                other.to(dtypes.get_default_dtype()) if isinstance(other, Tensor) else float(other))
        return self._binary(
            other, "DivBackward0", np.divide,
            lambda g, a, b: (g / b if _needs(a) else None, -g * a / (b * b) if _needs(b) else None),
            saved=lambda a, b: (_if_tensor(b), _if_tensor(a) if _needs(b) else None))

    def _rounded_div(self, other, mode):
        function = np.floor_divide if mode == "floor" else (lambda x, y: np.trunc(x / y))
        result = self._binary(other, "DivBackward1", function, lambda g, a, b: (g * 0, None))
        return result

    true_divide = divide = div
    multiply = mul
    subtract = sub

    def floor_divide(self, other):
        return self._rounded_div(other, "floor")

    def remainder(self, other):
        return self._binary(other, "RemainderBackward0", np.mod, lambda g, a, b: (g, None))

    fmod = remainder

    def pow(self, exponent):
        if isinstance(exponent, Tensor):
            return self._binary(
                exponent, "PowBackward1", np.power,
                lambda g, a, b: (where(b == 0, 0.0, g * b * a ** (b - 1)) if _needs(a) else None,
                                 where((a == 0) & (b >= 0), 0.0, g * (a ** b) * a.log())
                                 if _needs(b) else None),
                saved=lambda a, b: (a, b))
        base = self

        def backward(grad):
            if exponent == 0:
                return (grad * 0,)
            return (grad * exponent * base ** (exponent - 1),)

        result_dtype = dtypes.result_type(self, exponent)
        with np.errstate(all="ignore"):
            value = np.power(_as_array(self, result_dtype), _as_array(exponent, result_dtype))
        return record_op("PowBackward0", value, (self,), backward, saved=(self,))

    def __rpow__(self, base):
        if not _is_scalar(base):
            return NotImplemented
        result_dtype = dtypes.result_type(base, self)
        exponent = self
        with np.errstate(all="ignore"):
            value = np.power(_as_array(base, result_dtype), _as_array(self, result_dtype))

        def backward(grad):
            with np.errstate(all="ignore"):
                log_base = float(np.log(np.float64(base)))
            product = grad * result_holder[0] * log_base
            return (where(exponent >= 0, 0.0, product) if base == 0 else product,)

        result_holder = []
        result = record_op("PowBackward2", value, (exponent,), backward, save_output=True)
        result_holder.append(result)
        return result

    def neg(self):
        return record_op("NegBackward0", -self._data, (self,), lambda g: (-g,))

    negative = neg

    def __neg__(self):
        return self.neg()

    def __pos__(self):
        return self

    def __abs__(self):
        return self.abs()

    __add__ = add
    __sub__ = sub
    __mul__ = mul
    __truediv__ = div
    __pow__ = pow
    __floordiv__ = floor_divide
    __mod__ = remainder

    def __radd__(self, other):
        return self._binary(other, "AddBackward0", np.add, lambda g, a, b: (g, g),
                            reverse=True, track_site=True)

    def __rmul__(self, other):
        return self._binary(
            other, "MulBackward0", np.multiply,
            lambda g, a, b: (g * b if _needs(a) else None, g * a if _needs(b) else None),
            saved=lambda a, b: (None, _if_tensor(a)), reverse=True, track_site=True)

    def __rsub__(self, other):
        if not _is_scalar(other):
            return NotImplemented
        return self._binary(other, "RsubBackward1", np.subtract, lambda g, a, b: (None, -g),
                            reverse=True)

    def __rtruediv__(self, other):
        if not _is_scalar(other):
            return NotImplemented
        return self.reciprocal() * other  # what PyTorch records: MulBackward0 over Reciprocal

    def __rfloordiv__(self, other):
        return self._binary(other, "DivBackward1", np.floor_divide, lambda g, a, b: (None, g * 0),
                            reverse=True)

    def __rmod__(self, other):
        return self._binary(other, "RemainderBackward1", np.mod, lambda g, a, b: (None, g * 0),
                            reverse=True)

    def __matmul__(self, other):
        if not isinstance(other, Tensor):
            return NotImplemented
        return self.matmul(other)

    def __rmatmul__(self, other):
        return NotImplemented

    # in-place arithmetic: the same ops, written into self
    def add_(self, other, alpha=1):
        return self._inplace(lambda t, o: t.add(o, alpha=alpha), other)

    def sub_(self, other, alpha=1):
        return self._inplace(lambda t, o: t.sub(o, alpha=alpha), other)

    def mul_(self, other):
        if not isinstance(other, Tensor) and other == 0:
            self._note_reset_if_grad(True)
        return self._inplace(lambda t, o: t.mul(o), other)

    def div_(self, other, rounding_mode=None):
        return self._inplace(lambda t, o: t.div(o, rounding_mode=rounding_mode), other)

    def pow_(self, exponent):
        return self._inplace(lambda t, e: t.pow(e), exponent)

    def neg_(self):
        return self._inplace(lambda t: t.neg())

    def addcmul_(self, tensor1, tensor2, value=1):
        return self._inplace(lambda t, a, b: t + value * a * b, tensor1, tensor2)

    def addcdiv_(self, tensor1, tensor2, value=1):
        return self._inplace(lambda t, a, b: t + value * a / b, tensor1, tensor2)

    def addcmul(self, tensor1, tensor2, value=1):
        return self + value * tensor1 * tensor2

    def addcdiv(self, tensor1, tensor2, value=1):
        return self + value * tensor1 / tensor2

    def lerp_(self, end, weight):
        return self._inplace(lambda t, e: t + weight * (e - t), end)

    def __iadd__(self, other):
        if not isinstance(other, Tensor) and not _is_scalar(other):
            return NotImplemented
        return self._inplace(lambda t, o: t.add(o), other)

    def __isub__(self, other):
        if not isinstance(other, Tensor) and not _is_scalar(other):
            return NotImplemented
        return self._inplace(lambda t, o: t.sub(o), other)

    def __imul__(self, other):
        if not isinstance(other, Tensor) and not _is_scalar(other):
            return NotImplemented
        return self.mul_(other)

    def __itruediv__(self, other):
        if not isinstance(other, Tensor) and not _is_scalar(other):
            return NotImplemented
        return self.div_(other)

    # ---- comparisons and logic (no gradients)

    def _compare(self, other, function):
        if other is None:
            return NotImplemented if function in (np.equal, np.not_equal) else _raise_compare(other)
        if not isinstance(other, Tensor) and not _is_scalar(other):
            if isinstance(other, (list, tuple, np.ndarray)):
                other = Tensor._wrap(np.asarray(other))
            else:
                return NotImplemented
        result_dtype = dtypes.result_type(self, other)
        return Tensor._wrap(function(_as_array(self, result_dtype), _as_array(other, result_dtype)))

    def eq(self, other):
        return self._compare(other, np.equal)

    def ne(self, other):
        return self._compare(other, np.not_equal)

    def lt(self, other):
        return self._compare(other, np.less)

    def le(self, other):
        return self._compare(other, np.less_equal)

    def gt(self, other):
        return self._compare(other, np.greater)

    def ge(self, other):
        return self._compare(other, np.greater_equal)

    __eq__ = eq
    __ne__ = ne
    __lt__ = lt
    __le__ = le
    __gt__ = gt
    __ge__ = ge
    greater, less, greater_equal, less_equal, not_equal = gt, lt, ge, le, ne

    def equal(self, other) -> bool:
        return self._data.shape == other._data.shape and bool(np.array_equal(self._data, other._data))

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        return bool(np.allclose(self._data, _as_array(other), rtol=rtol, atol=atol, equal_nan=equal_nan))

    def isnan(self):
        return Tensor._wrap(np.isnan(self._data))

    def isinf(self):
        return Tensor._wrap(np.isinf(self._data))

    def isfinite(self):
        return Tensor._wrap(np.isfinite(self._data))

    def _logical(self, other, function):
        other_array = _as_array(other)
        if self.dtype is dtypes.bool_ and other_array.dtype == np.bool_:
            return Tensor._wrap(function(self._data, other_array))
        return Tensor._wrap(function(self._data, other_array.astype(self._data.dtype)))

    def __and__(self, other):
        return self._logical(other, np.bitwise_and)

    def __or__(self, other):
        return self._logical(other, np.bitwise_or)

    def __xor__(self, other):
        return self._logical(other, np.bitwise_xor)

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __invert__(self):
        if self.dtype.is_floating_point:
            raise TypeError("~ (operator.invert) is only implemented on integer and Boolean-type tensors")
        return Tensor._wrap(np.invert(self._data))

    def logical_not(self):
        return Tensor._wrap(np.logical_not(self._data))

    def logical_and(self, other):
        return Tensor._wrap(np.logical_and(self._data, _as_array(other)))

    def logical_or(self, other):
        return Tensor._wrap(np.logical_or(self._data, _as_array(other)))

    def any(self, dim=None, keepdim=False):
        return Tensor._wrap(np.any(self._data, axis=dim, keepdims=keepdim))

    def all(self, dim=None, keepdim=False):
        return Tensor._wrap(np.all(self._data, axis=dim, keepdims=keepdim))

    def nonzero(self, as_tuple=False):
        if as_tuple:
            return tuple(Tensor._wrap(i.astype(np.int64)) for i in np.nonzero(self._data))
        return Tensor._wrap(np.argwhere(self._data).astype(np.int64))

    def sign(self):
        return record_op("SignBackward0", np.sign(self._data), (self,), lambda g: (g * 0,))

    # ---- elementwise math

    def _unary(self, name, forward, backward, save_input=False, save_output=False):
        data = self._data if self.dtype.is_floating_point else self._data.astype(
            dtypes.get_default_dtype().numpy)
        with np.errstate(all="ignore"):
            value = forward(data)
        holder = []
        result = record_op(name, value, (self,), lambda g: (backward(g, self, holder[0]),),
                           saved=(self,) if save_input else (), save_output=save_output)
        holder.append(result)
        return result

    def exp(self):
        return self._unary("ExpBackward0", np.exp, lambda g, x, y: g * y, save_output=True)

    def log(self):
        return self._unary("LogBackward0", np.log, lambda g, x, y: g / x, save_input=True)

    def log1p(self):
        return self._unary("Log1PBackward0", np.log1p, lambda g, x, y: g / (x + 1), save_input=True)

    def log2(self):
        return self._unary("Log2Backward0", np.log2, lambda g, x, y: g / (x * math.log(2)), save_input=True)

    def log10(self):
        return self._unary("Log10Backward0", np.log10, lambda g, x, y: g / (x * math.log(10)), save_input=True)

    def sqrt(self):
        return self._unary("SqrtBackward0", np.sqrt, lambda g, x, y: g / (2 * y), save_output=True)

    def rsqrt(self):
        return self._unary("RsqrtBackward0", lambda a: 1 / np.sqrt(a),
                           lambda g, x, y: -0.5 * g * y ** 3, save_output=True)

    def reciprocal(self):
        return self._unary("ReciprocalBackward0", lambda a: 1 / a, lambda g, x, y: -g * y * y,
                           save_output=True)

    def abs(self):
        if not self.dtype.is_floating_point:
            return Tensor._wrap(np.abs(self._data))
        return self._unary("AbsBackward0", np.abs, lambda g, x, y: g * x.sign(), save_input=True)

    absolute = abs

    def sin(self):
        return self._unary("SinBackward0", np.sin, lambda g, x, y: g * x.cos(), save_input=True)

    def cos(self):
        return self._unary("CosBackward0", np.cos, lambda g, x, y: -g * x.sin(), save_input=True)

    def relu(self):
        if not self.dtype.is_floating_point:
            return Tensor._wrap(np.maximum(self._data, 0))
        return self._unary("ReluBackward0", lambda a: np.maximum(a, 0).astype(a.dtype),
                           lambda g, x, y: g * (y > 0), save_output=True)

    def sigmoid(self):
        return self._unary("SigmoidBackward0", lambda a: (1 / (1 + np.exp(-a))).astype(a.dtype),
                           lambda g, x, y: g * y * (1 - y), save_output=True)

    def tanh(self):
        return self._unary("TanhBackward0", np.tanh, lambda g, x, y: g * _one_minus_square(y),
                           save_output=True)

    def square(self):
        return self.pow(2)

    def floor(self):
        return self._rounding(np.floor, "FloorBackward0")

    def ceil(self):
        return self._rounding(np.ceil, "CeilBackward0")

    def round(self, decimals=0):
        return self._rounding(lambda a: np.round(a, decimals), "RoundBackward0")

    def trunc(self):
        return self._rounding(np.trunc, "TruncBackward0")

    def _rounding(self, function, name):
        if not self.dtype.is_floating_point:
            return Tensor._wrap(self._data.copy())
        return record_op(name, function(self._data), (self,), lambda g: (g * 0,))

    def clamp(self, min=None, max=None):
        if min is None and max is None:
            raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
        low = -np.inf if min is None else _as_array(min)
        high = np.inf if max is None else _as_array(max)
        source = self
        value = np.clip(self._data, low, high).astype(self._data.dtype)

        def backward(grad):
            inside = (source._data >= low) & (source._data <= high)
            return (grad * Tensor._wrap(inside),)

        if isinstance(min, Tensor) or isinstance(max, Tensor):
            name = "ClampBackward0"
        else:
            name = "ClampBackward1"
        return record_op(name, value, (self,), backward, saved=(self,))

    clip = clamp

    def clamp_min(self, min):
        return self.clamp(min=min)

    def clamp_max(self, max):
        return self.clamp(max=max)

    def clamp_(self, min=None, max=None):
        return self._inplace(lambda t: t.clamp(min, max))

    clip_ = clamp_

    def exp_(self):
        return self._inplace(lambda t: t.exp())

    def log_(self):
        return self._inplace(lambda t: t.log())

    def sqrt_(self):
        return self._inplace(lambda t: t.sqrt())

    def abs_(self):
        return self._inplace(lambda t: t.abs())

    def relu_(self):
        return self._inplace(lambda t: t.relu())

    def sigmoid_(self):
        return self._inplace(lambda t: t.sigmoid())

    def tanh_(self):
        return self._inplace(lambda t: t.tanh())

    def sign_(self):
        return self._inplace(lambda t: t.sign())

    def masked_fill(self, mask, value):
        mask_array = _as_array(mask).astype(bool)
        fill = _as_array(value)
        data = np.where(mask_array, fill, self._data).astype(self._data.dtype)
        keep = Tensor._wrap(~mask_array)
        return record_op("MaskedFillBackward0", data, (self,), lambda g: (g * keep,))

    def masked_fill_(self, mask, value):
        return self._inplace(lambda t: t.masked_fill(mask, value))

    def where(self, condition, other):
        return where(condition, self, other)

    def lerp(self, end, weight):
        return self + weight * (end - self)

    def softmax(self, dim, dtype=None):
        source = self if dtype is None else self.to(dtype)
        axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
        shifted = source._data - np.max(source._data, axis=axis, keepdims=True)
        exps = np.exp(shifted)
        value = exps / np.sum(exps, axis=axis, keepdims=True)
        holder = []

        def backward(grad):
            y = holder[0]
            return (y * (grad - (grad * y).sum(dim, keepdim=True)),)

        result = record_op("SoftmaxBackward0", value, (source,), backward, save_output=True)
        holder.append(result)
        return result

    def log_softmax(self, dim, dtype=None):
        source = self if dtype is None else self.to(dtype)
        axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
        shifted = source._data - np.max(source._data, axis=axis, keepdims=True)
        value = shifted - np.log(np.sum(np.exp(shifted), axis=axis, keepdims=True))
        holder = []

        def backward(grad):
            y = holder[0]
            return (grad - y.exp() * grad.sum(dim, keepdim=True),)

        result = record_op("LogSoftmaxBackward0", value, (source,), backward, save_output=True)
        holder.append(result)
        return result

    # ---- reductions

    def sum(self, dim=None, keepdim=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        out_dtype = source._data.dtype
        if out_dtype.kind in "bu" or out_dtype in (np.int32, np.int16, np.int8):
            out_dtype = np.int64  # integer sums are int64 in PyTorch
        shape = source._data.shape
        if dim is None:
            value = np.sum(source._data, dtype=out_dtype)
            return record_op("SumBackward0", value, (source,), lambda g: (g.expand(shape),))
        dims = _dims_arg(dim, source.dim())
        value = np.sum(source._data, axis=dims, dtype=out_dtype, keepdims=keepdim)
        return record_op("SumBackward1", value, (source,),
                         lambda g: (_unsqueeze_dims(g, dims, keepdim).expand(shape),))

    def mean(self, dim=None, keepdim=False, dtype=None):
        source = self if dtype is None else self.to(dtype)
        if not source.dtype.is_floating_point:
            raise RuntimeError(
                "mean(): could not infer output dtype. Input dtype must be either a floating "
                f"point or complex dtype. Got: {_C10_NAME[source.dtype]}")
        shape = source._data.shape
        if dim is None:
            count = max(source._data.size, 1)
            value = np.mean(source._data) if source._data.size else np.float32("nan")
            return record_op("MeanBackward0", np.asarray(value, dtype=source._data.dtype), (source,),
                             lambda g: (g.expand(shape) / count,))
        dims = _dims_arg(dim, source.dim())
        count = int(np.prod([shape[d] for d in dims])) if shape else 1
        value = np.mean(source._data, axis=dims, keepdims=keepdim)
        return record_op("MeanBackward1", np.asarray(value, dtype=source._data.dtype), (source,),
                         lambda g: (_unsqueeze_dims(g, dims, keepdim).expand(shape) / count,))

    def prod(self, dim=None, keepdim=False):
        source = self
        if dim is None:
            value = np.prod(self._data)
            holder = []
            result = record_op("ProdBackward0", value, (self,),
                               lambda g: (g * holder[0] / source,), saved=(self,), save_output=True)
            holder.append(result)
            return result
        dims = _dims_arg(dim, self.dim())
        value = np.prod(self._data, axis=dims, keepdims=keepdim)
        holder = []
        result = record_op(
            "ProdBackward1", value, (self,),
            lambda g: (_unsqueeze_dims(g * holder[0], dims, keepdim) / source,), saved=(self,),
            save_output=True)
        holder.append(result)
        return result

    def std(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return self._variance(dim, unbiased, keepdim, correction, "StdBackward0")

    def var(self, dim=None, unbiased=True, keepdim=False, correction=None):
        return self._variance(dim, unbiased, keepdim, correction, "VarBackward0")

    def _variance(self, dim, unbiased, keepdim, correction, name):
        if isinstance(dim, bool):  # std(unbiased) called positionally
            dim, unbiased = None, dim
        ddof = (1 if unbiased else 0) if correction is None else correction
        dims = None if dim is None else _dims_arg(dim, self.dim())
        count = self._data.size if dims is None else int(np.prod([self._data.shape[d] for d in dims]))
        with np.errstate(all="ignore"):
            value = np.var(self._data, axis=dims, ddof=ddof, keepdims=keepdim)
            if name == "StdBackward0":
                value = np.sqrt(value)
        source, holder = self, []

        def backward(grad):
            grad_kept = grad if dims is None or keepdim else _unsqueeze_dims(grad, dims, False)
            centered = source - (source.mean() if dims is None else source.mean(dims, keepdim=True))
            if name == "VarBackward0":
                return (grad_kept * 2 * centered / max(count - ddof, 0),)
            result = holder[0] if dims is None or keepdim else _unsqueeze_dims(holder[0], dims, False)
            return (grad_kept * centered / (max(count - ddof, 0) * result),)

        result = record_op(name, np.asarray(value, dtype=self._data.dtype), (self,), backward,
                           saved=(self,), save_output=name == "StdBackward0")
        holder.append(result)
        return result

    def _extreme(self, dim, keepdim, pick, arg_pick, names, result_type):
        if isinstance(dim, Tensor):  # torch.max(a, b): elementwise
            return maximum(self, dim) if pick is np.max else minimum(self, dim)
        source = self
        if dim is None:
            if self._data.size == 0:
                raise RuntimeError(f"{names[2]}(): Expected reduction dim to be specified for "
                                   "input.numel() == 0. Specify the reduction dim with the 'dim' argument.")
            value = pick(self._data)
            holder = []

            def backward(grad):
                mask = Tensor._wrap(source._data == holder[0]._data)
                return (mask * (grad / mask.sum()),)

            result = record_op(names[0], value, (self,), backward, saved=(self,), save_output=True)
            holder.append(result)
            return result
        axis = _dims_arg(dim, self.dim())[0] if self.dim() else None
        if axis is None:
            indices = np.asarray(0, dtype=np.int64)
            value = self._data.copy()
        else:
            indices = arg_pick(self._data, axis=axis)
            value = np.take_along_axis(self._data, np.expand_dims(indices, axis), axis).squeeze(axis)
            if keepdim:
                indices = np.expand_dims(indices, axis)
                value = np.expand_dims(value, axis)
        shape = self._data.shape
        index_for_grad = indices if keepdim or axis is None else np.expand_dims(indices, axis)

        def backward(grad):
            grad_kept = grad if keepdim or axis is None else grad.unsqueeze(axis)
            return (_scatter(grad_kept, shape, axis, index_for_grad),)

        values = record_op(names[1], value, (self,), backward)
        return result_type(values, Tensor._wrap(indices.astype(np.int64)))

    def max(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, np.max, np.argmax,
                             ("MaxBackward1", "MaxBackward0", "max"), return_types_max)

    def min(self, dim=None, keepdim=False):
        return self._extreme(dim, keepdim, np.min, np.argmin,
                             ("MinBackward1", "MinBackward0", "min"), return_types_min)

    def amax(self, dim=(), keepdim=False):
        return self.max() if dim == () else self.max(dim, keepdim)[0]

    def amin(self, dim=(), keepdim=False):
        return self.min() if dim == () else self.min(dim, keepdim)[0]

    def argmax(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor._wrap(np.asarray(np.argmax(self._data), dtype=np.int64))
        axis = _dims_arg(dim, self.dim())[0]
        return Tensor._wrap(np.argmax(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

    def argmin(self, dim=None, keepdim=False):
        if dim is None:
            return Tensor._wrap(np.asarray(np.argmin(self._data), dtype=np.int64))
        axis = _dims_arg(dim, self.dim())[0]
        return Tensor._wrap(np.argmin(self._data, axis=axis, keepdims=keepdim).astype(np.int64))

    def maximum(self, other):
        return maximum(self, other)

    def minimum(self, other):
        return minimum(self, other)

    def sort(self, dim=-1, descending=False):
        axis = _dims_arg(dim, self.dim())[0]
        order = np.argsort(-self._data if descending else self._data, axis=axis, kind="stable")
        return return_types_sort(self.gather(axis, Tensor._wrap(order)), Tensor._wrap(order.astype(np.int64)))

    def argsort(self, dim=-1, descending=False):
        return self.sort(dim, descending)[1]

    def topk(self, k, dim=-1, largest=True, sorted=True):
        values, indices = self.sort(dim, descending=largest)
        axis = _dims_arg(dim, self.dim())[0]
        index = [slice(None)] * self.dim()
        index[axis] = slice(0, k)
        return return_types_topk(values[tuple(index)], indices[tuple(index)])

    def cumsum(self, dim):
        axis = _dims_arg(dim, self.dim())[0]
        return record_op("CumsumBackward0", np.cumsum(self._data, axis=axis), (self,),
                         lambda g: (g.flip(axis).cumsum(axis).flip(axis),))

    def flip(self, *dims):
        axes = _dims_arg(_shape_arg(dims), self.dim())
        return record_op("FlipBackward0", np.flip(self._data, axis=axes).copy(), (self,),
                         lambda g: (g.flip(*axes),))

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        if p in ("fro", 2, 2.0, None):
            squares = (self * self).sum() if dim is None else (self * self).sum(dim, keepdim=keepdim)
            value = np.sqrt(squares._data)
            source = self
            holder = []

            def backward(grad):
                norm = holder[0]
                scale = grad / norm
                scale = Tensor._wrap(np.where(norm._data == 0, 0, scale._data)) if not is_grad_enabled() else scale
                if dim is not None and not keepdim:
                    scale = _unsqueeze_dims(scale, _dims_arg(dim, source.dim()), False)
                return (source * scale,)

            result = record_op("LinalgVectorNormBackward0", value, (self,), backward,
                               saved=(self,), save_output=True)
            holder.append(result)
            return result
        if p in (1, 1.0):
            return self.abs().sum() if dim is None else self.abs().sum(dim, keepdim=keepdim)
        if p in (float("inf"), "inf"):
            return self.abs().max() if dim is None else self.abs().max(dim, keepdim)[0]
        total = (self.abs() ** p).sum() if dim is None else (self.abs() ** p).sum(dim, keepdim=keepdim)
        return total ** (1.0 / p)

    def dist(self, other, p=2):
        return (self - other).norm(p)

    # ---- linear algebra

    def mm(self, other):
        if self.dim() != 2:
            raise RuntimeError("self must be a matrix")
        if other.dim() != 2:
            raise RuntimeError("mat2 must be a matrix")
        if self._data.shape[1] != other._data.shape[0]:
            raise RuntimeError(
                f"mat1 and mat2 shapes cannot be multiplied ({self._data.shape[0]}x{self._data.shape[1]} "
                f"and {other._data.shape[0]}x{other._data.shape[1]})")
        if self.dtype is not other.dtype:
            raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: "
                               f"{_OPTIONS_NAME[self.dtype]} != {_OPTIONS_NAME[other.dtype]}")
        a, b = self, other
        return record_op("MmBackward0", a._data @ b._data, (a, b),
                         lambda g: (g.mm(b.t()) if _needs(a) else None, a.t().mm(g) if _needs(b) else None),
                         saved=(b if _needs(a) else None, a if _needs(b) else None))

    def matmul(self, other):
        a, b = self, other
        if a.dim() == 2 and b.dim() == 2:
            return a.mm(b)
        if a.dim() == 1 and b.dim() == 1:
            return a.dot(b)
        if a.dim() == 2 and b.dim() == 1:
            return a.mv(b)
        if a.dim() == 1 and b.dim() == 2:
            result = a.unsqueeze(0).mm(b)
            return result._squeeze_dims((0,), "SqueezeBackward4")
        if a.dim() == 0 or b.dim() == 0:
            raise RuntimeError("both arguments to matmul need to be at least 1D, but they are "
                               f"{a.dim()}D and {b.dim()}D")
        # batched: numpy's broadcasting matmul; gradients are summed back by the engine
        a_view = a.unsqueeze(0) if a.dim() == 1 else a
        b_view = b.unsqueeze(-1) if b.dim() == 1 else b

        def backward(grad):
            g = grad
            if a.dim() == 1:
                g = g.unsqueeze(-2)
            if b.dim() == 1:
                g = g.unsqueeze(-1)
            grad_a = g.matmul(b_view.transpose(-1, -2)) if _needs(a) else None
            grad_b = a_view.transpose(-1, -2).matmul(g) if _needs(b) else None
            if grad_a is not None and a.dim() == 1:
                grad_a = grad_a.squeeze(-2)
            if grad_b is not None and b.dim() == 1:
                grad_b = grad_b.squeeze(-1)
            return (grad_a, grad_b)

        return record_op("UnsafeViewBackward0", np.matmul(a._data, b._data), (a, b), backward,
                         saved=(a, b))

    def mv(self, vec):
        a, v = self, vec
        return record_op("MvBackward0", a._data @ v._data, (a, v),
                         lambda g: (g.unsqueeze(1) * v.unsqueeze(0) if _needs(a) else None,
                                    a.t().mv(g) if _needs(v) else None),
                         saved=(a, v))

    def dot(self, other):
        a, b = self, other
        return record_op("DotBackward0", np.dot(a._data, b._data), (a, b),
                         lambda g: (g * b if _needs(a) else None, g * a if _needs(b) else None),
                         saved=(a, b))

    def bmm(self, other):
        a, b = self, other
        return record_op("BmmBackward0", np.matmul(a._data, b._data), (a, b),
                         lambda g: (g.bmm(b.transpose(1, 2)) if _needs(a) else None,
                                    a.transpose(1, 2).bmm(g) if _needs(b) else None),
                         saved=(a, b))

    def addmm(self, mat1, mat2, beta=1, alpha=1):
        return self * beta + mat1.mm(mat2) * alpha if (beta != 1 or alpha != 1) else _addmm(self, mat1, mat2)

    def outer(self, other):
        return self.unsqueeze(1) * other.unsqueeze(0)

    ger = outer

    # ---- shape ops (views share storage and the version counter)

    def _make_view(self, data, name, backward):
        result = record_op(name, data, (self,), backward)
        if self._requires_grad and not result._requires_grad and result.dtype.is_floating_point:
            # PyTorch: a view made under no_grad of a tensor that requires grad still
            # requires grad (as a leaf), but backward never populates its .grad
            result._requires_grad = True
            result._no_grad_view = True
        result._version_counter = self._version_counter
        result._view_version = self._version_counter.value
        result._base = self._base if self._base is not None else self
        return result

    def _refresh_view(self):
        """After an in-place op rewrote the history of a view's (non-leaf) base, the view's
        grad_fn becomes a gather from the new base (PyTorch regenerates it the same way)."""
        base = self._base
        if base is None or self._view_version == self._version_counter.value:
            return
        self._view_version = self._version_counter.value
        if base._grad_fn is None or self._grad_fn is None:
            return
        positions = _view_positions(self._data, base._data)
        with enable_grad():
            regathered = record_op("AsStridedBackward0", base._data.reshape(-1)[positions], (base,),
                                   lambda g: (_flat_scatter(g, base._data.shape, positions),))
        self._grad_fn = regathered._grad_fn

    def view(self, *shape):
        if len(shape) == 1 and isinstance(shape[0], _DType):
            raise RuntimeError("view(dtype) is not supported by the varlint runtime")
        target = _infer_shape(_shape_arg(shape), self._data.size)
        if not self.is_contiguous() and self._data.size > 1 and target != self._data.shape:
            raise RuntimeError(
                "view size is not compatible with input tensor's size and stride (at least one "
                "dimension spans across two contiguous subspaces). Use .reshape(...) instead.")
        original = self._data.shape
        return self._make_view(self._data.reshape(target), "ViewBackward0",
                               lambda g: (g.reshape(original),))

    def view_as(self, other):
        return self.view(other.shape)

    def reshape(self, *shape):
        target = _infer_shape(_shape_arg(shape), self._data.size)
        if self.is_contiguous():
            return self.view(target)
        original = self._data.shape
        return record_op("UnsafeViewBackward0", self._data.reshape(target).copy(), (self,),
                         lambda g: (g.reshape(original),))

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def flatten(self, start_dim=0, end_dim=-1):
        if self.dim() == 0:
            return self.reshape(1)
        start, end = (d % self.dim() for d in (start_dim, end_dim))
        shape = self._data.shape
        middle = int(np.prod(shape[start:end + 1]))
        return self.reshape(shape[:start] + (middle,) + shape[end + 1:])

    def ravel(self):
        return self.reshape(-1)

    def t(self):
        if self.dim() > 2:
            raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {self.dim()}D")
        return self._make_view(self._data.T, "TBackward0", lambda g: (g.t(),))

    @property
    def T(self):  # noqa: N802 - torch's name
        return self._make_view(self._data.T, "PermuteBackward0",
                               lambda g: (g.permute(*reversed(range(g.dim()))),))

    def transpose(self, dim0, dim1):
        d0, d1 = (_dims_arg(d, self.dim())[0] for d in (dim0, dim1))
        return self._make_view(np.swapaxes(self._data, d0, d1), "TransposeBackward0",
                               lambda g: (g.transpose(d0, d1),))

    def permute(self, *dims):
        order = tuple(d % self.dim() for d in _shape_arg(dims))
        inverse = tuple(np.argsort(order))
        return self._make_view(np.transpose(self._data, order), "PermuteBackward0",
                               lambda g: (g.permute(*inverse),))

    def unsqueeze(self, dim):
        axis = dim % (self.dim() + 1)
        return self._make_view(np.expand_dims(self._data, axis), "UnsqueezeBackward0",
                               lambda g: (g.squeeze(axis),))

    def squeeze(self, dim=None):
        if dim is None:
            dims = tuple(i for i, s in enumerate(self._data.shape) if s == 1)
            return self._squeeze_dims(dims, "SqueezeBackward0")
        dims = tuple(d for d in _dims_arg(dim, self.dim()) if self.dim() and self._data.shape[d] == 1)
        return self._squeeze_dims(dims, "SqueezeBackward1")

    def _squeeze_dims(self, dims, name):
        original = self._data.shape
        return self._make_view(np.squeeze(self._data, axis=dims) if dims else self._data.view(),
                               name, lambda g: (g.reshape(original),))

    def expand(self, *sizes):
        sizes = _shape_arg(sizes)
        lead = len(sizes) - self.dim()
        if lead < 0:
            raise RuntimeError(
                f"expand(torch.FloatTensor{{{list(self._data.shape)}}}, size={list(sizes)}): the number "
                "of sizes provided must be greater or equal to the number of dimensions in the tensor")
        target = tuple(self._data.shape[i - lead] if s == -1 else s for i, s in enumerate(sizes))
        try:
            data = np.broadcast_to(self._data, target)
        except ValueError:
            raise RuntimeError(
                f"The expanded size of the tensor ({target[-1]}) must match the existing size "
                f"({self._data.shape[-1]}) at non-singleton dimension {len(target) - 1}.  Target "
                f"sizes: {list(sizes)}.  Tensor sizes: {list(self._data.shape)}") from None
        original = self._data.shape
        return self._make_view(data, "ExpandBackward0", lambda g: (_sum_to(g, original),))

    def _reshape_inplace(self, result):
        """squeeze_/unsqueeze_/t_/transpose_: self takes the view's shape (and grad_fn)."""
        self._data = result._data
        if result._grad_fn is not None:
            self._grad_fn = result._grad_fn
        self._version_counter.value += 1
        return self

    def squeeze_(self, dim=None):
        return self._reshape_inplace(self.squeeze(dim))

    def unsqueeze_(self, dim):
        return self._reshape_inplace(self.unsqueeze(dim))

    def t_(self):
        return self._reshape_inplace(self.t())

    def transpose_(self, dim0, dim1):
        return self._reshape_inplace(self.transpose(dim0, dim1))

    def expand_as(self, other):
        return self.expand(other.shape)

    def repeat(self, *sizes):
        sizes = _shape_arg(sizes)
        data = np.tile(self._data, sizes)
        original = self._data.shape

        def backward(grad):
            lead = len(sizes) - len(original)
            shape = (1,) * lead + original
            split = []
            for reps, size in zip(sizes, shape):
                split.extend((reps, size))
            return (grad.reshape(split).sum(dim=tuple(range(0, len(split), 2))).reshape(original),)

        return record_op("RepeatBackward0", data, (self,), backward)

    def chunk(self, chunks, dim=0):
        axis = _dims_arg(dim, self.dim())[0]
        size = self._data.shape[axis]
        step = -(-size // chunks)
        return self.split(step, dim)

    def split(self, split_size, dim=0):
        axis = _dims_arg(dim, self.dim())[0]
        size = self._data.shape[axis]
        sizes = [split_size] * (size // split_size) + ([size % split_size] if size % split_size else []) \
            if isinstance(split_size, int) else list(split_size)
        pieces, start = [], 0
        for length in sizes:
            index = [slice(None)] * self.dim()
            index[axis] = slice(start, start + length)
            pieces.append(self._slice_view(tuple(index), "SplitBackward0"))
            start += length
        return tuple(pieces)

    def unbind(self, dim=0):
        axis = _dims_arg(dim, self.dim())[0]
        pieces = []
        for i in range(self._data.shape[axis]):
            index = [slice(None)] * self.dim()
            index[axis] = i
            pieces.append(self._slice_view(tuple(index), "UnbindBackward0"))
        return tuple(pieces)

    def narrow(self, dim, start, length):
        axis = _dims_arg(dim, self.dim())[0]
        index = [slice(None)] * self.dim()
        index[axis] = slice(start, start + length)
        return self._slice_view(tuple(index), "SliceBackward0")

    def select(self, dim, index):
        axis = _dims_arg(dim, self.dim())[0]
        full = [slice(None)] * self.dim()
        full[axis] = index
        return self._slice_view(tuple(full), "SelectBackward0")

    def _slice_view(self, index, name):
        shape = self._data.shape
        return self._make_view(_basic_index(self._data, index), name,
                               lambda g: (_index_put_zeros(g, shape, index),))

    def gather(self, dim, index):
        axis = _dims_arg(dim, self.dim())[0]
        index_array = _as_array(index).astype(np.int64)
        shape = self._data.shape
        data = np.take_along_axis(self._data, index_array, axis)
        return record_op("GatherBackward0", data, (self,),
                         lambda g: (_scatter(g, shape, axis, index_array, accumulate=True),))

    def scatter(self, dim, index, src):
        axis = _dims_arg(dim, self.dim())[0]
        data = self._data.copy()
        values = np.broadcast_to(_as_array(src), _as_array(index).shape) if _is_scalar(src) else _as_array(src)
        np.put_along_axis(data, _as_array(index).astype(np.int64), values, axis)
        return Tensor._wrap(data)

    def scatter_(self, dim, index, src):
        return self._inplace(lambda t: t.scatter(dim, index, src))

    def index_select(self, dim, index):
        axis = _dims_arg(dim, self.dim())[0]
        index_array = _as_array(index).astype(np.int64)
        full = [slice(None)] * self.dim()
        full[axis] = index_array
        shape = self._data.shape
        return record_op("IndexSelectBackward0", self._data[tuple(full)], (self,),
                         lambda g: (_index_put_zeros(g, shape, tuple(full), accumulate=True),))

    def masked_select(self, mask):
        mask_array = np.broadcast_to(_as_array(mask).astype(bool), self._data.shape)
        shape = self._data.shape
        return record_op("MaskedSelectBackward0", self._data[mask_array], (self,),
                         lambda g: (_index_put_zeros(g, shape, mask_array),))

    # ---- indexing

    def __getitem__(self, index):
        if self.dim() == 0:
            _check_zero_dim_index(index)
        np_index, advanced = _convert_index(index)
        try:
            data = self._data[np_index] if advanced else _basic_index(self._data, np_index)
        except IndexError as error:
            raise IndexError(str(error).replace("axis", "dimension")) from None
        shape = self._data.shape
        name = _index_op_name(index, advanced)
        if advanced:
            return record_op(name, np.array(data, copy=True), (self,),
                             lambda g: (_index_put_zeros(g, shape, np_index, accumulate=True),))
        return self._make_view(data, name, lambda g: (_index_put_zeros(g, shape, np_index),))

    def __setitem__(self, index, value):
        if self.dim() == 0:
            _check_zero_dim_index(index, record=False)
        np_index, advanced = _convert_index(index)
        if is_grad_enabled():
            if self._grad_fn is None and self._requires_grad:
                raise RuntimeError(M17)
            base = self._base
            if base is not None and base._grad_fn is None and base._requires_grad:
                raise RuntimeError(M17)

        def compute(target, new_value):
            data = target._data.copy()
            data[np_index] = _as_array(new_value)
            shape = target._data.shape

            def backward(grad):
                keep = np.ones(shape, dtype=bool)
                keep[np_index] = False
                grad_value = grad[index] if isinstance(new_value, Tensor) else None
                return (grad * Tensor._wrap(keep), grad_value)

            return record_op("CopySlices", data, (target, new_value), backward)

        self._inplace(compute, value, check=False)

    # ---- backward

    def backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
        run_backward((self,), None if gradient is None else (gradient,), retain_graph,
                     create_graph, inputs=inputs, from_method=True)

    def reinforce(self, reward):
        raise RuntimeError(_REINFORCE_REMOVED)

    # ---- accumulate-grad node

    def _accumulate_grad_node(self):
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator


# -- module-level op helpers ---------------------------------------------------------------


def _rebuild(cls, data, requires_grad):
    tensor = Tensor._wrap(data)
    if cls is not Tensor:
        tensor = Tensor._make_subclass(cls, tensor, requires_grad)
    else:
        tensor._requires_grad = requires_grad
    return tensor


def _type_name(value) -> str:
    kind = type(value)
    if kind.__module__ in ("builtins", None):
        return kind.__name__
    return f"{kind.__module__}.{kind.__name__}"


def _called_from_program() -> bool:
    """True when the attribute read comes from user code, not from inside the runtime."""
    caller = sys._getframe(2).f_code.co_filename
    return not events._is_runtime_file(caller)


def _needs(tensor) -> bool:
    return isinstance(tensor, Tensor) and tensor._requires_grad


def _if_tensor(value):
    return value if isinstance(value, Tensor) else None


def _raise_compare(other):
    raise TypeError(f"'<' not supported between instances of 'Tensor' and '{type(other).__name__}'")


def _infer_shape(shape, size):
    shape = list(shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    if -1 in shape:
        known = int(np.prod([s for s in shape if s != -1])) if len(shape) > 1 else 1
        if known == 0 or size % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
        shape[shape.index(-1)] = size // known
    if int(np.prod(shape)) != size:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {size}")
    return tuple(shape)


def _unsqueeze_dims(grad, dims, keepdim):
    if keepdim:
        return grad
    for d in sorted(dims):
        grad = grad.unsqueeze(d)
    return grad


def _check_zero_dim_index(index, record=True):
    items = index if isinstance(index, tuple) else (index,)
    for item in items:
        if item is None or item is Ellipsis or isinstance(item, (bool, np.bool_)):
            continue
        if isinstance(item, slice):
            raise IndexError("slice() cannot be applied to a 0-dim tensor.")
        if isinstance(item, Tensor) or isinstance(item, (list, np.ndarray)):
            raise IndexError("too many indices for tensor of dimension 0")
        if record:
            events.record("zero-dim-index", "indexing a 0-dim tensor raises IndexError")
        raise IndexError(M10)


def _convert_index(index):
    """A numpy index for a PyTorch index; `advanced` when it copies (tensor/list indices)."""
    items = index if isinstance(index, tuple) else (index,)
    converted, advanced = [], False
    for item in items:
        if isinstance(item, Tensor):
            if item.dim() == 0 and item.dtype is not dtypes.bool_:
                converted.append(int(item._data))
                continue
            converted.append(item._data)
            advanced = True
        elif isinstance(item, (list, np.ndarray)):
            converted.append(np.asarray(item))
            advanced = True
        elif isinstance(item, (int, np.integer)) and not isinstance(item, (bool, np.bool_)):
            converted.append(int(item))
        else:
            converted.append(item)
    return (tuple(converted) if isinstance(index, tuple) else converted[0]), advanced


def _index_op_name(index, advanced):
    if advanced:
        return "IndexBackward0"
    items = index if isinstance(index, tuple) else (index,)
    name = "AliasBackward0"
    for item in items:
        if item is None or isinstance(item, (bool, np.bool_)):
            name = "UnsqueezeBackward0"
        elif isinstance(item, slice):
            if item != slice(None):
                name = "SliceBackward0"
        elif item is not Ellipsis:
            name = "SelectBackward0"
    return name


def _index_put_zeros(grad, shape, index, accumulate=False):
    """Differentiable 'zeros(shape) with grad placed at index' (backward of indexing)."""
    data = np.zeros(shape, dtype=grad._data.dtype)
    if accumulate:
        np.add.at(data, index, grad._data)
    else:
        data[index] = grad._data
    source_grad = grad
    return record_op("IndexPutBackward0", data, (source_grad,),
                     lambda g: (Tensor._wrap(np.array(g._data[index])),))


def _one_minus_square(y):
    """1 - y*y as PyTorch's kernels compute it (fused, so rounded once) unless differentiated."""
    if is_grad_enabled() and y._requires_grad:
        return 1 - y * y
    wide = y._data.astype(np.float64)
    return Tensor._wrap((1 - wide * wide).astype(y._data.dtype))


def _basic_index(array: np.ndarray, index):
    """array[index] for a basic index, always a view (numpy returns a scalar copy for a
    single element unless the index ends with Ellipsis)."""
    items = index if isinstance(index, tuple) else (index,)
    if Ellipsis not in items:
        items = items + (Ellipsis,)
    return array[items]


def _view_positions(view: np.ndarray, base: np.ndarray) -> np.ndarray:
    """For each element of `view` (a numpy view into `base`), its C-order flat index in base,
    found by matching element addresses (works for any strides)."""

    def addresses(array):
        grids = np.indices(array.shape, dtype=np.int64) if array.ndim else np.zeros((0,), dtype=np.int64)
        start = array.__array_interface__["data"][0]
        offsets = sum(g * s for g, s in zip(grids, array.strides)) if array.ndim else np.int64(0)
        return start + np.asarray(offsets, dtype=np.int64)

    base_addresses = addresses(base).reshape(-1)
    order = np.argsort(base_addresses, kind="stable")
    found = np.searchsorted(base_addresses[order], addresses(view).reshape(-1))
    return order[found].reshape(view.shape)


def _flat_gather(grad, positions):
    """Differentiable grad.flatten()[positions]."""
    shape = grad._data.shape
    return record_op("AsStridedBackward0", grad._data.reshape(-1)[positions], (grad,),
                     lambda g: (_flat_scatter(g, shape, positions),))


def _flat_scatter(grad, shape, positions):
    """Differentiable zeros(shape) with grad added at the flat positions."""
    data = np.zeros(int(np.prod(shape)), dtype=grad._data.dtype)
    np.add.at(data, positions.reshape(-1), grad._data.reshape(-1))
    return record_op("AsStridedScatterBackward0", data.reshape(shape), (grad,),
                     lambda g: (_flat_gather(g, positions),))


def _scatter(grad, shape, axis, indices, accumulate=False):
    """zeros(shape) with grad written along `axis` at `indices` (backward of max/gather)."""
    data = np.zeros(shape, dtype=grad._data.dtype)
    if axis is None:
        data = grad._data.copy().reshape(shape)
    elif accumulate:
        np.add.at(data, _along_axis_index(indices, axis), grad._data)
    else:
        np.put_along_axis(data, indices, grad._data, axis)
    return record_op("ScatterBackward0", data, (grad,),
                     lambda g: (g.gather(axis, Tensor._wrap(indices)) if axis is not None else g,))


def _along_axis_index(indices, axis):
    grids = list(np.indices(indices.shape, sparse=True))
    grids[axis] = indices
    return tuple(grids)


def _addmm(bias, mat1, mat2):
    value = bias._data + mat1._data @ mat2._data
    return record_op("AddmmBackward0", value, (bias, mat1, mat2),
                     lambda g: (g, g.mm(mat2.t()) if _needs(mat1) else None,
                                mat1.t().mm(g) if _needs(mat2) else None),
                     saved=(mat1 if _needs(mat2) else None, mat2 if _needs(mat1) else None))


def maximum(a, b):
    source_a, source_b = a, b
    result_dtype = dtypes.result_type(a, b)
    value = np.maximum(_as_array(a, result_dtype), _as_array(b, result_dtype))

    def backward(grad):
        mask = Tensor._wrap((source_a._data > source_b._data) + 0.5 * (source_a._data == source_b._data))
        return (grad * mask, grad * (1 - mask))

    return record_op("MaximumBackward0", value, (a, b), backward, saved=(a, b))


def minimum(a, b):
    source_a, source_b = a, b
    result_dtype = dtypes.result_type(a, b)
    value = np.minimum(_as_array(a, result_dtype), _as_array(b, result_dtype))

    def backward(grad):
        mask = Tensor._wrap((source_a._data < source_b._data) + 0.5 * (source_a._data == source_b._data))
        return (grad * mask, grad * (1 - mask))

    return record_op("MinimumBackward0", value, (a, b), backward, saved=(a, b))


def where(condition, a, b):
    condition_array = _as_array(condition).astype(bool)
    result_dtype = dtypes.result_type(a, b)
    value = np.where(condition_array, _as_array(a, result_dtype), _as_array(b, result_dtype))
    keep = Tensor._wrap(condition_array)
    return record_op("WhereBackward0", value, (a, b),
                     lambda g: (g * keep if _needs(a) else None, g * keep.logical_not() if _needs(b) else None))


def cat(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("torch.cat(): expected a non-empty list of Tensors")
    axis = _dims_arg(dim, tensors[0].dim())[0]
    result_dtype = dtypes.result_type(*tensors) if len(tensors) > 1 else tensors[0].dtype
    value = np.concatenate([_as_array(t, result_dtype) for t in tensors], axis=axis)
    bounds = np.cumsum([0] + [t._data.shape[axis] for t in tensors])

    def backward(grad):
        grads = []
        for start, stop in zip(bounds[:-1], bounds[1:]):
            index = [slice(None)] * grad.dim()
            index[axis] = slice(int(start), int(stop))
            grads.append(grad[tuple(index)])
        return tuple(grads)

    return record_op("CatBackward0", value, tuple(tensors), backward)


def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        raise RuntimeError("stack expects a non-empty TensorList")
    axis = dim % (tensors[0].dim() + 1)
    result_dtype = dtypes.result_type(*tensors) if len(tensors) > 1 else tensors[0].dtype
    value = np.stack([_as_array(t, result_dtype) for t in tensors], axis=axis)
    return record_op("StackBackward0", value, tuple(tensors),
                     lambda g: tuple(g.select(axis, i) for i in range(len(tensors))))


# -- legacy constructors (torch.Tensor(...), torch.FloatTensor(...), x.new(...)) ------------

_REINFORCE_REMOVED = """reinforce() was removed.
Use torch.distributions instead.
See https://pytorch.org/docs/main/distributions.html

Instead of:

probs = policy_network(state)
action = probs.multinomial()
next_state, reward = env.step(action)
action.reinforce(reward)
action.backward()

Use:

probs = policy_network(state)
# NOTE: categorical is equivalent to what used to be called multinomial
m = torch.distributions.Categorical(probs)
action = m.sample()
next_state, reward = env.step(action)
loss = -m.log_prob(action) * reward
loss.backward()
"""

_LEGACY_TYPE_NAMES = {d.legacy_type: d for d in dtypes.ALL}
_M35 = ("Cannot initialize CUDA without ATen_cuda library. PyTorch splits its backend into two "
        "shared libraries: a CPU library and a CUDA library; this error has occurred because you "
        "are trying to use some CUDA functionality, but the CUDA library has not been loaded by "
        "the dynamic linker for some reason.  The CUDA library MUST be loaded, EVEN IF you don't "
        "directly use any symbols from the CUDA library! One common culprit is a lack of "
        "-Wl,--no-as-needed in your link arguments; many dynamic linkers will delete dynamic "
        "library dependencies if you don't depend on any of their symbols.  You can check if "
        "this has occurred by using ldd on your binary to see if there is a dependency on "
        "*_cuda.so library.")


def _options(d):
    return (f"TensorOptions(dtype={_OPTIONS_NAME[d]}, device=cpu, layout=Strided, "
            "requires_grad=false (default), pinned_memory=false (default), memory_format=(nullopt))")


def legacy_new(target, args, kwargs, cls=None):
    """PyTorch's legacy constructor rules: ints are a size, a list/tuple is data, a float
    raises, a same-dtype ndarray or tensor is aliased."""
    device = kwargs.pop("device", None)
    _check_device(device)
    if kwargs:
        got = ", ".join([type(a).__name__ for a in args] + [f"{k}={type(v).__name__}" for k, v in kwargs.items()])
        raise TypeError(
            f"new() received an invalid combination of arguments - got ({got}), but expected one of:\n"
            " * (*, torch.device device = None)\n"
            f"      didn't match because some of the keywords were incorrect: {', '.join(kwargs)}\n"
            " * (torch.Storage storage)\n"
            " * (Tensor other)\n"
            " * (tuple of ints size, *, torch.device device = None)\n"
            " * (object data, *, torch.device device = None)\n")
    if not args:
        return Tensor._wrap(np.zeros(0, dtype=target.numpy))
    if len(args) == 1:
        data = args[0]
        if isinstance(data, Size):
            return Tensor._wrap(np.zeros(tuple(data), dtype=target.numpy))
        if isinstance(data, Tensor):
            if data.dtype is not target:
                raise TypeError(f"expected {_options(target)} (got {_options(data.dtype)})")
            return data._make_view(data._data, "AliasBackward0", lambda g: (g,))
        if isinstance(data, np.ndarray):
            if data.dtype == target.numpy:
                return Tensor._wrap(data)
            return Tensor._wrap(data.astype(target.numpy))
        if isinstance(data, (list, tuple)):
            return Tensor._wrap(np.array(_plain_data(data)).astype(target.numpy))
        if isinstance(data, float):
            raise TypeError("new(): data must be a sequence (got float)")
        if isinstance(data, str):
            raise TypeError("new(): invalid data type 'str'")
    for position, arg in enumerate(args):
        if not isinstance(arg, (int, np.integer)) or isinstance(arg, bool):
            raise TypeError(
                f"new(): argument 'size' failed to unpack the object at pos {position} with error "
                f"\"type must be tuple of ints,but got {type(arg).__name__}\"")
    return Tensor._wrap(np.zeros(tuple(int(a) for a in args), dtype=target.numpy))


def _plain_data(data):
    """Nested lists/tuples with tensors or numbers inside -> nested lists of numbers."""
    if isinstance(data, Tensor):
        if data._data.size != 1 and data.dim() == 0:
            raise ValueError("only one element tensors can be converted to Python scalars")
        if data.dim() > 0:
            raise ValueError("only one element tensors can be converted to Python scalars")
        return data.item()
    if isinstance(data, (list, tuple)):
        return [_plain_data(d) for d in data]
    return data


# The engine lives in engine.py; re-exported here for the modules that import it from tensor.
from .engine import grad, run_backward  # noqa: E402  (engine imports this module)

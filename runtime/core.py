"""Tensor's data model and graph recording: `Node`, `record_op` and the `Tensor` class itself
(storage, properties, `.grad`/`.data`, conversions to Python, the in-place and view machinery).

The ops live in runtime/ops/ (one module per family) and are bound onto `Tensor` by
runtime/tensor.py; the backward engine is engine.py.

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

Besides PyTorch semantics the class keeps the bookkeeping for the event log (gradbook.py).
Internal readers should use `_grad`, `_grad_fn` and `_requires_grad`: the public properties
record events (`.grad` of a leaf without grad, ...) when read from the program.
"""

from __future__ import annotations

import operator
import re
import sys
import weakref

import numpy as np

from . import dtypes, events, history
from .device import CPU
from .dtypes import Size, dtype as _DType
from .grad_mode import enable_grad, is_grad_enabled
from .gradbook import GradBook, next_sequence, reported_backward_calls
from .messages import M16, M17, M18, M29, M37, M38, M5A, M5B, M5C, _C10_NAME, _OPTIONS_NAME
from .printing import tensor_repr

class _VersionCounter:
    __slots__ = ("value", "step_site")

    def __init__(self):
        self.value = 0
        # (file, line, value before the step) of the last optimizer step that changed the
        # tensor in place, for the step-before-backward event
        self.step_site = None


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
                if tensor._base is not None:
                    tensor._refresh_view()  # PyTorch names the regenerated grad_fn
                if is_output:
                    origin = f", which is output 0 of {_strip_backward(self.name())},"
                elif tensor._grad_fn is not None:
                    origin = f", which is output 0 of {_strip_backward(tensor._grad_fn.name())},"
                else:
                    origin = ""
                shape = "[" + ", ".join(str(s) for s in tensor._data.shape) + "]"
                step = tensor._version_counter.step_site
                if step is not None and step[2] >= saved_version:
                    events.record("step-before-backward", "the graph saved a tensor that an "
                                  "optimizer step changed in place since (M18)", related=[step[1]])
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


def named_gradients(name, gradients):
    """Gradients computed with ops under create_graph=True, each behind an identity node named
    as PyTorch's double-backward node (`ConvolutionBackwardBackward0`): `grad.grad_fn` reads
    the same."""
    return tuple(
        g if g is None or g._grad_fn is None else record_op(name, g._data, (g,), lambda outer: (outer,))
        for g in gradients)


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


class _RemovableHandle:
    def __init__(self, hooks, fn):
        self._hooks, self._fn = hooks, fn

    def remove(self):
        if self._fn in self._hooks:
            self._hooks.remove(self._fn)


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

    def _book(self) -> GradBook:
        if self._grad_book is None:
            self._grad_book = GradBook()
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
            if call_id not in reported_backward_calls:
                reported_backward_calls.add(call_id)
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

    def __repr__(self, *, tensor_contents=None):
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


    # ---- in-place machinery

    def _check_inplace(self):
        """M16/M17: in-place ops on (views of) leaves that require grad, in grad mode."""
        if not is_grad_enabled():
            return
        if self._grad_fn is None and self._requires_grad:
            events.record("inplace-on-grad-leaf", M16)
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

    # ---- views

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
        """After an in-place op changed a view's base (a non-leaf whose history it rewrote, or
        a leaf that requires grad changed under no_grad, such as a parameter stepped by an
        optimizer), the view's grad_fn becomes a gather from the base (PyTorch regenerates it
        the same way: `w.t()` is `TBackward0`, after `w.add_(1)` it is `AsStridedBackward0`)."""
        base = self._base
        if base is None or self._view_version == self._version_counter.value:
            return
        self._view_version = self._version_counter.value
        if self._grad_fn is None or not (base._grad_fn is not None or base._requires_grad):
            return
        positions = _view_positions(self._data, base._data)
        with enable_grad():
            regathered = record_op("AsStridedBackward0", base._data.reshape(-1)[positions], (base,),
                                   lambda g: (_flat_scatter(g, base._data.shape, positions),))
        self._grad_fn = regathered._grad_fn

    # ---- accumulate-grad node

    def _accumulate_grad_node(self):
        if self._accumulator is None:
            self._accumulator = AccumulateGrad(self)
        return self._accumulator


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

"""What `import torch` gives a program run by the runtime.

Factories, dtypes, grad mode, functional forms of the Tensor methods, the legacy typed
constructors (`torch.FloatTensor`, ...), a CPU-only `torch.cuda` and `torch.utils.data`
(runtime/data.py). Submodules
`torch.autograd` (ours), `torch.nn`, `torch.nn.functional` and `torch.optim` (runtime/nn.py,
functional.py, optim.py) are imported lazily on first attribute access, so this module works
before they exist. runtime/loader.py serves this module as `torch`.

Careful: this module defines `float`, `int`, `bool` as dtypes (torch.float, ...), so code in
it uses `builtins.float` etc. for the Python types.
"""

from __future__ import annotations

import builtins
import importlib
import pickle
import types

import numpy as np

from . import dtypes, events, printing
from .dtypes import Size, dtype
from .grad_mode import enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from .device import _check_device
from .messages import CUDA_MISSING
from .device import _Device as device  # noqa: F401 - torch.device
from .ops import torch_functions
from .ops.creation import _finish, legacy_new, tensor  # noqa: F401 - torch.tensor
from .random_ops import (  # noqa: F401 - re-exported as torch.*
    Generator,
    bernoulli,
    default_generator,
    get_rng_state,
    initial_seed,
    manual_seed,
    multinomial,
    normal,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    seed,
    set_rng_state,
)
from .tensor import Tensor

__path__ = []  # a package, so that `import torch.nn` reaches the loader's finder
__version__ = "2.13.0+cpu"

Tensor.__module__ = "torch"
get_default_dtype = dtypes.get_default_dtype
set_default_dtype = dtypes.set_default_dtype
set_printoptions = printing.set_printoptions
strided = "torch.strided"
contiguous_format = preserve_format = "torch.contiguous_format"
inf = builtins.float("inf")
nan = builtins.float("nan")
pi = 3.141592653589793
e = 2.718281828459045

globals().update(dtypes.ALIASES)  # torch.float32, torch.float, torch.long, ... (see docstring)


# -- lazy submodules ---------------------------------------------------------------------

_SUBMODULES = {"nn": "runtime.nn", "optim": "runtime.optim", "autograd": "runtime.autograd",
               "random": "runtime.random_ops", "distributions": "runtime.distributions"}


def __getattr__(name):
    if name == "utils":  # torch.utils only holds torch.utils.data here
        module = types.ModuleType("torch.utils")
        module.data = importlib.import_module("runtime.data")
        globals()[name] = module
        return module
    if name == "range":
        return deprecated_range
    target = _SUBMODULES.get(name)
    if target is None:
        raise AttributeError(f"module 'torch' has no attribute '{name}'")
    module = importlib.import_module(target)
    globals()[name] = module
    return module


# -- creating tensors ---------------------------------------------------------------------


def as_tensor(data, dtype=None, device=None):
    _check_device(device)
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)
    if isinstance(data, np.ndarray) and (dtype is None or dtypes.resolve(dtype).numpy == data.dtype):
        return from_numpy(data)
    return tensor(data, dtype=dtype)


def from_numpy(array):
    if not isinstance(array, np.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(array).__name__})")
    dtypes.from_numpy_dtype(array.dtype)
    return Tensor._wrap(array)


def is_tensor(obj) -> builtins.bool:
    return isinstance(obj, Tensor)


def numel(input) -> builtins.int:
    return input.numel()


def _size(args, kwargs):
    if "size" in kwargs:
        args = (kwargs.pop("size"),)
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    return tuple(builtins.int(a) for a in args)


def _factory(fill):
    def factory(*size, out=None, dtype=None, layout=None, device=None, requires_grad=False,
                pin_memory=False, memory_format=None, generator=None, **kwargs):
        _check_device(device)
        shape = _size(size, kwargs)
        target = dtypes.resolve(dtype) if dtype is not None else dtypes.get_default_dtype()
        return _finish(Tensor._wrap(fill(shape, target.numpy)), requires_grad)

    return factory


ones = _factory(lambda shape, np_dtype: np.ones(shape, dtype=np_dtype))
zeros = _factory(lambda shape, np_dtype: np.zeros(shape, dtype=np_dtype))
empty = _factory(lambda shape, np_dtype: np.zeros(shape, dtype=np_dtype))
ones.__name__, zeros.__name__, empty.__name__ = "ones", "zeros", "empty"


def full(size, fill_value, dtype=None, device=None, requires_grad=False, **kwargs):
    _check_device(device)
    if dtype is None:
        if isinstance(fill_value, builtins.bool):
            dtype = dtypes.bool_
        elif isinstance(fill_value, (builtins.int, np.integer)):
            dtype = dtypes.int64
        else:
            dtype = dtypes.get_default_dtype()
    shape = tuple(size) if isinstance(size, (tuple, list)) else (size,)
    return _finish(Tensor._wrap(np.full(shape, fill_value, dtype=dtypes.resolve(dtype).numpy)), requires_grad)


def deprecated_range(start, end=None, step=1, dtype=None, device=None, requires_grad=False, **kwargs):
    """`torch.range` (served by `__getattr__`, so that this module keeps the builtin `range`).
    Deprecated: `end` included, floating point (the default dtype) unless told otherwise."""
    events.record("deprecated-alias", "range")
    events.warn(
        "torch.range is deprecated and will be removed in a future release because its behavior "
        "is inconsistent with Python's range builtin. Instead, use torch.arange, which produces "
        "values in [start, end).")
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    count = builtins.int(np.floor((values[1] - values[0]) / values[2])) + 1
    target = dtypes.resolve(dtype) if dtype is not None else dtypes.get_default_dtype()
    array = values[0] + values[2] * np.arange(builtins.max(count, 0), dtype=np.float64)
    return _finish(Tensor._wrap(array.astype(target.numpy)), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False, **kwargs):
    if end is None:
        start, end = 0, start
    values = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if dtype is None:
        integral = builtins.all(isinstance(v, (builtins.int, np.integer)) for v in values)
        dtype = dtypes.int64 if integral else dtypes.get_default_dtype()
    target = dtypes.resolve(dtype)
    array = np.arange(*values, dtype=np.float64 if target.is_floating_point else np.int64)
    return _finish(Tensor._wrap(array.astype(target.numpy)), requires_grad)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False, **kwargs):
    target = dtypes.resolve(dtype) if dtype is not None else dtypes.get_default_dtype()
    return _finish(Tensor._wrap(np.linspace(start, end, steps).astype(target.numpy)), requires_grad)


def eye(n, m=None, dtype=None, device=None, requires_grad=False, **kwargs):
    target = dtypes.resolve(dtype) if dtype is not None else dtypes.get_default_dtype()
    return _finish(Tensor._wrap(np.eye(n, m, dtype=target.numpy)), requires_grad)


def _like(factory):
    def like(input, dtype=None, device=None, requires_grad=False, memory_format=None, **kwargs):
        return factory(*input.shape, dtype=dtype or input.dtype, requires_grad=requires_grad)

    return like


ones_like = _like(ones)
zeros_like = _like(zeros)
empty_like = _like(empty)


def full_like(input, fill_value, dtype=None, device=None, requires_grad=False, **kwargs):
    return full(tuple(input.shape), fill_value, dtype=dtype or input.dtype, requires_grad=requires_grad)


_m36_warned = [False]


def set_default_tensor_type(kind):
    if getattr(kind, "is_cuda", False) or (isinstance(kind, str) and kind.startswith("torch.cuda.")):
        name = kind if isinstance(kind, str) else f"{kind.__module__}.{kind.__name__}"
        raise TypeError(f"type {name} not available. Torch not compiled with CUDA enabled.")
    if not _m36_warned[0]:  # TORCH_WARN_ONCE in PyTorch
        _m36_warned[0] = True
        events.warn(
            "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
            "torch.set_default_dtype() and torch.set_default_device() as alternatives. (Triggered "
            "internally at /__w/pytorch/pytorch/torch/csrc/tensor/python_tensor.cpp:434.)", UserWarning)
    target = kind.dtype if hasattr(kind, "dtype") else _LEGACY_BY_NAME[kind]
    dtypes.set_default_dtype(target)


def promote_types(a, b):
    return dtypes.promote_types(a, b)


def result_type(a, b):
    return dtypes.result_type(a, b)


def is_floating_point(input):
    return input.is_floating_point()


def save(obj, f, *args, **kwargs):
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        with open(f, "wb") as handle:
            pickle.dump(obj, handle)
    else:
        pickle.dump(obj, f)


def load(f, *args, **kwargs):
    if isinstance(f, (str, bytes)) or hasattr(f, "__fspath__"):
        with open(f, "rb") as handle:
            return pickle.load(handle)
    return pickle.load(f)


# -- functional forms of Tensor methods ------------------------------------------------------

globals().update(torch_functions(extra_forms=("numel", "detach")))


def cross_entropy(*args, **kwargs):  # torch.nn.functional has the real one
    return importlib.import_module("runtime.functional").cross_entropy(*args, **kwargs)


# -- legacy typed constructors ---------------------------------------------------------------


class tensortype(type):  # noqa: N801 - torch's name: type(torch.FloatTensor) is torch.tensortype
    """The metaclass of torch.FloatTensor & co: calling one is the legacy constructor,
    isinstance checks the dtype (and CPU)."""

    def __call__(cls, *args, **kwargs):
        if cls.is_cuda:
            raise TypeError(f"type {cls.__module__}.{cls.__name__} not available. "
                            "Torch not compiled with CUDA enabled.")
        return legacy_new(cls.dtype, args, kwargs)

    def __instancecheck__(cls, obj):
        return isinstance(obj, Tensor) and not cls.is_cuda and obj.dtype is cls.dtype

    def __repr__(cls):
        return f"<class '{cls.__module__}.{cls.__name__}'>"


tensortype.__module__ = "torch"


def _typed(name, dtype_, is_cuda=False):
    return tensortype(name, (), {"dtype": dtype_, "is_cuda": is_cuda,
                                 "__module__": "torch.cuda" if is_cuda else "torch"})


FloatTensor = _typed("FloatTensor", dtypes.float32)
DoubleTensor = _typed("DoubleTensor", dtypes.float64)
HalfTensor = _typed("HalfTensor", dtypes.float16)
LongTensor = _typed("LongTensor", dtypes.int64)
IntTensor = _typed("IntTensor", dtypes.int32)
ShortTensor = _typed("ShortTensor", dtypes.int16)
CharTensor = _typed("CharTensor", dtypes.int8)
ByteTensor = _typed("ByteTensor", dtypes.uint8)
BoolTensor = _typed("BoolTensor", dtypes.bool_)
_LEGACY_BY_NAME = {f"torch.{t.__name__}": t.dtype for t in (
    FloatTensor, DoubleTensor, HalfTensor, LongTensor, IntTensor, ShortTensor, CharTensor,
    ByteTensor, BoolTensor)}


# -- torch.cuda: a CPU-only build ---------------------------------------------------------------

cuda = types.ModuleType("torch.cuda", "CUDA is not available: this is a CPU-only runtime.")
cuda.is_available = lambda: False
cuda.device_count = lambda: 0
cuda.manual_seed = cuda.manual_seed_all = lambda seed: None
cuda.synchronize = cuda.empty_cache = lambda *args, **kwargs: None


def _cuda_unavailable(*args, **kwargs):
    raise AssertionError(CUDA_MISSING)


cuda.current_device = cuda.set_device = cuda.get_device_name = _cuda_unavailable
for _typed_name in ("FloatTensor", "DoubleTensor", "HalfTensor", "LongTensor", "IntTensor",
                    "ShortTensor", "CharTensor", "ByteTensor", "BoolTensor"):
    setattr(cuda, _typed_name, _typed(_typed_name, globals()[_typed_name].dtype, is_cuda=True))

backends = types.ModuleType("torch.backends")
backends.__path__ = []  # a package: `import torch.backends.cudnn as cudnn` (2017 GAN code)
backends.cudnn = types.ModuleType("torch.backends.cudnn")
backends.cudnn.benchmark, backends.cudnn.deterministic, backends.cudnn.enabled = False, False, True
backends.cudnn.is_available = lambda: False

del _typed_name

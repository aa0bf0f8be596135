"""The random ops of `torch` and `Tensor`, drawn from PyTorch's generator (runtime/random.py).

Factories (`torch.rand`, `randn`, `randint`, `randperm`, `normal`, `bernoulli`, `multinomial`,
the `*_like` forms), the in-place fills (`Tensor.normal_`, `uniform_`, `bernoulli_`,
`random_`, `exponential_`) and the global generator functions (`torch.manual_seed`, `seed`,
`initial_seed`, `get_rng_state`, `set_rng_state`, which are also `torch.random`'s). Each one
makes exactly the draws PyTorch's CPU kernel makes, so seeded programs print PyTorch's numbers.
`bind(Tensor)` attaches the methods; torch_facade exports the functions.
"""

from __future__ import annotations

import builtins

import numpy as np

from . import dtypes, random
from .random import Generator, default_generator, engine_of
from .core import Tensor
from .device import _check_device

__all__ = ["Generator", "default_generator", "manual_seed", "seed", "initial_seed",
           "get_rng_state", "set_rng_state", "rand", "randn", "randint", "randperm", "normal",
           "bernoulli", "multinomial", "rand_like", "randn_like", "randint_like"]


# -- the global generator ----------------------------------------------------------------


def manual_seed(seed):
    return default_generator.manual_seed(seed)


def seed():
    return default_generator.seed()


def initial_seed():
    return default_generator.initial_seed()


def get_rng_state():
    return Tensor._wrap(default_generator.get_state())


def set_rng_state(new_state):
    if not isinstance(new_state, Tensor) or new_state.dtype is not dtypes.uint8:
        raise TypeError(f"expected a torch.ByteTensor, but got {type(new_state).__name__}")
    default_generator.set_state(new_state._data)


# -- filling a tensor in place -------------------------------------------------------------


def _count(array) -> int:
    return int(array.size)


def _fill(tensor, values):
    tensor._check_inplace()
    return tensor._commit(Tensor._wrap(np.asarray(values).reshape(tensor._data.shape)))


def _floating(tensor, name):
    if not tensor.dtype.is_floating_point:
        raise NotImplementedError(f'"{name}" not implemented for \'{_type_name(tensor)}\'')


def _type_name(tensor):
    return {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(tensor._data.dtype.name, tensor._data.dtype.name)


def normal_(self, mean=0.0, std=1.0, *, generator=None):
    _floating(self, "normal_kernel_cpu")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    data = self._data
    values = random.normal(engine_of(generator), _count(data), float(mean), float(std),
                           data.dtype.type, contiguous=data.flags.c_contiguous)
    return _fill(self, values)


def uniform_(self, from_=0.0, to=1.0, *, generator=None, **kwargs):
    from_ = kwargs.pop("a", kwargs.pop("from", from_))
    to = kwargs.pop("b", to)
    _floating(self, "check_uniform_bounds")
    if from_ > to:
        raise RuntimeError(f"uniform_ expects to return a [from, to) range, but found from={from_} > to={to}")
    values = random.uniform(engine_of(generator), _count(self._data), float(from_), float(to),
                            self._data.dtype.type)
    return _fill(self, values)


def bernoulli_(self, p=0.5, *, generator=None):
    engine = engine_of(generator)
    if isinstance(p, Tensor):
        probabilities = np.broadcast_to(p._data, self._data.shape)
        return _fill(self, random.bernoulli_tensor(engine, np.ascontiguousarray(probabilities),
                                                   self._data.dtype.type))
    if not 0 <= p <= 1:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={p}")
    return _fill(self, random.bernoulli_scalar(engine, _count(self._data), float(p), self._data.dtype.type))


def random_(self, from_=0, to=None, *, generator=None):
    engine = engine_of(generator)
    if to is None and from_ == 0:
        return _fill(self, random.random_full(engine, _count(self._data), self._data.dtype.type))
    low, high = (0, from_) if to is None else (from_, to)
    return _fill(self, random.integers(engine, _count(self._data), low, high, self._data.dtype.type))


def exponential_(self, lambd=1.0, *, generator=None):
    _floating(self, "exponential_cpu")
    return _fill(self, random.exponential(engine_of(generator), _count(self._data), float(lambd),
                                          self._data.dtype.type))


def bernoulli(input, p=None, *, generator=None, out=None):
    """torch.bernoulli(input): each element 1 with probability input[i] (or p, a number)."""
    result = Tensor._wrap(np.empty_like(input._data))
    return bernoulli_(result, input if p is None else p, generator=generator)


def multinomial(input, num_samples=None, replacement=False, *, generator=None, out=None):
    if num_samples is None:  # 0.3 defaulted it to 1; PyTorch's own text (not Python's)
        from . import events

        events.record("multinomial-num-samples", "num_samples missing")
        raise TypeError('multinomial() missing 1 required positional arguments: "num_samples"')
    if input.dim() not in (1, 2):
        raise RuntimeError("prob_dist must be 1 or 2 dim")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"multinomial only supports floating-point dtypes for input, got: {_type_name(input)}")
    if num_samples <= 0:
        raise RuntimeError("cannot sample n_sample <= 0 samples")
    categories = input.shape[-1]
    if not replacement and num_samples > categories:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    data = input._data
    if (data < 0).any() or not np.isfinite(data).all():
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    if (data.sum(axis=-1) == 0).any():
        raise RuntimeError("invalid multinomial distribution (sum of probabilities <= 0)")
    return Tensor._wrap(random.multinomial(engine_of(generator), data, int(num_samples), replacement))


# -- factories -----------------------------------------------------------------------------


def _shape(size, kwargs):
    if "size" in kwargs:
        size = (kwargs.pop("size"),)
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(builtins.int(s) for s in size)


def _empty(shape, dtype, default, device, requires_grad):
    _check_device(device)
    target = dtypes.resolve(dtype) if dtype is not None else default
    result = Tensor._wrap(np.zeros(shape, dtype=target.numpy))
    return result, requires_grad


def _finish(result, requires_grad):
    if requires_grad:
        if not result.dtype.is_floating_point:
            raise RuntimeError("Only Tensors of floating point and complex dtype can require gradients")
        result._requires_grad = True
    return result


def rand(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
         pin_memory=False, **kwargs):
    result, grad = _empty(_shape(size, kwargs), dtype, dtypes.get_default_dtype(), device, requires_grad)
    return _finish(uniform_(result, 0, 1, generator=generator), grad)


def randn(*size, generator=None, out=None, dtype=None, layout=None, device=None, requires_grad=False,
          pin_memory=False, **kwargs):
    result, grad = _empty(_shape(size, kwargs), dtype, dtypes.get_default_dtype(), device, requires_grad)
    return _finish(normal_(result, 0, 1, generator=generator), grad)


def randint(*args, size=None, generator=None, out=None, dtype=None, layout=None, device=None,
            requires_grad=False, **kwargs):
    """torch.randint(high, size) or randint(low, high, size)."""
    args = list(args)
    if "low" in kwargs or "high" in kwargs:
        args = [kwargs.pop("low", 0), kwargs.pop("high")] + args
    if size is None:
        size = args.pop()
    low, high = (0, args[0]) if len(args) == 1 else args
    result, grad = _empty(tuple(size), dtype, dtypes.int64, device, requires_grad)
    return _finish(random_(result, builtins.int(low), builtins.int(high), generator=generator), grad)


def randperm(n, *, generator=None, out=None, dtype=None, layout=None, device=None,
             requires_grad=False, pin_memory=False):
    _check_device(device)
    if n < 0:
        raise RuntimeError(f"n must be non-negative, got{n}")
    target = dtypes.resolve(dtype) if dtype is not None else dtypes.int64
    values = random.randperm(engine_of(generator), builtins.int(n)).astype(target.numpy)
    return _finish(Tensor._wrap(values), requires_grad)


def normal(mean=0.0, std=1.0, size=None, *, generator=None, out=None, dtype=None, layout=None,
           device=None, pin_memory=False, requires_grad=False):
    """torch.normal: numbers with a size; or tensors, drawn as standard normals then
    `mul_(std).add_(mean)` (a number std: `normal_(0, std)` then `add_(mean)`), as ATen does."""
    mean_is_tensor, std_is_tensor = isinstance(mean, Tensor), isinstance(std, Tensor)
    if not mean_is_tensor and not std_is_tensor:
        if size is None:
            raise TypeError("normal() received an invalid combination of arguments")
        result, grad = _empty(tuple(size), dtype, dtypes.get_default_dtype(), device, requires_grad)
        return _finish(normal_(result, mean, std, generator=generator), grad)
    reference = mean if mean_is_tensor else std
    shape = np.broadcast_shapes(*(t.shape for t in (mean, std) if isinstance(t, Tensor)))
    result = Tensor._wrap(np.zeros(shape, dtype=reference._data.dtype))
    if std_is_tensor:
        normal_(result, 0, 1, generator=generator)
        values = result._data * std._data.astype(result._data.dtype)
    else:
        normal_(result, 0, std, generator=generator)
        values = result._data
    mean_values = mean._data if mean_is_tensor else mean
    return Tensor._wrap((values + np.asarray(mean_values, dtype=result._data.dtype)).astype(result._data.dtype))


def _like(fill):
    def like(input, *args, dtype=None, layout=None, device=None, requires_grad=False,
             memory_format=None, generator=None, **kwargs):
        _check_device(device)
        target = dtypes.resolve(dtype) if dtype is not None else input.dtype
        result = Tensor._wrap(np.zeros(input._data.shape, dtype=target.numpy))
        return _finish(fill(result, *args, generator=generator), requires_grad)

    return like


rand_like = _like(lambda t, generator: uniform_(t, 0, 1, generator=generator))
randn_like = _like(lambda t, generator: normal_(t, 0, 1, generator=generator))


def _randint_fill(t, *bounds, generator):
    low, high = (0, bounds[0]) if len(bounds) == 1 else bounds
    return random_(t, low, high, generator=generator)


randint_like = _like(_randint_fill)
rand_like.__name__, randn_like.__name__, randint_like.__name__ = "rand_like", "randn_like", "randint_like"


def bind(tensor_class) -> None:
    """Attach the in-place random fills and the sampling methods to Tensor."""
    for function in (normal_, uniform_, bernoulli_, random_, exponential_):
        setattr(tensor_class, function.__name__, function)
    tensor_class.bernoulli = bernoulli
    tensor_class.multinomial = multinomial


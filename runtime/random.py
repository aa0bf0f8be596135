"""PyTorch's CPU random number generator, bit for bit.

`torch.manual_seed(s)` seeds an mt19937 with the standard `init_genrand(s & 0xffffffff)`
(aten/src/ATen/core/MT19937RNGEngine.h); numpy's MT19937 bit generator is the same engine and
its legacy seeding is that same init, so it supplies the 32-bit words, fast. On top of it this
module re-implements the transforms of ATen's CPU kernels (DistributionsHelper.h,
TransformationHelper.h, native/cpu/DistributionTemplates.h, MultinomialKernel.cpp,
randperm in TensorFactories.cpp), in the same order of draws, so that a seeded program prints
the numbers PyTorch 2.13 prints:

- `random()` is one 32-bit word, `random64()` two words, the first one high.
- uniform: float32 keeps the low 24 bits of a word, float64 the low 53 bits of a random64,
  times 2**-digits, then `x * (to - from) + from` in the dtype's precision.
- normal, >= 16 contiguous elements: all uniforms first, then Box-Muller on blocks of 16
  (8 pairs (u[j], u[j+8])), the last block recomputed from 16 fresh uniforms when the size is
  not a multiple of 16. float32 runs the AVX2 kernel (PyTorch does not dispatch normal to
  AVX512) whose log and sincos are cephes polynomials (avx_mathfun.h), reproduced here in
  float32 arithmetic; float64 uses libm.
- normal, fewer elements (or not contiguous): double Box-Muller per element with a cached
  second value kept in the generator across calls (reset by manual_seed).
- integers in [low, high): `word % range + low`, with random64 when range >= 2**28.
- randperm: a Fisher-Yates shuffle drawing `random() % (n - i)`.
- bernoulli(p float): a double uniform < p per element (the default kernel; PyTorch uses an MKL
  stream instead on Intel CPUs, see `bernoulli_scalar`); bernoulli(p tensor): a uniform of p's
  precision < p.
- exponential: `-1/lambda * log1p(-u)` on a double uniform.
- multinomial: with replacement, a double uniform per sample searched in the normalised
  cumulative distribution; without replacement (or one sample), `argmax/topk(p / Exp(1))`.
"""

from __future__ import annotations

import math
import os

import numpy as np

DEFAULT_SEED = 67280421310721  # c10::detail::default_rng_seed_val: torch.Generator()'s seed
_U64 = (1 << 64) - 1


class Engine:
    """The state of one torch.Generator: the mt19937 words and the cached normal samples."""

    def __init__(self, seed: int = DEFAULT_SEED):
        self.seed(seed)

    def seed(self, seed: int) -> None:
        self.initial_seed = int(seed) & _U64
        self.bits = np.random.MT19937()
        self.bits._legacy_seeding(self.initial_seed & 0xFFFFFFFF)
        self.next_double_normal = None
        self.next_float_normal = None

    def copy_from(self, other: "Engine") -> None:
        self.initial_seed = other.initial_seed
        self.bits = np.random.MT19937()
        self.bits.state = other.bits.state
        self.next_double_normal = other.next_double_normal
        self.next_float_normal = other.next_float_normal

    def random(self, count: int) -> np.ndarray:
        """`count` 32-bit words (as uint64)."""
        return self.bits.random_raw(count) if count else np.zeros(0, np.uint64)

    def random64(self, count: int) -> np.ndarray:
        words = self.random(2 * count)
        return (words[0::2] << np.uint64(32)) | words[1::2]


# -- fused multiply-add, as the compiled kernels do it -------------------------------------


def _fma32(a, b, c) -> np.ndarray:
    """float32 a * b + c with one rounding: the product is exact in float64 (24 + 24 bits), so
    only the sum rounds (twice, float64 then float32, which differs only in the rarest ties)."""
    return (np.asarray(a, np.float64) * np.float64(b) + np.asarray(c, np.float64)).astype(np.float32)


def _fma64(a, b, c) -> np.ndarray:
    """float64 a * b + c with one rounding, by error-free transformations (Dekker's product,
    Knuth's sum); exact but in double-rounding corner cases far rarer than 1 in 10**9."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    product = a * b
    split = 134217729.0  # 2**27 + 1
    a_big = a * split
    a_high = a_big - (a_big - a)
    b_big = b * split
    b_high = b_big - (b_big - b)
    product_error = (((a_high * b_high - product) + a_high * (b - b_high))
                     + (a - a_high) * b_high) + (a - a_high) * (b - b_high)
    total = product + c
    virtual = total - product
    sum_error = (product - (total - virtual)) + (c - virtual)
    return total + (sum_error + product_error)


# -- uniform ------------------------------------------------------------------------------


def _uniform01(engine: Engine, count: int, precision) -> np.ndarray:
    """uniform_real_distribution<T>(0, 1): floats in [0, 1) of the given precision."""
    if precision == np.float64:
        return (engine.random64(count) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0**-53
    return ((engine.random(count) & np.uint64((1 << 24) - 1)).astype(np.float32)
            * np.float32(2.0**-24))


def _opmath(np_dtype):
    return np.float64 if np_dtype == np.float64 else np.float32


def uniform(engine: Engine, count: int, low: float, high: float, np_dtype) -> np.ndarray:
    """Tensor.uniform_(low, high) of `count` elements."""
    opmath = _opmath(np_dtype)
    x = _uniform01(engine, count, opmath)
    span = opmath(opmath(high) - opmath(low))
    fma = _fma64 if opmath == np.float64 else _fma32
    values = fma(x, span, opmath(low)).astype(np_dtype)
    # PyTorch: a value that rounds up to the upper bound in the target dtype becomes `low`
    values[values == np_dtype(high)] = np_dtype(low)
    return values


# -- normal -------------------------------------------------------------------------------

# The float32 kernel is avx_mathfun.h compiled by GCC, which fuses each multiply feeding an
# add into one FMA (-ffp-contract=fast); the choice of which multiply it fuses was found by
# comparing with PyTorch and is what makes the values bit-exact.
_F = np.float32


def _cephes_logf(x: np.ndarray) -> np.ndarray:
    """log256_ps of avx_mathfun.h (x in (0, 1] here), in float32 arithmetic."""
    x = np.maximum(x, _F(1.17549435e-38))
    bits = x.view(np.int32)
    exponent = ((bits >> 23) - 0x7F).astype(np.float32) + _F(1)
    x = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)  # mantissa in [0.5, 1)
    mask = x < _F(0.707106781186547524)
    tmp = np.where(mask, x, _F(0))
    x = x - _F(1)
    exponent = exponent - np.where(mask, _F(1), _F(0))
    x = x + tmp
    z = x * x
    y = np.full_like(x, _F(7.0376836292e-2))
    for coefficient in (-1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
                        -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1):
        y = _fma32(y, x, _F(coefficient))
    y = y * x
    y = _fma32(y, z, exponent * _F(-2.12194440e-4))
    y = _fma32(-z, _F(0.5), y)
    x = x + y
    return _fma32(exponent, _F(0.693359375), x)


def _cephes_sincosf(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """sincos256_ps of avx_mathfun.h (x >= 0 here), in float32 arithmetic."""
    x = np.abs(x)
    j = (x * _F(1.27323954473516)).astype(np.int32)  # truncation, as cvttps
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    sin_negative = (j & 4) != 0
    swap_polynomials = (j & 2) != 0
    cos_negative = ((j - 2) & 4) == 0
    for reduction in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F(reduction), x)
    z = x * x
    cos_poly = _fma32(_fma32(np.full_like(z, _F(2.443315711809948e-005)), z,
                             _F(-1.388731625493765e-003)), z, _F(4.166664568298827e-002))
    cos_poly = cos_poly * z
    cos_poly = _fma32(cos_poly, z, -(z * _F(0.5))) + _F(1)
    sin_poly = _fma32(_fma32(np.full_like(z, _F(-1.9515295891e-4)), z, _F(8.3321608736e-3)),
                      z, _F(-1.6666654611e-1))
    sin_poly = _fma32(sin_poly * z, x, x)
    sine = np.where(swap_polynomials, cos_poly, sin_poly)
    cosine = np.where(swap_polynomials, sin_poly, cos_poly)
    return np.where(sin_negative, -sine, sine), np.where(cos_negative, -cosine, cosine)


_libm_log = np.frompyfunc(math.log, 1, 1)  # PyTorch calls libm; numpy's own SIMD log differs
_libm_cos = np.frompyfunc(math.cos, 1, 1)
_libm_sin = np.frompyfunc(math.sin, 1, 1)


def _box_muller_16(block: np.ndarray, mean: float, std: float) -> np.ndarray:
    """NormalFill16 on rows of 16 uniforms (shape (k, 16)): the float32 AVX2 kernel or the
    double one."""
    u1 = block[:, :8]
    u2 = block[:, 8:]
    out = np.empty_like(block)
    if block.dtype == np.float32:
        radius = np.sqrt(_F(-2) * _cephes_logf(_F(1) - u1))
        sine, cosine = _cephes_sincosf(_F(2.0 * math.pi) * u2)
        out[:, :8] = _fma32(radius * cosine, _F(std), _F(mean))
        out[:, 8:] = _fma32(radius * sine, _F(std), _F(mean))
    else:
        radius = np.sqrt(-2 * _libm_log(1 - u1).astype(np.float64))
        theta = 2.0 * math.pi * u2
        out[:, :8] = _fma64(radius * _libm_cos(theta).astype(np.float64), std, mean)
        out[:, 8:] = _fma64(radius * _libm_sin(theta).astype(np.float64), std, mean)
    return out


def normal(engine: Engine, count: int, mean: float, std: float, np_dtype,
           contiguous: bool = True) -> np.ndarray:
    """Tensor.normal_(mean, std) of `count` elements."""
    if count >= 16 and contiguous:
        opmath = _opmath(np_dtype)
        data = _uniform01(engine, count, opmath)
        whole = count - count % 16
        data[:whole] = _box_muller_16(data[:whole].reshape(-1, 16), mean, std).reshape(-1)
        if count % 16:
            tail = _uniform01(engine, 16, opmath)
            data[count - 16:] = _box_muller_16(tail.reshape(1, 16), mean, std).reshape(-1)
        return data.astype(np_dtype)
    return np.array([_normal_double(engine, mean, std) for _ in range(count)]).astype(np_dtype)


def _normal_double(engine: Engine, mean: float, std: float) -> float:
    """normal_distribution<double>: Box-Muller, the second value cached in the generator."""
    if engine.next_double_normal is not None:
        value, engine.next_double_normal = engine.next_double_normal, None
        return float(_fma64(value, std, mean))
    u1, u2 = _uniform01(engine, 2, np.float64)
    radius = math.sqrt(-2.0 * math.log1p(-float(u2)))
    theta = 2.0 * math.pi * float(u1)
    engine.next_double_normal = radius * math.sin(theta)
    return float(_fma64(radius * math.cos(theta), std, mean))


# -- integers -----------------------------------------------------------------------------


def integers(engine: Engine, count: int, low: int, high: int, np_dtype) -> np.ndarray:
    """Tensor.random_(low, high) / torch.randint: `word % (high - low) + low`."""
    span = int(high) - int(low)
    if span <= 0:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    words = engine.random64(count) if span >= 1 << 28 else engine.random(count)
    values = (words % np.uint64(span)).astype(np.int64) + np.int64(low)
    return values.astype(np_dtype)


def random_full(engine: Engine, count: int, np_dtype) -> np.ndarray:
    """Tensor.random_() without bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    kind = np.dtype(np_dtype)
    if kind == np.float64 or kind == np.int64:
        words = engine.random64(count)
    else:
        words = engine.random(count)
    if kind.kind == "f":
        modulus = (1 << {np.dtype(np.float64): 53, np.dtype(np.float32): 24}.get(kind, 11)) + 1
    elif kind == np.bool_:
        modulus = 2
    else:
        modulus = int(np.iinfo(kind).max) + 1
    return (words % np.uint64(modulus)).astype(np_dtype)


def randperm(engine: Engine, n: int) -> np.ndarray:
    """torch.randperm(n): Fisher-Yates over 0..n-1, swapping i with i + random() % (n - i)."""
    order = list(range(n))
    if n > 1:
        words = engine.random(n - 1).tolist()
        for i, word in enumerate(words):
            j = i + word % (n - i)
            order[i], order[j] = order[j], order[i]
    return np.array(order, dtype=np.int64)


# -- bernoulli, exponential, multinomial ----------------------------------------------------


def bernoulli_scalar(engine: Engine, count: int, p: float, np_dtype) -> np.ndarray:
    """Tensor.bernoulli_(p) for a number p: one double uniform per element, `u < p`.

    This is PyTorch's default CPU kernel (used on AMD and other non-Intel CPUs); on Intel CPUs
    PyTorch's MKL build draws from an MKL MCG31 stream instead, which is not reproduced."""
    return (_uniform01(engine, count, np.float64) < p).astype(np_dtype)


def bernoulli_tensor(engine: Engine, p: np.ndarray, np_dtype) -> np.ndarray:
    """torch.bernoulli(p) / Tensor.bernoulli_(p tensor): a uniform of p's precision per element."""
    precision = np.float64 if p.dtype == np.float64 else np.float32
    u = _uniform01(engine, p.size, precision).reshape(p.shape)
    return (u < p.astype(precision)).astype(np_dtype)


def exponential(engine: Engine, count: int, lambd: float, np_dtype) -> np.ndarray:
    """Tensor.exponential_(lambd): `-1/lambd * log1p(-u)` on a double uniform."""
    u = _uniform01(engine, count, np.float64)
    log1p = np.frompyfunc(math.log1p, 1, 1)
    return ((-1.0 / lambd) * log1p(-u).astype(np.float64)).astype(np_dtype)


def multinomial(engine: Engine, probs: np.ndarray, num_samples: int, replacement: bool) -> np.ndarray:
    """torch.multinomial on a 1-d or 2-d array of weights."""
    rows = probs.reshape(1, -1) if probs.ndim == 1 else probs
    if not replacement or num_samples == 1:
        # Distributions.cpp: argmax / topk of p / q with q ~ Exp(1) drawn for every entry
        q = exponential(engine, rows.size, 1.0, rows.dtype).reshape(rows.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            keys = rows / q
        if num_samples == 1:
            result = np.argmax(keys, axis=-1).reshape(-1, 1)
        else:
            result = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
    else:
        result = np.empty((rows.shape[0], num_samples), dtype=np.int64)
        for i, row in enumerate(rows):
            cumulative = np.cumsum(row, dtype=row.dtype)
            cumulative = cumulative / cumulative[-1]
            cumulative[-1] = 1
            u = _uniform01(engine, num_samples, np.float64)
            result[i] = np.searchsorted(cumulative.astype(np.float64), u, side="left")
    result = result.astype(np.int64)
    return result.reshape(-1) if probs.ndim == 1 else result


# -- torch.Generator ------------------------------------------------------------------------

_STATE_BYTES = 5056  # sizeof(CPUGeneratorImplState), the layout of torch.get_rng_state()


class Generator:
    """torch.Generator: a CPU generator, seeded with 67280421310721 unless seeded otherwise."""

    def __init__(self, device="cpu"):
        if str(device) != "cpu":
            raise RuntimeError("Device type CUDA is not supported for torch.Generator() api.")
        self.device = device
        self._engine = Engine(DEFAULT_SEED)

    def manual_seed(self, seed):
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            seed = int(seed)  # torch accepts numbers convertible to int, e.g. numpy ints, floats
        seed = int(seed)
        if not -(1 << 63) <= seed <= _U64:
            raise RuntimeError(
                "Overflow when unpacking long long" if seed > _U64 else
                "Overflow when unpacking long")
        self._engine.seed(seed)
        return self

    def initial_seed(self) -> int:
        return self._engine.initial_seed

    def seed(self) -> int:
        value = int.from_bytes(os.urandom(8), "little")
        self._engine.seed(value)
        return value

    def get_state(self) -> np.ndarray:
        """The generator's state in PyTorch's byte layout (so torch.set_rng_state accepts it)."""
        engine = self._engine
        state = engine.bits.state["state"]
        position = int(state["pos"])
        buffer = bytearray(_STATE_BYTES)
        left = 1 if position >= 624 else 625 - position
        np.frombuffer(buffer, np.uint64, 1, 0)[:] = engine.initial_seed
        np.frombuffer(buffer, np.int32, 2, 8)[:] = (left, 1)
        np.frombuffer(buffer, np.uint64, 1, 16)[:] = position if position < 624 else 0
        np.frombuffer(buffer, np.uint64, 624, 24)[:] = np.asarray(state["key"], np.uint64)
        if engine.next_double_normal is not None:
            np.frombuffer(buffer, np.float64, 1, 5024)[:] = engine.next_double_normal
            np.frombuffer(buffer, np.int32, 1, 5040)[:] = 1
        if engine.next_float_normal is not None:
            np.frombuffer(buffer, np.float32, 1, 5048)[:] = engine.next_float_normal
            buffer[5052] = 1
        return np.frombuffer(bytes(buffer), np.uint8).copy()

    def set_state(self, new_state: np.ndarray) -> "Generator":
        raw = np.ascontiguousarray(new_state, np.uint8).tobytes()
        if len(raw) != _STATE_BYTES:
            raise RuntimeError(f"Expected a CPUGeneratorImplState of size {_STATE_BYTES} but found "
                               f"the input RNG state size to be {len(raw)}")
        left, _seeded = np.frombuffer(raw, np.int32, 2, 8)
        position = int(np.frombuffer(raw, np.uint64, 1, 16)[0])
        engine = self._engine
        engine.initial_seed = int(np.frombuffer(raw, np.uint64, 1, 0)[0])
        engine.bits = np.random.MT19937()
        engine.bits.state = {"bit_generator": "MT19937", "state": {
            "key": np.frombuffer(raw, np.uint64, 624, 24).astype(np.uint32),
            "pos": 624 if left <= 1 else position}}
        valid_double = np.frombuffer(raw, np.int32, 1, 5040)[0]
        engine.next_double_normal = float(np.frombuffer(raw, np.float64, 1, 5024)[0]) if valid_double else None
        engine.next_float_normal = float(np.frombuffer(raw, np.float32, 1, 5048)[0]) if raw[5052] else None
        return self

    def __repr__(self):
        return f"<torch._C.Generator object at {id(self):#x}>"


default_generator = Generator()
default_generator.seed()  # PyTorch seeds its default generator nondeterministically


def engine_of(generator) -> Engine:
    """The engine a random op draws from: its `generator=` argument or the default one."""
    if generator is None:
        return default_generator._engine
    if not isinstance(generator, Generator):
        raise TypeError(f"expected a torch.Generator, got {type(generator).__name__}")
    return generator._engine


def dropout_mask(shape, np_dtype, p: float, generator=None) -> np.ndarray:
    """The noise of F.dropout (and, with the feature shape, Dropout2d): `bernoulli_(1 - p)`
    on an array of the input's dtype, then divided in place by `1 - p` in that dtype."""
    count = int(np.prod(shape)) if len(shape) else 1
    keep = bernoulli_scalar(engine_of(generator), count, 1 - p, np_dtype).reshape(shape)
    return (keep / np_dtype(1 - p)).astype(np_dtype)

"""Gradient checks of the reference runtime: the analytic gradient its ``backward()`` computes
equals central finite differences of its own forward pass, in float64.

For an op ``f`` and inputs ``x1..xn`` (float64 leaves with ``requires_grad=True``) the test
draws fixed weights ``W`` of the output's shape, runs ``(f(x1..xn) * W).sum().backward()`` and
compares every ``xi.grad`` with ``(L(xi + eps) - L(xi - eps)) / 2 eps`` element by element,
where ``L = sum(f(...) * W)`` is evaluated in numpy from the runtime's forward output.

Inputs come from hypothesis (shapes, broadcasting, values), kept away from the points where an
op is not differentiable (0 for abs/relu, the bounds of clamp, ties for max/min) and inside the
domain of log/sqrt. ``VARLINT_TEST_BACKEND=torch`` runs the same checks on real PyTorch,
which validates the test itself; ``VARLINT_HYPOTHESIS_EXAMPLES=N`` hunts with N random examples.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

if os.environ.get("VARLINT_TEST_BACKEND") == "torch":
    T = pytest.importorskip("torch")
    F = T.nn.functional
else:
    import runtime.torch_facade as T

    try:
        F = T.nn.functional
    except AttributeError:  # the facade is expected to expose it; fall back to the module
        import runtime.functional as F

# VARLINT_HYPOTHESIS_EXAMPLES=N: N random (not derandomized) examples per test, for bug hunting
_HUNT = os.environ.get("VARLINT_HYPOTHESIS_EXAMPLES")
GRADCHECK_SETTINGS = settings(
    max_examples=int(_HUNT) if _HUNT else 12,
    deadline=None,
    derandomize=not _HUNT,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)

EPS = 1e-6
ATOL = 1e-5
RTOL = 1e-4


# --------------------------------------------------------------------------------------------
# the check
# --------------------------------------------------------------------------------------------


def to_numpy(tensor) -> np.ndarray:
    return np.array(tensor.detach().numpy(), dtype=np.float64)


def make(array: np.ndarray, requires_grad: bool = False):
    """A float64 runtime tensor with the values of ``array`` (0-d arrays give 0-d tensors)."""
    return T.tensor(np.asarray(array, dtype=np.float64).tolist(), dtype=T.float64, requires_grad=requires_grad)


def assert_gradients_match(fn, arrays, *, seed: int = 0, check_dtype: bool = True) -> None:
    """Analytic gradient of ``sum(fn(*inputs) * W)`` vs central finite differences."""
    arrays = [np.asarray(a, dtype=np.float64) for a in arrays]
    leaves = [make(a, requires_grad=True) for a in arrays]
    out = fn(*leaves)
    if check_dtype:
        assert out.dtype == T.float64, f"float64 inputs gave an output of dtype {out.dtype}"
    assert out.requires_grad, "the output of an op on inputs that require grad must require grad"
    assert out.grad_fn is not None, "the output of an op on inputs that require grad must have a grad_fn"
    out_values = to_numpy(out)
    rng = np.random.default_rng(seed)
    weights = rng.uniform(0.5, 1.5, size=out_values.shape) * rng.choice([-1.0, 1.0], size=out_values.shape)

    (out * make(weights)).sum().backward()

    def weighted_output(values: list[np.ndarray]) -> float:
        result = to_numpy(fn(*[make(v) for v in values]))
        assert result.shape == out_values.shape
        return float((result * weights).sum())

    for index, (leaf, array) in enumerate(zip(leaves, arrays)):
        assert leaf.grad is not None, f"input {index} got no gradient"
        analytic = to_numpy(leaf.grad)
        assert analytic.shape == array.shape, f"input {index}: grad shape {analytic.shape} != {array.shape}"
        numeric = np.zeros_like(array)
        for position in np.ndindex(*array.shape):
            plus = [a.copy() for a in arrays]
            minus = [a.copy() for a in arrays]
            plus[index][position] += EPS
            minus[index][position] -= EPS
            numeric[position] = (weighted_output(plus) - weighted_output(minus)) / (2 * EPS)
        np.testing.assert_allclose(
            analytic, numeric, rtol=RTOL, atol=ATOL, err_msg=f"gradient of input {index} (shape {array.shape})"
        )


# --------------------------------------------------------------------------------------------
# strategies
# --------------------------------------------------------------------------------------------

small_shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3)
matrix_shapes = hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=4)
nonempty_dims_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3)

REAL = st.floats(-2.0, 2.0, allow_nan=False, allow_infinity=False)
POSITIVE = st.floats(0.2, 3.0)
NONZERO = st.builds(lambda m, s: m * s, st.floats(0.2, 2.0), st.sampled_from([-1.0, 1.0]))
PROBABILITY = st.floats(0.05, 0.95)
UNIT = st.floats(0.0, 1.0)


def draw_array(data, shape, elements=REAL) -> np.ndarray:
    return data.draw(hnp.arrays(np.float64, shape, elements=elements))


def draw_distinct(data, shape) -> np.ndarray:
    """Values at least 0.05 apart and at least 0.05 away from 0 (no ties, no kink at 0)."""
    size = int(np.prod(shape, dtype=int))
    integers = data.draw(
        st.lists(st.integers(-60, 60).filter(lambda i: i != 0), min_size=size, max_size=size, unique=True)
    )
    return (np.array(integers, dtype=np.float64) / 20.0).reshape(shape)


def draw_away_from(data, shape, points, margin=0.05, low=-2.0, high=2.0) -> np.ndarray:
    """Values in [low, high] at least ``margin`` away from each of ``points``."""
    elements = st.floats(low, high).filter(lambda v: all(abs(v - p) >= margin for p in points))
    return draw_array(data, shape, elements)


def draw_dim(data, ndim: int, allow_negative: bool = True) -> int:
    low = -ndim if allow_negative else 0
    return data.draw(st.integers(low, ndim - 1))


# --------------------------------------------------------------------------------------------
# elementwise binary ops with broadcasting (hypothesis shapes)
# --------------------------------------------------------------------------------------------

BINARY_OPS = {
    "add": (lambda a, b: a + b, REAL, REAL),
    "sub": (lambda a, b: a - b, REAL, REAL),
    "mul": (lambda a, b: a * b, REAL, REAL),
    "div": (lambda a, b: a / b, REAL, NONZERO),
    "pow_tensor_exponent": (lambda a, b: a**b, POSITIVE, REAL),
    "torch.add": (lambda a, b: T.add(a, b), REAL, REAL),
    "torch.mul": (lambda a, b: T.mul(a, b), REAL, REAL),
    "torch.div": (lambda a, b: T.div(a, b), REAL, NONZERO),
    "torch.sub": (lambda a, b: T.sub(a, b), REAL, REAL),
    "torch.pow": (lambda a, b: T.pow(a, b), POSITIVE, REAL),
    "method.add": (lambda a, b: a.add(b), REAL, REAL),
    "method.mul": (lambda a, b: a.mul(b), REAL, REAL),
    "method.div": (lambda a, b: a.div(b), REAL, NONZERO),
    "method.sub": (lambda a, b: a.sub(b), REAL, REAL),
    "method.pow": (lambda a, b: a.pow(b), POSITIVE, REAL),
}


@pytest.mark.parametrize("name", list(BINARY_OPS))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_binary_op_with_broadcasting(name, data):
    op, left_elements, right_elements = BINARY_OPS[name]
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=3))
    left_shape, right_shape = shapes.input_shapes
    left = draw_array(data, left_shape, left_elements)
    right = draw_array(data, right_shape, right_elements)
    assert_gradients_match(op, [left, right])


BROADCAST_PAIRS = [
    ((3, 1), (1, 4)),
    ((2, 3), (3,)),
    ((3,), (2, 3)),
    ((), (2, 3)),
    ((2, 3), ()),
    ((2, 1, 3), (4, 1)),
    ((1,), (3, 2)),
]


@pytest.mark.parametrize("left_shape,right_shape", BROADCAST_PAIRS, ids=lambda s: "x".join(map(str, s)) or "0d")
@pytest.mark.parametrize("name", ["add", "sub", "mul", "div", "pow_tensor_exponent"])
def test_binary_op_on_named_broadcast_shapes(name, left_shape, right_shape):
    op, left_elements, right_elements = BINARY_OPS[name]
    rng = np.random.default_rng(1)
    left = rng.uniform(0.3, 2.0, size=left_shape)
    right = rng.uniform(0.3, 2.0, size=right_shape) * rng.choice([-1.0, 1.0], size=right_shape)
    assert_gradients_match(op, [left, right])


def test_same_tensor_used_twice_accumulates_inside_the_graph():
    rng = np.random.default_rng(2)
    x = rng.uniform(-2, 2, size=(2, 3))
    assert_gradients_match(lambda a: a * a + a.exp() * a - a, [x])


def test_diamond_graph():
    rng = np.random.default_rng(3)
    x = rng.uniform(-1, 1, size=(3,))
    w = rng.uniform(-1, 1, size=(3,))

    def diamond(a, b):
        h = a * b
        return h.tanh() * h.sigmoid() + h

    assert_gradients_match(diamond, [x, w])


def test_zero_dim_tensor_times_tensor():
    assert_gradients_match(lambda s, x: s * x + s, [np.array(1.5), np.array([[0.5, -1.0], [2.0, 0.25]])])


# --------------------------------------------------------------------------------------------
# python scalar with tensor (both sides) and scalar exponents
# --------------------------------------------------------------------------------------------

SCALAR_OPS = {
    "x + 2.5": (lambda x: x + 2.5, REAL),
    "2.5 + x": (lambda x: 2.5 + x, REAL),
    "x - 1.5": (lambda x: x - 1.5, REAL),
    "1.5 - x": (lambda x: 1.5 - x, REAL),
    "x * -3": (lambda x: x * -3, REAL),
    "-3 * x": (lambda x: -3 * x, REAL),
    "x / 4": (lambda x: x / 4, REAL),
    "4 / x": (lambda x: 4 / x, NONZERO),
    "x ** 2": (lambda x: x**2, REAL),
    "x ** 3": (lambda x: x**3, REAL),
    "x ** 2.0": (lambda x: x**2.0, REAL),
    "x ** 0.5": (lambda x: x**0.5, POSITIVE),
    "x ** -1": (lambda x: x**-1, NONZERO),
    "x ** -1.5": (lambda x: x**-1.5, POSITIVE),
    "2 ** x": (lambda x: 2**x, REAL),
    "x.pow(2)": (lambda x: x.pow(2), REAL),
    "torch.pow(x, 3)": (lambda x: T.pow(x, 3), REAL),
    "x.add(2)": (lambda x: x.add(2), REAL),
    "x.mul(0.5)": (lambda x: x.mul(0.5), REAL),
    "x.div(2)": (lambda x: x.div(2), REAL),
    "x.sub(1)": (lambda x: x.sub(1), REAL),
}


@pytest.mark.parametrize("name", list(SCALAR_OPS))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_scalar_and_tensor(name, data):
    op, elements = SCALAR_OPS[name]
    x = draw_array(data, data.draw(small_shapes), elements)
    assert_gradients_match(op, [x])


# --------------------------------------------------------------------------------------------
# elementwise unary ops
# --------------------------------------------------------------------------------------------


def _array_kind(kind):
    def draw(data, shape):
        if kind == "positive":
            return draw_array(data, shape, POSITIVE)
        if kind == "nonzero":
            return draw_array(data, shape, NONZERO)
        if kind == "clamp":
            return draw_away_from(data, shape, points=(-0.5, 1.0))
        return draw_array(data, shape, REAL)

    return draw


UNARY_OPS = {
    "-x": (lambda x: -x, "real"),
    "x.neg()": (lambda x: x.neg(), "real"),
    "x.exp()": (lambda x: x.exp(), "real"),
    "torch.exp": (lambda x: T.exp(x), "real"),
    "x.log()": (lambda x: x.log(), "positive"),
    "torch.log": (lambda x: T.log(x), "positive"),
    "x.sqrt()": (lambda x: x.sqrt(), "positive"),
    "torch.sqrt": (lambda x: T.sqrt(x), "positive"),
    "x.abs()": (lambda x: x.abs(), "nonzero"),
    "torch.abs": (lambda x: T.abs(x), "nonzero"),
    "abs(x)": (lambda x: abs(x), "nonzero"),
    "x.clamp(-0.5, 1.0)": (lambda x: x.clamp(-0.5, 1.0), "clamp"),
    "x.clamp(min=-0.5)": (lambda x: x.clamp(min=-0.5), "clamp"),
    "x.clamp(max=1.0)": (lambda x: x.clamp(max=1.0), "clamp"),
    "torch.clamp": (lambda x: T.clamp(x, -0.5, 1.0), "clamp"),
    "x.relu()": (lambda x: x.relu(), "nonzero"),
    "torch.relu": (lambda x: T.relu(x), "nonzero"),
    "F.relu": (lambda x: F.relu(x), "nonzero"),
    "x.sigmoid()": (lambda x: x.sigmoid(), "real"),
    "torch.sigmoid": (lambda x: T.sigmoid(x), "real"),
    "x.tanh()": (lambda x: x.tanh(), "real"),
    "torch.tanh": (lambda x: T.tanh(x), "real"),
}


@pytest.mark.parametrize("name", list(UNARY_OPS))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_unary_op(name, data):
    op, kind = UNARY_OPS[name]
    x = _array_kind(kind)(data, data.draw(small_shapes))
    assert_gradients_match(op, [x])


# --------------------------------------------------------------------------------------------
# reductions
# --------------------------------------------------------------------------------------------

FULL_REDUCTIONS = {
    "x.sum()": (lambda x: x.sum(), False),
    "torch.sum": (lambda x: T.sum(x), False),
    "x.mean()": (lambda x: x.mean(), False),
    "torch.mean": (lambda x: T.mean(x), False),
    "x.max()": (lambda x: x.max(), True),
    "torch.max": (lambda x: T.max(x), True),
    "x.min()": (lambda x: x.min(), True),
    "torch.min": (lambda x: T.min(x), True),
}


@pytest.mark.parametrize("name", list(FULL_REDUCTIONS))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_full_reduction(name, data):
    op, needs_distinct = FULL_REDUCTIONS[name]
    shape = data.draw(small_shapes)
    x = draw_distinct(data, shape) if needs_distinct else draw_array(data, shape)
    assert_gradients_match(op, [x])


DIM_REDUCTIONS = {
    "x.sum(dim)": (lambda x, d, k: x.sum(d) if not k else x.sum(d, keepdim=True), False),
    "x.sum(dim=dim)": (lambda x, d, k: x.sum(dim=d, keepdim=k), False),
    "torch.sum(x, dim)": (lambda x, d, k: T.sum(x, d, keepdim=k), False),
    "x.mean(dim)": (lambda x, d, k: x.mean(d) if not k else x.mean(d, keepdim=True), False),
    "x.mean(dim=dim)": (lambda x, d, k: x.mean(dim=d, keepdim=k), False),
    "torch.mean(x, dim)": (lambda x, d, k: T.mean(x, d, keepdim=k), False),
    "x.max(dim)[0]": (lambda x, d, k: x.max(d, keepdim=k)[0], True),
    "x.max(dim).values": (lambda x, d, k: x.max(dim=d, keepdim=k).values, True),
    "torch.max(x, dim)[0]": (lambda x, d, k: T.max(x, d, keepdim=k)[0], True),
    "x.min(dim)[0]": (lambda x, d, k: x.min(d, keepdim=k)[0], True),
    "x.min(dim).values": (lambda x, d, k: x.min(dim=d, keepdim=k).values, True),
}


@pytest.mark.parametrize("name", list(DIM_REDUCTIONS))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_reduction_over_dim(name, data):
    op, needs_distinct = DIM_REDUCTIONS[name]
    shape = data.draw(nonempty_dims_shapes)
    dim = draw_dim(data, len(shape))
    keepdim = data.draw(st.booleans())
    x = draw_distinct(data, shape) if needs_distinct else draw_array(data, shape)
    expected_shape = list(shape)
    if keepdim:
        expected_shape[dim] = 1
    else:
        del expected_shape[dim]
    result = op(make(x), dim, keepdim)
    assert tuple(result.shape) == tuple(expected_shape), f"shape of the reduction over dim {dim}"
    assert_gradients_match(lambda t: op(t, dim, keepdim), [x])


def test_sum_over_all_elements_of_a_3d_tensor_with_tuple_dims():
    x = np.arange(24, dtype=np.float64).reshape(2, 3, 4) / 10
    assert_gradients_match(lambda t: t.sum((0, 2)), [x])


def test_max_over_dim_routes_gradient_to_the_argmax():
    x = np.array([[1.0, 3.0, 2.0], [0.5, -1.0, 4.0]])
    leaf = make(x, requires_grad=True)
    values, indices = leaf.max(1)
    values.sum().backward()
    np.testing.assert_array_equal(to_numpy(leaf.grad), [[0, 1, 0], [0, 0, 1]])
    assert indices.tolist() == [1, 2]


# --------------------------------------------------------------------------------------------
# matrix products
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", ["x.mm(w)", "torch.mm", "x.matmul(w)", "torch.matmul", "x @ w"])
@GRADCHECK_SETTINGS
@given(data=st.data(), n=st.integers(1, 3), k=st.integers(1, 4), m=st.integers(1, 3))
def test_matrix_product_2d(form, data, n, k, m):
    op = {
        "x.mm(w)": lambda a, b: a.mm(b),
        "torch.mm": lambda a, b: T.mm(a, b),
        "x.matmul(w)": lambda a, b: a.matmul(b),
        "torch.matmul": lambda a, b: T.matmul(a, b),
        "x @ w": lambda a, b: a @ b,
    }[form]
    assert_gradients_match(op, [draw_array(data, (n, k)), draw_array(data, (k, m))])


MATMUL_SHAPES = {
    "vector @ vector": ((3,), (3,)),
    "matrix @ vector": ((2, 3), (3,)),
    "vector @ matrix": ((3,), (3, 2)),
    "batch @ batch": ((2, 2, 3), (2, 3, 4)),
    "batch @ matrix": ((2, 2, 3), (3, 2)),
}


@pytest.mark.parametrize("name", list(MATMUL_SHAPES))
def test_matmul_shapes(name):
    left_shape, right_shape = MATMUL_SHAPES[name]
    rng = np.random.default_rng(4)
    assert_gradients_match(lambda a, b: a @ b, [rng.uniform(-1, 1, left_shape), rng.uniform(-1, 1, right_shape)])


def test_linear_layer_expression():
    rng = np.random.default_rng(5)
    x, w, b = rng.uniform(-1, 1, (4, 3)), rng.uniform(-1, 1, (3, 2)), rng.uniform(-1, 1, (2,))
    assert_gradients_match(lambda x, w, b: (x.mm(w) + b).sigmoid(), [x, w, b])


# --------------------------------------------------------------------------------------------
# views and shape ops
# --------------------------------------------------------------------------------------------

SHAPE_OPS = {
    "view(-1)": lambda x: x.view(-1),
    "view(4, 3)": lambda x: x.view(4, 3),
    "view((2, 6))": lambda x: x.view((2, 6)),
    "view(2, -1)": lambda x: x.view(2, -1),
    "reshape(6, 2)": lambda x: x.reshape(6, 2),
    "reshape((12,))": lambda x: x.reshape((12,)),
    "torch.reshape": lambda x: T.reshape(x, (2, 2, 3)),
    "t()": lambda x: x.t(),
    "torch.t": lambda x: T.t(x),
    "transpose(0, 1)": lambda x: x.transpose(0, 1),
    "transpose(1, 0)": lambda x: x.transpose(1, 0),
    "transpose(-1, -2)": lambda x: x.transpose(-1, -2),
    "torch.transpose": lambda x: T.transpose(x, 0, 1),
    "unsqueeze(0)": lambda x: x.unsqueeze(0),
    "unsqueeze(1)": lambda x: x.unsqueeze(1),
    "unsqueeze(-1)": lambda x: x.unsqueeze(-1),
    "torch.unsqueeze": lambda x: T.unsqueeze(x, 2),
    "unsqueeze(0).squeeze()": lambda x: x.unsqueeze(0).squeeze(),
    "unsqueeze(1).squeeze(1)": lambda x: x.unsqueeze(1).squeeze(1),
    "view(3, 1, 4).squeeze(1)": lambda x: x.view(3, 1, 4).squeeze(1),
    "squeeze(0) on a non-1 dim": lambda x: x.squeeze(0),
    "torch.squeeze": lambda x: T.squeeze(x.view(1, 12, 1)),
    "t().view(-1) (contiguous)": lambda x: x.t().reshape(-1),
}


@pytest.mark.parametrize("name", list(SHAPE_OPS))
def test_shape_op(name):
    x = np.arange(12, dtype=np.float64).reshape(3, 4) / 7 - 0.5
    assert_gradients_match(SHAPE_OPS[name], [x])


@GRADCHECK_SETTINGS
@given(data=st.data())
def test_random_transpose_and_reshape(data):
    shape = data.draw(hnp.array_shapes(min_dims=2, max_dims=3, min_side=1, max_side=3))
    x = draw_array(data, shape)
    d0, d1 = draw_dim(data, len(shape)), draw_dim(data, len(shape))
    assert_gradients_match(lambda t: (t.transpose(d0, d1) * 2).reshape(-1), [x])


# --------------------------------------------------------------------------------------------
# indexing and slicing
# --------------------------------------------------------------------------------------------

INDEXING = {
    "x[0]": lambda x: x[0],
    "x[-1]": lambda x: x[-1],
    "x[1, 2]": lambda x: x[1, 2],
    "x[1][2]": lambda x: x[1][2],
    "x[1:]": lambda x: x[1:],
    "x[:2]": lambda x: x[:2],
    "x[:, 0]": lambda x: x[:, 0],
    "x[:, 1:3]": lambda x: x[:, 1:3],
    "x[::2]": lambda x: x[::2],
    "x[:, ::2]": lambda x: x[:, ::2],
    "x[0, 1:]": lambda x: x[0, 1:],
    "x[1:, -1]": lambda x: x[1:, -1],
    "x[..., 1]": lambda x: x[..., 1],
    "x[None]": lambda x: x[None],
    "x[[0, 2]]": lambda x: x[[0, 2]],
    "x[long tensor]": lambda x: x[T.tensor([2, 0, 2])],
    "x[x > 0]": lambda x: x[x > 0],
}


@pytest.mark.parametrize("name", list(INDEXING))
def test_indexing(name):
    x = np.arange(12, dtype=np.float64).reshape(3, 4) / 5 - 1.1
    assert_gradients_match(INDEXING[name], [x])


@GRADCHECK_SETTINGS
@given(data=st.data())
def test_random_slices(data):
    shape = data.draw(hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4))
    x = draw_array(data, shape)
    index = data.draw(hnp.basic_indices(shape, min_dims=0, allow_newaxis=False, allow_ellipsis=False))
    if not isinstance(index, tuple):
        index = (index,)
    if any(isinstance(i, slice) and i.step is not None and i.step < 0 for i in index):
        index = tuple(slice(i.start, i.stop, None) if isinstance(i, slice) else i for i in index)
    # empty selections have nothing to check
    if np.asarray(x)[index].size == 0:
        return
    assert_gradients_match(lambda t: t[index], [x])


# --------------------------------------------------------------------------------------------
# cat / stack
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_cat(dim, count):
    rng = np.random.default_rng(6)
    arrays = []
    for i in range(count):
        shape = [2, 3]
        shape[dim] = i + 1
        arrays.append(rng.uniform(-1, 1, shape))
    assert_gradients_match(lambda *ts: T.cat(list(ts), dim), arrays)


def test_cat_as_tuple_with_keyword_dim():
    rng = np.random.default_rng(7)
    a, b = rng.uniform(-1, 1, (2, 2)), rng.uniform(-1, 1, (2, 3))
    assert_gradients_match(lambda x, y: T.cat((x, y), dim=1), [a, b])


@pytest.mark.parametrize("dim", [0, 1, 2, -1])
@pytest.mark.parametrize("count", [1, 2, 3])
def test_stack(dim, count):
    rng = np.random.default_rng(8)
    arrays = [rng.uniform(-1, 1, (2, 3)) for _ in range(count)]
    assert_gradients_match(lambda *ts: T.stack(list(ts), dim), arrays)


# --------------------------------------------------------------------------------------------
# softmax family and losses
# --------------------------------------------------------------------------------------------

SOFTMAX = {
    "F.log_softmax": lambda x, d: F.log_softmax(x, dim=d),
    "F.softmax": lambda x, d: F.softmax(x, dim=d),
    "torch.log_softmax": lambda x, d: T.log_softmax(x, d),
    "torch.softmax": lambda x, d: T.softmax(x, d),
    "x.log_softmax": lambda x, d: x.log_softmax(d),
    "x.softmax": lambda x, d: x.softmax(d),
}


@pytest.mark.parametrize("name", list(SOFTMAX))
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_softmax_family(name, data):
    shape = data.draw(nonempty_dims_shapes)
    dim = draw_dim(data, len(shape))
    x = draw_array(data, shape, st.floats(-4, 4))
    out = SOFTMAX[name](make(x), dim)
    normalised = np.exp(to_numpy(out)) if "log" in name else to_numpy(out)
    np.testing.assert_allclose(normalised.sum(axis=dim), 1.0, rtol=1e-9)
    assert_gradients_match(lambda t: SOFTMAX[name](t, dim), [x])


REDUCTIONS = ["mean", "sum", "none"]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss"])
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_regression_losses(loss, reduction, data):
    shape = data.draw(small_shapes)
    prediction = draw_array(data, shape)
    # l1 has a kink where prediction == target: keep them apart
    offset = draw_array(data, shape, NONZERO)
    target = prediction + offset
    function = getattr(F, loss)
    # gradient with respect to both arguments
    assert_gradients_match(lambda p, t: function(p, t, reduction=reduction), [prediction, target])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@GRADCHECK_SETTINGS
@given(data=st.data(), batch=st.integers(1, 4), classes=st.integers(2, 4))
def test_classification_losses(loss, reduction, data, batch, classes):
    if loss == "nll_loss":
        scores = draw_array(data, (batch, classes), st.floats(-3.0, -0.05))  # log-probabilities
    else:
        scores = draw_array(data, (batch, classes), st.floats(-3.0, 3.0))
    target_values = data.draw(st.lists(st.integers(0, classes - 1), min_size=batch, max_size=batch))
    target = T.tensor(target_values)
    assert target.dtype == T.int64
    function = getattr(F, loss)
    assert_gradients_match(lambda s: function(s, target, reduction=reduction), [scores])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@GRADCHECK_SETTINGS
@given(data=st.data())
def test_binary_cross_entropy(reduction, data):
    shape = data.draw(small_shapes)
    probabilities = draw_array(data, shape, PROBABILITY)
    target = make(draw_array(data, shape, UNIT))
    assert_gradients_match(lambda p: F.binary_cross_entropy(p, target, reduction=reduction), [probabilities])


def test_losses_with_default_reduction_are_zero_dim():
    prediction = make(np.array([[0.2, 0.7], [0.4, 0.9]]), requires_grad=True)
    target = make(np.array([[0.0, 1.0], [1.0, 0.0]]))
    for value in (
        F.mse_loss(prediction, target),
        F.l1_loss(prediction, target),
        F.binary_cross_entropy(prediction, target),
        F.cross_entropy(prediction, T.tensor([1, 0])),
        F.nll_loss(prediction, T.tensor([1, 0])),
    ):
        assert tuple(value.shape) == ()
        assert value.requires_grad


def test_cross_entropy_equals_nll_of_log_softmax():
    rng = np.random.default_rng(9)
    scores = rng.uniform(-2, 2, (3, 4))
    target = T.tensor([3, 0, 1])
    direct = to_numpy(F.cross_entropy(make(scores), target))
    composed = to_numpy(F.nll_loss(F.log_softmax(make(scores), dim=1), target))
    np.testing.assert_allclose(direct, composed, rtol=1e-12)
    log_probabilities = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    np.testing.assert_allclose(direct, -log_probabilities[[0, 1, 2], [3, 0, 1]].mean(), rtol=1e-12)


# --------------------------------------------------------------------------------------------
# float32 default and backward with an explicit gradient
# --------------------------------------------------------------------------------------------


def test_float32_gradients_match_float64_gradients():
    """The default dtype is float32: its gradients agree with the float64 ones to float32 accuracy."""
    rng = np.random.default_rng(10)
    x, w = rng.uniform(-1, 1, (3, 4)), rng.uniform(-1, 1, (4, 2))
    grads = []
    for dtype in (T.float32, T.float64):
        xt = T.tensor(x.tolist(), dtype=dtype, requires_grad=True)
        wt = T.tensor(w.tolist(), dtype=dtype, requires_grad=True)
        out = (xt.mm(wt).tanh() ** 2).mean()
        assert out.dtype == dtype
        out.backward()
        assert xt.grad.dtype == dtype and wt.grad.dtype == dtype
        grads.append((to_numpy(xt.grad), to_numpy(wt.grad)))
    for single, double in zip(*grads):
        np.testing.assert_allclose(single, double, rtol=1e-5, atol=1e-6)


def test_backward_with_explicit_gradient_is_the_vector_jacobian_product():
    rng = np.random.default_rng(11)
    x = rng.uniform(-1, 1, (2, 3))
    leaf = make(x, requires_grad=True)
    seed = rng.uniform(-1, 1, (2, 3))
    (leaf.exp() * 3).backward(make(seed))
    np.testing.assert_allclose(to_numpy(leaf.grad), 3 * np.exp(x) * seed, rtol=1e-12)

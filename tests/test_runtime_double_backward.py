"""Differentiating twice through the layers (create_graph=True, as a WGAN-GP gradient penalty
does), held to real PyTorch 2.13: the penalty, the gradients it sends to the input and to every
parameter, and the grad_fn name of the first gradient. Ops whose double backward the runtime
lacks raise a RuntimeError naming the op.

The same code runs with `torch` and with the runtime's facade as `T`, on float64 inputs.
"""

from __future__ import annotations

import numpy as np
import pytest

import runtime.functional as RF
import runtime.torch_facade as rt

LAYERS = {
    "conv2d": lambda T: T.nn.Conv2d(2, 3, 3, stride=2, padding=1),
    "conv2d dilated": lambda T: T.nn.Conv2d(2, 2, 2, padding=2, dilation=2),
    "conv_transpose2d": lambda T: T.nn.ConvTranspose2d(2, 3, 4, stride=2, padding=1),
    "conv_transpose2d output_padding": lambda T: T.nn.ConvTranspose2d(2, 1, 3, stride=2, padding=1, output_padding=1),
    "batchnorm2d train": lambda T: T.nn.BatchNorm2d(2),
    "batchnorm2d eval": lambda T: T.nn.BatchNorm2d(2).eval(),
    "layernorm": lambda T: T.nn.LayerNorm([5, 5]),
    "max_pool2d": lambda T: T.nn.MaxPool2d(3, 2, 1),
    "avg_pool2d": lambda T: T.nn.AvgPool2d(3, 2, 1, count_include_pad=False),
    "linear": lambda T: T.nn.Linear(5, 4),
}
SHAPE = (3, 2, 5, 5)


def penalty_run(T, name, x_array, seed=0):
    """conv -> layer -> tanh; the gradient penalty of the input; what it sends back."""
    T.manual_seed(seed)
    front = T.nn.Conv2d(2, 2, 1).double()
    layer = LAYERS[name](T).double()
    x = T.tensor(x_array, requires_grad=True)
    out = T.tanh(layer(front(x)))
    (g,) = T.autograd.grad((out ** 2).sum(), x, create_graph=True)
    penalty = ((g.reshape(g.shape[0], -1).norm(2, dim=1) - 1) ** 2).mean()
    penalty.backward()
    params = [p.grad.detach().numpy().copy() for p in list(front.parameters()) + list(layer.parameters())]
    return penalty.item(), x.grad.detach().numpy().copy(), params


@pytest.mark.parametrize("name", list(LAYERS))
def test_gradient_penalty_like_torch(name):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(7).standard_normal(SHAPE)
    expected = penalty_run(torch, name, x)
    actual = penalty_run(rt, name, x)
    assert actual[0] == pytest.approx(expected[0], rel=1e-9)
    np.testing.assert_allclose(actual[1], expected[1], rtol=1e-7, atol=1e-10)
    assert len(actual[2]) == len(expected[2])
    for got, want in zip(actual[2], expected[2]):
        np.testing.assert_allclose(got, want, rtol=1e-7, atol=1e-10)


@pytest.mark.parametrize("make, name", [
    (lambda T: T.nn.Conv2d(1, 1, 2), "ConvolutionBackwardBackward0"),
    (lambda T: T.nn.BatchNorm2d(1), "NativeBatchNormBackwardBackward0"),
    (lambda T: T.nn.MaxPool2d(2), "MaxPool2DWithIndicesBackwardBackward0"),
])
def test_first_gradient_has_torch_grad_fn_name(make, name):
    layer = make(rt).double()
    x = rt.tensor(np.random.default_rng(1).standard_normal((2, 1, 4, 4)), requires_grad=True)
    (g,) = rt.autograd.grad((layer(x) ** 3).sum(), x, create_graph=True)
    assert g.grad_fn.name() == name


def test_embedding_gradient_is_differentiable():
    weight = rt.tensor(np.arange(6.0).reshape(3, 2), requires_grad=True)
    out = RF.embedding(rt.tensor([0, 2, 0]), weight)
    (g,) = rt.autograd.grad((out ** 2).sum(), weight, create_graph=True)
    assert g.grad_fn.name() == "EmbeddingDenseBackwardBackward0"
    (g ** 2).sum().backward()
    # g = 2 * count * w, so d(sum g^2)/dw = 8 * count^2 * w
    np.testing.assert_allclose(weight.grad.numpy(), 8 * np.array([[4], [0], [1]]) * weight.detach().numpy())


def test_an_op_without_double_backward_says_which():
    x = rt.tensor(np.ones((1, 1, 4, 4)), requires_grad=True)
    out = RF.adaptive_avg_pool2d(x, 2)
    with pytest.raises(RuntimeError, match="create_graph=True through adaptive average pooling is not supported"):
        rt.autograd.grad(out.sum(), x, create_graph=True)

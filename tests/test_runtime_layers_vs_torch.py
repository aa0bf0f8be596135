"""The runtime's layers held to real PyTorch 2.13 on fixed inputs: forward values, gradients of
every input and parameter, output shapes, grad_fn names, module reprs, error texts, and the
default initialisation of a seeded model (value for value, through the runtime's generator).

Skipped when torch is not installed. Inputs are fixed numpy arrays (float64), so nothing here
depends on the random generator except the seeded-initialisation test.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import runtime.functional as RF  # noqa: E402
import runtime.nn as rnn  # noqa: E402
import runtime.torch_facade as rt  # noqa: E402
from runtime.nn import rnn as rnn_utils  # noqa: E402

TF = torch.nn.functional
RNG = np.random.default_rng(20180101)
INTS = object()  # marks an index input


def _inputs(specs):
    """Fixed arrays from specs: a shape (float64 values), an ndarray (as is), or (INTS, n, shape)."""
    arrays = []
    for spec in specs:
        if isinstance(spec, np.ndarray):
            arrays.append(spec)
        elif spec and spec[0] is INTS:
            arrays.append(RNG.integers(0, spec[1], spec[2]))
        else:
            arrays.append(RNG.standard_normal(spec))
    return arrays


def _flat(output):
    if hasattr(output, "batch_sizes"):
        return [output.data]
    if isinstance(output, (tuple, list)):
        return [t for item in output for t in _flat(item)]
    return [output]


def _compare(torch_call, runtime_call, arrays, torch_params=(), runtime_params=()):
    """Run both, backward with the same weights, compare values, grads and grad_fn names."""
    float_inputs = [a.dtype.kind == "f" for a in arrays]
    t_in = [torch.tensor(a, requires_grad=f) for a, f in zip(arrays, float_inputs)]
    r_in = [rt.tensor(a, requires_grad=f) for a, f in zip(arrays, float_inputs)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_out, r_out = _flat(torch_call(*t_in)), _flat(runtime_call(*r_in))
    assert [tuple(t.shape) for t in t_out] == [tuple(r.shape) for r in r_out]
    assert [type(t.grad_fn).__name__ for t in t_out] == [r.grad_fn.name() for r in r_out]
    weights = [RNG.standard_normal(tuple(t.shape)) for t in t_out]
    sum((t * torch.tensor(w)).sum() for t, w in zip(t_out, weights)).backward()
    sum((r * rt.tensor(w)).sum() for r, w in zip(r_out, weights)).backward()
    for t, r in zip(t_out, r_out):
        np.testing.assert_allclose(r._data, t.detach().numpy(), rtol=1e-10, atol=1e-12)
    leaves = [(t, r) for t, r, f in zip(t_in, r_in, float_inputs) if f]
    leaves += list(zip(torch_params, runtime_params))
    for t, r in leaves:
        np.testing.assert_allclose(r.grad._data, t.grad.numpy(), rtol=1e-10, atol=1e-12)


FUNCTIONS = {
    "conv2d groups stride padding dilation": (
        lambda F: lambda x, w, b: F.conv2d(x, w, b, (2, 1), (1, 2), (2, 1), 2),
        [(2, 4, 9, 8), (6, 2, 3, 2), (6,)]),
    "conv2d unbatched": (lambda F: lambda x, w: F.conv2d(x, w, padding=1), [(3, 5, 5), (4, 3, 3, 3)]),
    "conv1d": (lambda F: lambda x, w, b: F.conv1d(x, w, b, 2, 1, 2, 2), [(2, 4, 11), (6, 2, 3), (6,)]),
    "conv_transpose2d": (lambda F: lambda x, w, b: F.conv_transpose2d(x, w, b, 2, 1, 1, 2),
                         [(2, 4, 5, 6), (4, 3, 3, 2), (6,)]),
    "max_pool2d ceil_mode dilation indices": (
        lambda F: lambda x: F.max_pool2d(x, 3, 2, 1, 2, True, True)[0], [(2, 3, 9, 8)]),
    "max_pool1d": (lambda F: lambda x: F.max_pool1d(x, 3, 2, 1), [(2, 3, 9)]),
    "avg_pool2d ceil_mode": (lambda F: lambda x: F.avg_pool2d(x, 3, 2, 1, True, False), [(2, 3, 9, 8)]),
    "avg_pool1d": (lambda F: lambda x: F.avg_pool1d(x, 3, 2, 1), [(2, 3, 9)]),
    "adaptive_avg_pool2d": (lambda F: lambda x: F.adaptive_avg_pool2d(x, (4, 3)), [(2, 3, 9, 7)]),
    "adaptive_avg_pool2d to 1": (lambda F: lambda x: F.adaptive_avg_pool2d(x, 1), [(2, 3, 5, 4)]),
    "adaptive_max_pool2d": (lambda F: lambda x: F.adaptive_max_pool2d(x, (4, 3)), [(2, 3, 9, 7)]),
    "layer_norm": (lambda F: lambda x, w, b: F.layer_norm(x, (3, 4), w, b), [(2, 3, 4), (3, 4), (3, 4)]),
    "embedding padding_idx": (lambda F: lambda i, w: F.embedding(i, w, padding_idx=2),
                              [(INTS, 6, (3, 4)), (6, 5)]),
    "interpolate bilinear": (lambda F: lambda x: F.interpolate(x, scale_factor=2, mode="bilinear"),
                             [(2, 3, 5, 4)]),
    "interpolate bilinear align_corners": (
        lambda F: lambda x: F.interpolate(x, size=(7, 9), mode="bilinear", align_corners=True),
        [(2, 3, 5, 4)]),
    "interpolate nearest": (lambda F: lambda x: F.interpolate(x, scale_factor=2), [(1, 2, 3, 4)]),
    "pixel_shuffle": (lambda F: lambda x: F.pixel_shuffle(x, 2), [(2, 8, 3, 4)]),
    "smooth_l1_loss": (lambda F: lambda x, y: F.smooth_l1_loss(x, y, beta=0.5), [(4, 5), (4, 5)]),
    "kl_div batchmean": (lambda F: lambda x, y: F.kl_div(x, y, reduction="batchmean"),
                         [(4, 5), np.abs(RNG.standard_normal((4, 5)))]),
    "kl_div log_target none": (lambda F: lambda x, y: F.kl_div(x, y, reduction="none", log_target=True),
                               [(4, 5), (4, 5)]),
    "multilabel_soft_margin_loss weight": (
        lambda F: lambda x, y, w: F.multilabel_soft_margin_loss(x, y, w),
        [(4, 5), (RNG.random((4, 5)) > 0.5).astype(float), RNG.random(5)]),
    "binary_cross_entropy weight": (
        lambda F: lambda x, y: F.binary_cross_entropy(x, y, (x * 0 + 1).detach() * 0.5),
        [RNG.random((4, 5)), RNG.random((4, 5))]),
    "l1_loss size_average": (lambda F: lambda x, y: F.l1_loss(x, y, size_average=False), [(4, 5), (4, 5)]),
    "logsigmoid": (lambda F: F.logsigmoid, [(4, 5)]),
    "elu": (lambda F: lambda x: F.elu(x, 0.5), [(4, 5)]),
    "elu inplace": (lambda F: lambda x: F.elu(x * 1, inplace=True), [(4, 5)]),
    "selu": (lambda F: F.selu, [(4, 5)]),
    "softplus": (lambda F: lambda x: F.softplus(x * 10, 2, 15), [(4, 5)]),
    "hardtanh": (lambda F: lambda x: F.hardtanh(x, -0.5, 0.7), [(4, 5)]),
    "relu6": (lambda F: lambda x: F.relu6(x * 5), [(4, 5)]),
    "normalize": (lambda F: lambda x: F.normalize(x, dim=1), [(4, 5)]),
    "pad constant": (lambda F: lambda x: F.pad(x, (1, 2, 0, 1), value=0.5), [(2, 3, 4)]),
    "pad reflect": (lambda F: lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [(1, 2, 4, 5)]),
    "pad replicate": (lambda F: lambda x: F.pad(x, (2, 1), mode="replicate"), [(1, 2, 4)]),
}


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_function_matches_torch(name):
    make, specs = FUNCTIONS[name]
    _compare(make(TF), make(RF), _inputs(specs))


def _pair(make):
    """The same module built on both sides, the runtime's parameters set to torch's."""
    torch_module, runtime_module = make(torch.nn).double(), make(rnn).double()
    torch_params = list(torch_module.parameters())
    runtime_params = list(runtime_module.parameters())
    names = [n for n, _ in torch_module.named_parameters()]
    assert names == [n for n, _ in runtime_module.named_parameters()]
    for t, r in zip(torch_params, runtime_params):
        r._data[...] = t.detach().numpy()
    return torch_module, runtime_module, torch_params, runtime_params


MODULES = {
    "LSTM": (lambda nn: nn.LSTM(3, 4), (5, 2, 3)),
    "LSTM 2 layers bidirectional batch_first": (
        lambda nn: nn.LSTM(3, 4, 2, batch_first=True, bidirectional=True), (2, 5, 3)),
    "GRU bidirectional": (lambda nn: nn.GRU(3, 4, 2, bidirectional=True), (5, 2, 3)),
    "RNN relu": (lambda nn: nn.RNN(3, 4, nonlinearity="relu"), (5, 2, 3)),
    "RNN unbatched": (lambda nn: nn.RNN(3, 4), (5, 3)),
    "LSTMCell": (lambda nn: nn.LSTMCell(3, 4), (2, 3)),
    "GRUCell": (lambda nn: nn.GRUCell(3, 4), (2, 3)),
    "RNNCell unbatched": (lambda nn: nn.RNNCell(3, 4), (3,)),
    "Conv2d": (lambda nn: nn.Conv2d(3, 4, 3, stride=2, padding=1), (2, 3, 7, 7)),
    "ConvTranspose2d": (lambda nn: nn.ConvTranspose2d(4, 3, 4, 2, 1), (2, 4, 5, 5)),
    "BatchNorm2d": (lambda nn: nn.BatchNorm2d(3), (4, 3, 2, 2)),
    "BatchNorm1d momentum None": (lambda nn: nn.BatchNorm1d(3, momentum=None), (4, 3)),
    "LayerNorm": (lambda nn: nn.LayerNorm(5), (4, 5)),
    "UpsamplingBilinear2d": (lambda nn: nn.UpsamplingBilinear2d(scale_factor=2), (1, 2, 3, 4)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch(name):
    make, shape = MODULES[name]
    torch_module, runtime_module, torch_params, runtime_params = _pair(make)
    _compare(torch_module, runtime_module, _inputs([shape]), torch_params, runtime_params)
    for (buffer_name, t), (_, r) in zip(torch_module.named_buffers(), runtime_module.named_buffers()):
        np.testing.assert_allclose(r._data, t.numpy(), rtol=1e-12, err_msg=buffer_name)


def test_batch_norm_eval_uses_the_running_statistics():
    torch_module, runtime_module, torch_params, runtime_params = _pair(lambda nn: nn.BatchNorm2d(3))
    arrays = _inputs([(4, 3, 2, 2)])
    _compare(torch_module, runtime_module, arrays, torch_params, runtime_params)  # one update
    torch_module.eval(), runtime_module.eval()
    _compare(torch_module, runtime_module, arrays, torch_params, runtime_params)


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_packed_sequences_match_torch(kind):
    lengths = [3, 5, 1]  # unsorted: enforce_sorted=False sorts and unsorts as torch does
    torch_module, runtime_module, torch_params, runtime_params = _pair(
        lambda nn: getattr(nn, kind)(3, 4, 2, batch_first=True, bidirectional=True))

    def through(module, pack, pad):
        def call(x):
            output, hidden = module(pack(x, lengths, batch_first=True, enforce_sorted=False))
            padded, out_lengths = pad(output, batch_first=True)
            assert list(out_lengths.tolist()) == lengths
            return padded, hidden
        return call

    _compare(through(torch_module, torch.nn.utils.rnn.pack_padded_sequence,
                     torch.nn.utils.rnn.pad_packed_sequence),
             through(runtime_module, rnn_utils.pack_padded_sequence, rnn_utils.pad_packed_sequence),
             _inputs([(3, 5, 3)]), torch_params, runtime_params)


def test_seeded_models_initialise_as_torch():
    def build(nn, manual_seed):
        manual_seed(7)
        return nn.ModuleList([nn.Conv2d(1, 4, 3), nn.ConvTranspose2d(4, 2, 4, 2, 1), nn.Linear(5, 3),
                              nn.Embedding(6, 3, padding_idx=1), nn.LSTM(3, 4), nn.GRUCell(2, 3),
                              nn.BatchNorm2d(2), nn.Conv1d(2, 3, 2, groups=1)])

    torch_model, runtime_model = build(torch.nn, torch.manual_seed), build(rnn, rt.manual_seed)
    torch_state, runtime_state = torch_model.state_dict(), runtime_model.state_dict()
    assert list(torch_state) == list(runtime_state)
    for name in torch_state:
        np.testing.assert_array_equal(runtime_state[name]._data, torch_state[name].numpy(), err_msg=name)


REPRS = [
    lambda nn: nn.Conv2d(1, 10, kernel_size=5),
    lambda nn: nn.Conv2d(3, 8, (3, 2), stride=2, padding=1, dilation=2, groups=1, bias=False),
    lambda nn: nn.ConvTranspose2d(100, 64, 4, 1, 0, bias=False),
    lambda nn: nn.Conv1d(4, 4, 3, groups=2),
    lambda nn: nn.MaxPool2d(2),
    lambda nn: nn.MaxPool2d(3, stride=2, padding=1),
    lambda nn: nn.AvgPool2d(2),
    lambda nn: nn.AvgPool1d(3),
    lambda nn: nn.AdaptiveAvgPool2d((1, 1)),
    lambda nn: nn.AdaptiveMaxPool2d(2),
    lambda nn: nn.BatchNorm2d(64),
    lambda nn: nn.BatchNorm1d(10, affine=False, momentum=None),
    lambda nn: nn.LayerNorm(10),
    lambda nn: nn.Dropout2d(0.2),
    lambda nn: nn.Embedding(100, 16, padding_idx=0),
    lambda nn: nn.LSTM(10, 20, 2, batch_first=True, dropout=0.5, bidirectional=True),
    lambda nn: nn.GRU(8, 16),
    lambda nn: nn.RNN(4, 5, nonlinearity="relu", bias=False),
    lambda nn: nn.LSTMCell(3, 4),
    lambda nn: nn.RNNCell(3, 4, nonlinearity="relu"),
    lambda nn: nn.LayerNorm((2, 3), elementwise_affine=False),
    lambda nn: nn.Upsample(scale_factor=2, mode="bilinear"),
    lambda nn: nn.PixelShuffle(3),
    lambda nn: nn.UpsamplingNearest2d(scale_factor=2),
    lambda nn: nn.UpsamplingBilinear2d(size=(4, 5)),
    lambda nn: nn.SmoothL1Loss(),
    lambda nn: nn.ELU(0.5, True),
    lambda nn: nn.SELU(),
    lambda nn: nn.Softplus(),
    lambda nn: nn.Hardtanh(-2, 2, inplace=True),
    lambda nn: nn.ReLU6(True),
    lambda nn: nn.LogSigmoid(),
    lambda nn: nn.ModuleDict({"a": nn.Linear(2, 3), "b": nn.ReLU()}),
]


@pytest.mark.parametrize("index", range(len(REPRS)))
def test_module_repr_matches_torch(index):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert repr(REPRS[index](rnn)) == repr(REPRS[index](torch.nn))


ERRORS = {
    "conv2d channels": (lambda F, T: F.conv2d(T.zeros(1, 3, 5, 5), T.zeros(4, 2, 3, 3))),
    "conv2d kernel too large": (lambda F, T: F.conv2d(T.zeros(1, 1, 2, 2), T.zeros(1, 1, 3, 3))),
    "batch_norm one value per channel": (
        lambda F, T: F.batch_norm(T.zeros(1, 3), T.zeros(3), T.ones(3), training=True)),
    "embedding index out of range": (lambda F, T: F.embedding(T.tensor([5]), T.zeros(5, 2))),
    "embedding float indices": (lambda F, T: F.embedding(T.tensor([1.0]), T.zeros(5, 2))),
    "nearest with align_corners": (
        lambda F, T: F.interpolate(T.zeros(1, 1, 2, 2), scale_factor=2, align_corners=True)),
    "max_pool2d pad too large": (lambda F, T: F.max_pool2d(T.zeros(1, 1, 4, 4), 2, padding=2)),
    "pixel_shuffle channels": (lambda F, T: F.pixel_shuffle(T.zeros(1, 3, 2, 2), 2)),
    "smooth_l1 negative beta": (lambda F, T: F.smooth_l1_loss(T.zeros(2), T.zeros(2), beta=-1.0)),
}


def _error(call):
    try:
        call()
    except Exception as error:  # noqa: BLE001 - the type and text are what is compared
        return type(error).__name__, str(error)
    return None


@pytest.mark.parametrize("name", list(ERRORS))
def test_error_text_matches_torch(name):
    expected = _error(lambda: ERRORS[name](TF, torch))
    assert expected is not None
    assert _error(lambda: ERRORS[name](RF, rt)) == expected


def test_module_errors_match_torch():
    cases = [
        (lambda nn, T: nn.BatchNorm2d(3)(T.zeros(2, 3))),
        (lambda nn, T: nn.BatchNorm1d(3)(T.zeros(2, 3, 1, 1))),
        (lambda nn, T: nn.Conv2d(3, 4, 3, groups=2)),
        (lambda nn, T: nn.LSTM(3, 4)(T.zeros(5, 2, 2))),
        (lambda nn, T: nn.utils.rnn.pack_padded_sequence(T.zeros(3, 2, 1), [1, 3])),
    ]
    for case in cases:
        expected = _error(lambda: case(torch.nn, torch))
        assert expected is not None
        assert _error(lambda: case(rnn, rt)) == expected


def test_resize_as_and_dropout2d_masks_whole_channels():
    target = rt.zeros(2, 3)
    assert tuple(rt.tensor([1.0, 2.0]).resize_as_(target).shape) == (2, 3)
    rt.manual_seed(3)
    out = RF.dropout2d(rt.ones(4, 6, 2, 2), 0.5)._data
    assert set(np.unique(out)) <= {0.0, 2.0}
    assert (out.reshape(4, 6, -1).min(-1) == out.reshape(4, 6, -1).max(-1)).all()
    torch.manual_seed(3)
    np.testing.assert_array_equal(out, TF.dropout2d(torch.ones(4, 6, 2, 2), 0.5).numpy())

"""torch.nn, torch.nn.functional and torch.optim of the reference runtime, held to PyTorch.

Most tests run the same function twice, once with real PyTorch (``torch``) and once with the
runtime (``runtime.torch_facade``, imported in-process next to torch under its own name), on
deterministic values (weights copied from numpy arrays), and compare what a program could
observe: values and gradients (rtol 1e-5), ``grad_fn`` names, shapes, reprs, warning and
error texts, optimizer trajectories. They are skipped when torch is not installed. The rest
check runtime-only facts: Module registration rules and the event bookkeeping of
``zero_grad``/``step`` (grad-accumulated, step-after-reset).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import runtime.torch_facade as rt
from runtime import events

RTOL = 1e-5
ATOL = 1e-7

X = np.array([[0.2, -1.3, 0.5], [1.1, 0.4, -0.7]], dtype=np.float32)
Y = np.array([[0.0, 1.0, 0.5], [1.0, 0.0, 0.25]], dtype=np.float32)
PROBABILITIES = np.array([[0.3, 0.9, 0.5], [0.99, 0.01, 0.25]], dtype=np.float32)
WEIGHT = np.array([[0.1, 0.2, -0.3], [0.4, -0.5, 0.6]], dtype=np.float32)
BIAS = np.array([0.05, -0.05], dtype=np.float32)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


# --------------------------------------------------------------------------------------------
# running one function on both
# --------------------------------------------------------------------------------------------


def observe(value):
    """What a program can see of a result, in a form that compares with ==/allclose."""
    if isinstance(value, (list, tuple)):
        return [observe(item) for item in value]
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "grad_fn") and hasattr(value, "detach"):
        grad_fn = value.grad_fn
        return {
            "values": np.array(value.detach().numpy(), dtype=np.float64),
            "shape": tuple(value.shape),
            "dtype": str(value.dtype),
            "grad_fn": None if grad_fn is None else type(grad_fn).__name__,
            "requires_grad": value.requires_grad,
        }
    return repr(value)


def run(module, function):
    """(observed result or 'Error: message', [warning texts]) of function(module)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = observe(function(module))
        except Exception as error:  # the error itself is what is compared
            result = f"{type(error).__name__}: {error}"
    return result, [f"{w.category.__name__}: {w.message}" for w in caught]


def assert_same(expected, actual, path="result"):
    if isinstance(expected, dict) and "values" in expected:
        assert isinstance(actual, dict), f"{path}: {actual!r} instead of a tensor"
        for key in ("shape", "dtype", "grad_fn", "requires_grad"):
            assert actual[key] == expected[key], f"{path}.{key}: {actual[key]!r} != {expected[key]!r}"
        np.testing.assert_allclose(actual["values"], expected["values"], rtol=RTOL, atol=ATOL,
                                   err_msg=path)
        # a printed -0. differs from 0.: the signs of zeros must match too
        assert np.array_equal(np.signbit(actual["values"]), np.signbit(expected["values"]))
    elif isinstance(expected, list):
        assert isinstance(actual, list) and len(actual) == len(expected), f"{path}: {actual!r}"
        for index, (a, b) in enumerate(zip(expected, actual)):
            assert_same(a, b, f"{path}[{index}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


def assert_like_torch(torch, function):
    expected, expected_warnings = run(torch, function)
    actual, actual_warnings = run(rt, function)
    assert_same(expected, actual)
    assert actual_warnings == expected_warnings


def linear(T, bias=True):
    """An nn.Linear(3, 2) with the fixed WEIGHT/BIAS."""
    layer = T.nn.Linear(3, 2, bias=bias)
    with T.no_grad():
        layer.weight.copy_(T.tensor(WEIGHT))
        if bias:
            layer.bias.copy_(T.tensor(BIAS))
    return layer


# --------------------------------------------------------------------------------------------
# nn.Parameter
# --------------------------------------------------------------------------------------------

PARAMETER_REPRS = [
    lambda T: T.nn.Parameter(T.ones(2)),
    lambda T: T.nn.Parameter(T.tensor([[1.0, 2.0], [3.0, 4.0]])),
    lambda T: T.nn.Parameter(T.ones(2), requires_grad=False),
    lambda T: T.nn.Parameter(),
    lambda T: T.nn.Parameter(T.tensor([1, 2]), requires_grad=False),
]


@pytest.mark.parametrize("make", PARAMETER_REPRS)
def test_parameter_repr_is_torchs(torch, make):
    assert repr(make(rt)) == repr(make(torch))
    assert str(make(rt)) == str(make(torch))


@pytest.mark.parametrize("make", [
    lambda T: T.nn.Parameter([1.0, 2.0]),
    lambda T: T.nn.Parameter(T.tensor([1, 2])),
    lambda T: repr(T.nn.Parameter(T.ones(2)) * 2),
])
def test_parameter_errors_and_results_like_torch(torch, make):
    assert_like_torch(torch, make)


def test_parameter_detaches_and_shares_storage():
    source = rt.ones(2, requires_grad=True)
    param = rt.nn.Parameter(source)
    assert type(param).__name__ == "Parameter" and isinstance(param, rt.Tensor)
    assert param is not source and param.is_leaf and param.requires_grad
    assert type(param.data) is rt.Tensor
    assert param.data_ptr() == source.data_ptr()
    (param * 3).sum().backward()
    assert source.grad is None
    assert param.grad.tolist() == [3.0, 3.0]
    assert type(param * 2) is rt.Tensor  # ops on a Parameter give plain tensors


# --------------------------------------------------------------------------------------------
# nn.Module: registration, traversal, state, modes
# --------------------------------------------------------------------------------------------


def make_net(T):
    class Net(T.nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = T.autograd.Variable(T.ones(2), requires_grad=True)  # not registered
            self.gain = T.nn.Parameter(T.ones(3))
            self.body = T.nn.Sequential(T.nn.Linear(3, 2), T.nn.ReLU())
            self.head = T.nn.Linear(2, 1, bias=False)
            self.constant = T.zeros(1)  # a plain attribute

        def forward(self, x):
            return self.head(self.body(x * self.gain))

    return Net()


def test_module_registration_like_torch(torch):
    def names(T):
        net = make_net(T)
        state = net.state_dict()
        return [
            [name for name, _ in net.named_parameters()],
            list(state.keys()),
            [type(child).__name__ for child in net.children()],
            [type(module).__name__ for module in net.modules()],
            [name for name, _ in net.named_modules()],
            repr(net),
            [type(value).__name__ for value in state.values()],
            [value.requires_grad for value in state.values()],
            len(list(net.parameters())),
        ]

    assert_like_torch(torch, names)


def test_module_assignment_errors_like_torch(torch):
    def assign_tensor_to_parameter(T):
        net = make_net(T)
        net.gain = T.ones(3)

    def assign_int_to_module(T):
        net = make_net(T)
        net.head = 3

    def parameter_before_init(T):
        class Broken(T.nn.Module):
            def __init__(self):
                self.w = T.nn.Parameter(T.ones(1))

        Broken()

    def missing_attribute(T):
        return make_net(T).missing

    def missing_forward(T):
        return T.nn.Module()(T.ones(1))

    for function in (assign_tensor_to_parameter, assign_int_to_module, parameter_before_init,
                     missing_attribute, missing_forward):
        assert_like_torch(torch, function)


def test_module_setting_a_parameter_to_none_unregisters_it():
    net = make_net(rt)
    net.gain = None
    assert [name for name, _ in net.named_parameters()] == ["body.0.weight", "body.0.bias", "head.weight"]


def test_state_dict_shares_storage_and_loads():
    net = make_net(rt)
    state = net.state_dict()
    assert state["gain"].data_ptr() == net.gain.data_ptr()
    other = make_net(rt)
    assert repr(other.load_state_dict(state)) == "<All keys matched successfully>"
    assert other.body[0].weight.tolist() == net.body[0].weight.tolist()
    del state["gain"]
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "gain"'):
        other.load_state_dict(state)


def test_train_eval_to_cpu_cuda_apply(torch):
    def modes(T):
        net = make_net(T)
        seen = []
        results = [net.training, net.eval() is net, net.training, net.body[1].training,
                   net.train() is net, net.body[0].training, net.cpu() is net, net.to("cpu") is net,
                   net.apply(lambda m: seen.append(type(m).__name__)) is net, seen]
        return results

    # (`net.cuda()` is not compared: CPU-only PyTorch raises "Torch not compiled with CUDA
    # enabled", while the runtime treats CUDA as the CPU so that real programs run; below.)
    assert_like_torch(torch, modes)


def test_cuda_placements_run_on_the_cpu():
    net = rt.nn.Sequential(rt.nn.Linear(2, 2))
    device = rt.device("cuda:0")
    assert net.cuda() is net and net.to(device) is net and net.cuda(1) is net
    x = rt.ones(2, device="cuda")
    assert x.cuda() is x and x.to("cuda") is x and x.to(device, non_blocking=True) is x
    assert [str(t.device) for t in (x, net(x), rt.randn(2, device=device), rt.zeros(1, device=0))] == ["cpu"] * 4
    assert not x.is_cuda and rt.cuda.is_available() is False
    with pytest.raises(RuntimeError, match="Expected one of cpu, cuda device type"):
        rt.ones(1, device="tpu")


def test_sequential_indexing_like_torch(torch):
    def sequential(T):
        seq = T.nn.Sequential(T.nn.Linear(2, 2), T.nn.Tanh(), T.nn.Sigmoid())
        return [len(seq), repr(seq[0]), repr(seq[-1]), repr(seq[1:]),
                [type(m).__name__ for m in seq], type(seq[0:2]).__name__]

    assert_like_torch(torch, sequential)


def test_module_list_deepcopy_and_dtype_conversion_like_torch(torch):
    def containers(T):
        import copy

        layers = T.nn.ModuleList([T.nn.Linear(1, 1), T.nn.Linear(1, 1), T.nn.ReLU(), T.nn.Linear(1, 1)])
        model = T.nn.Sequential(linear(T), T.nn.ReLU())
        clone = copy.deepcopy(model)
        results = [repr(layers), repr(T.nn.ModuleList()), len(list(layers.parameters())),
                   clone[0].weight is model[0].weight, type(clone[0].weight).__name__,
                   clone(T.tensor(X)), model.double() is model, model[0].weight.dtype,
                   type(model[0].weight).__name__, model(T.tensor(X, dtype=T.float64))]
        model.float()
        return results + [model[0].bias.dtype, model.requires_grad_(False) is model,
                          model[0].weight.requires_grad]

    assert_like_torch(torch, containers)


def test_module_reprs_like_torch(torch):
    def reprs(T):
        nn = T.nn
        return repr(nn.Sequential(
            nn.Linear(2, 3), nn.ReLU(), nn.ReLU(inplace=True), nn.Softmax(1), nn.LogSoftmax(),
            nn.Dropout(0.3), nn.Sigmoid(), nn.Tanh(), nn.LeakyReLU(0.2, inplace=True),
            nn.MSELoss(), nn.L1Loss(), nn.CrossEntropyLoss(), nn.NLLLoss(), nn.BCELoss(),
            nn.BCEWithLogitsLoss(), nn.Linear(3, 1, bias=False), nn.Sequential(nn.Linear(1, 1)),
            nn.Identity(), nn.Flatten()))

    assert_like_torch(torch, reprs)


def test_module_zero_grad_defaults_to_none_and_zeros_on_request():
    net = make_net(rt)
    net(rt.ones(1, 3)).sum().backward()
    weight_grad = net.head.weight.grad
    net.zero_grad(set_to_none=False)
    assert net.head.weight.grad is weight_grad and weight_grad.tolist() == [[0.0, 0.0]]
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


# --------------------------------------------------------------------------------------------
# nn.Linear and nn.init
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", ["1d", "2d", "3d"])
def test_linear_forward_backward_like_torch(torch, shape, bias):
    def forward_backward(T):
        layer = linear(T, bias)
        data = {"1d": X[0], "2d": X, "3d": np.stack([X, 2 * X])}[shape]
        x = T.tensor(data, requires_grad=True)
        y = layer(x)
        (y * y).sum().backward()
        grads = [layer.weight.grad, x.grad] + ([layer.bias.grad] if bias else [])
        return [y] + grads

    assert_like_torch(torch, forward_backward)


@pytest.mark.parametrize("data", [
    np.ones((4, 2), np.float32), np.ones(2, np.float32), np.ones((2, 4, 2), np.float32),
    np.float32(1.0), np.ones((2, 3), np.float64),
])
def test_linear_errors_like_torch(torch, data):
    assert_like_torch(torch, lambda T: linear(T)(T.tensor(data)))


def test_linear_parameters_and_default_init():
    rt.manual_seed(0)
    layer = rt.nn.Linear(4, 3)
    assert tuple(layer.weight.shape) == (3, 4) and tuple(layer.bias.shape) == (3,)
    for param in (layer.weight, layer.bias):
        assert type(param).__name__ == "Parameter" and param.is_leaf and param.grad is None
        assert np.all(np.abs(param.detach().numpy()) <= 0.5)  # bound 1/sqrt(in_features)
    assert len(np.unique(layer.weight.detach().numpy())) == 12  # random, not constant


def test_init_functions_work_in_place_on_parameters(torch):
    def initialise(T):
        init = T.nn.init
        weight = T.nn.Parameter(T.empty(3, 5))
        results = [init.constant_(weight, 0.5) is weight, weight.tolist(), init.zeros_(weight).tolist(),
                   init.ones_(weight).tolist(),
                   init.calculate_gain("relu"), init.calculate_gain("leaky_relu", 0.2),
                   init._calculate_fan_in_and_fan_out(T.empty(4, 3, 2))]
        for function in (init.xavier_uniform_, init.kaiming_uniform_, init.uniform_, init.normal_,
                         init.xavier_normal_, init.kaiming_normal_):
            results.append(function(weight) is weight)
        bound = np.sqrt(6.0 / 8)
        init.xavier_uniform_(weight)
        results.append(bool(np.all(np.abs(weight.detach().numpy()) <= bound)))
        return results + [weight.requires_grad, weight.is_leaf]

    assert_like_torch(torch, initialise)


@pytest.mark.parametrize("name", ["uniform", "normal", "constant", "xavier_uniform", "xavier_normal",
                                  "kaiming_uniform", "kaiming_normal"])
def test_deprecated_init_names_warn_like_torch(torch, name):
    def call(T):
        tensor = T.empty(2, 3)
        arguments = (0.25,) if name == "constant" else ()
        result = getattr(T.nn.init, name)(tensor, *arguments)
        return result is tensor

    assert_like_torch(torch, call)


# --------------------------------------------------------------------------------------------
# activations, softmax, dropout
# --------------------------------------------------------------------------------------------

ACTIVATIONS = {
    "relu": lambda T, x: T.nn.functional.relu(x),
    "sigmoid": lambda T, x: T.nn.functional.sigmoid(x),
    "tanh": lambda T, x: T.nn.functional.tanh(x),
    "leaky_relu": lambda T, x: T.nn.functional.leaky_relu(x, 0.2),
    "softmax": lambda T, x: T.nn.functional.softmax(x, dim=1),
    "log_softmax": lambda T, x: T.nn.functional.log_softmax(x, 0),
    "nn.ReLU": lambda T, x: T.nn.ReLU()(x),
    "nn.Sigmoid": lambda T, x: T.nn.Sigmoid()(x),
    "nn.Tanh": lambda T, x: T.nn.Tanh()(x),
    "nn.Softmax": lambda T, x: T.nn.Softmax(dim=-1)(x),
    "nn.LogSoftmax": lambda T, x: T.nn.LogSoftmax(dim=1)(x),
    "nn.LeakyReLU": lambda T, x: T.nn.LeakyReLU()(x),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_values_and_grads_like_torch(torch, name):
    def apply(T):
        x = T.tensor(X, requires_grad=True)
        y = ACTIVATIONS[name](T, x)
        (y * T.tensor(WEIGHT)).sum().backward()
        return [y, x.grad]

    assert_like_torch(torch, apply)


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 3, 2), (1, 2, 2, 2)])
@pytest.mark.parametrize("call", ["F.softmax", "F.log_softmax", "nn.Softmax", "nn.LogSoftmax"])
def test_implicit_softmax_dim_warns_and_picks_torchs_dim(torch, shape, call):
    def apply(T):
        x = T.tensor(np.arange(np.prod(shape), dtype=np.float32).reshape(shape) / 7)
        function = {"F.softmax": T.nn.functional.softmax, "F.log_softmax": T.nn.functional.log_softmax,
                    "nn.Softmax": T.nn.Softmax(), "nn.LogSoftmax": T.nn.LogSoftmax()}[call]
        return function(x)

    assert_like_torch(torch, apply)


def test_dropout_like_torch_where_deterministic(torch):
    def deterministic(T):
        F = T.nn.functional
        x = T.tensor(X, requires_grad=True)
        layer = T.nn.Dropout(0.4)
        layer.eval()
        return [F.dropout(x, training=False) is x, F.dropout(x, 0.0) is x, layer(x) is x,
                F.dropout(x, 1.0), T.nn.Dropout(1.0)(x), repr(layer)]

    assert_like_torch(torch, deterministic)
    for function in (lambda T: T.nn.functional.dropout(T.ones(2), 1.5), lambda T: T.nn.Dropout(-0.1)):
        assert_like_torch(torch, function)


INTERPOLATIONS = {
    "1d scale 2": lambda F, x: F.interpolate(x, scale_factor=2),
    "1d size 5": lambda F, x: F.interpolate(x, size=5),
    "1d scale 1.5": lambda F, x: F.interpolate(x, scale_factor=1.5),
    "2d size (3, 5)": lambda F, x: F.interpolate(x.view(1, 1, 2, 3), size=(3, 5)),
    "2d scales (2, 1.5)": lambda F, x: F.interpolate(x.view(1, 1, 2, 3), scale_factor=(2, 1.5)),
    "upsample (deprecated)": lambda F, x: F.upsample(x, scale_factor=2),
    "2-d input": lambda F, x: F.interpolate(x.view(2, 3), scale_factor=2),
    "no size": lambda F, x: F.interpolate(x),
}


@pytest.mark.parametrize("name", INTERPOLATIONS)
def test_nearest_interpolate_like_torch(torch, name):
    def resize(T):
        x = T.tensor(np.arange(6.0, dtype=np.float32).reshape(1, 2, 3), requires_grad=True)
        y = INTERPOLATIONS[name](T.nn.functional, x)
        (y * T.arange(float(y.numel())).view(y.shape)).sum().backward()
        return [y, x.grad]

    assert_like_torch(torch, resize)


def test_dropout_in_training_scales_the_kept_elements():
    rt.manual_seed(1)
    x = rt.ones(1000, requires_grad=True)
    y = rt.nn.Dropout(0.25)(x)
    assert type(y.grad_fn).__name__ == "MulBackward0"
    values = y.detach().numpy()
    np.testing.assert_allclose(np.unique(values), [0.0, 1 / 0.75], rtol=1e-6)
    assert 150 < np.sum(values == 0) < 350
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), values)


# --------------------------------------------------------------------------------------------
# losses
# --------------------------------------------------------------------------------------------


def _loss_cases():
    def tensor(T, data, grad=False):
        return T.tensor(data, requires_grad=grad)

    return {
        "mse": lambda T, r: (T.nn.MSELoss(reduction=r), tensor(T, X, True), tensor(T, Y, True)),
        "l1": lambda T, r: (T.nn.L1Loss(reduction=r), tensor(T, X, True), tensor(T, Y)),
        "bce": lambda T, r: (T.nn.BCELoss(reduction=r), tensor(T, PROBABILITIES, True), tensor(T, Y)),
        "bce-weight": lambda T, r: (T.nn.BCELoss(weight=T.tensor([1.0, 2.0, 3.0]), reduction=r),
                                    tensor(T, PROBABILITIES, True), tensor(T, Y)),
        "bce-logits": lambda T, r: (T.nn.BCEWithLogitsLoss(reduction=r), tensor(T, X * 10, True), tensor(T, Y)),
        "bce-logits-pos-weight": lambda T, r: (
            T.nn.BCEWithLogitsLoss(reduction=r, pos_weight=T.tensor([1.0, 2.0, 0.5]),
                                   weight=T.tensor([[1.0], [3.0]])),
            tensor(T, X * 10, True), tensor(T, Y)),
        "cross-entropy": lambda T, r: (T.nn.CrossEntropyLoss(reduction=r), tensor(T, X, True), T.tensor([2, 0])),
        "cross-entropy-weight-ignore": lambda T, r: (
            T.nn.CrossEntropyLoss(weight=T.tensor([1.0, 2.0, 3.0]), ignore_index=1, reduction=r),
            tensor(T, X, True), T.tensor([2, 1])),
        "cross-entropy-1d": lambda T, r: (T.nn.CrossEntropyLoss(reduction=r), tensor(T, X[0], True), T.tensor(1)),
        "cross-entropy-3d": lambda T, r: (T.nn.CrossEntropyLoss(reduction=r),
                                          tensor(T, np.stack([X, 2 * X]).transpose(0, 2, 1).copy(), True),
                                          T.tensor([[1, 0], [2, 1]])),
        "cross-entropy-probabilities": lambda T, r: (T.nn.CrossEntropyLoss(reduction=r), tensor(T, X, True),
                                                     T.tensor(Y / Y.sum(1, keepdims=True))),
        "nll": lambda T, r: (T.nn.NLLLoss(reduction=r), tensor(T, X, True), T.tensor([1, 2])),
        "nll-all-ignored": lambda T, r: (T.nn.NLLLoss(reduction=r), tensor(T, X, True), T.tensor([-100, -100])),
    }


LOSSES = _loss_cases()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("name", LOSSES)
def test_loss_value_grad_fn_and_grads_like_torch(torch, name, reduction):
    def compute(T):
        criterion, input, target = LOSSES[name](T, reduction)
        loss = criterion(input, target)
        (loss * 1.5).sum().backward()
        grads = [input.grad] + ([target.grad] if target.requires_grad else [])
        return [loss] + grads

    assert_like_torch(torch, compute)


LEGACY_ARGUMENTS = [dict(size_average=False), dict(size_average=True), dict(reduce=False),
                    dict(reduce=True), dict(size_average=False, reduce=False),
                    dict(size_average=False, reduce=True), dict(size_average=None, reduce=None)]


@pytest.mark.parametrize("legacy", LEGACY_ARGUMENTS, ids=str)
@pytest.mark.parametrize("loss", ["MSELoss", "L1Loss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
                                  "BCEWithLogitsLoss"])
def test_legacy_size_average_reduce_on_modules_like_torch(torch, loss, legacy):
    assert_like_torch(torch, lambda T: getattr(T.nn, loss)(**legacy).reduction)


@pytest.mark.parametrize("legacy", LEGACY_ARGUMENTS, ids=str)
@pytest.mark.parametrize("loss", ["mse_loss", "l1_loss", "cross_entropy", "nll_loss",
                                  "binary_cross_entropy", "binary_cross_entropy_with_logits"])
def test_legacy_size_average_reduce_on_functionals_like_torch(torch, loss, legacy):
    def compute(T):
        integer_target = loss in ("cross_entropy", "nll_loss")
        target = T.tensor([0, 2]) if integer_target else T.tensor(Y)
        input = T.tensor(PROBABILITIES, requires_grad=True)
        return getattr(T.nn.functional, loss)(input, target, **legacy)

    assert_like_torch(torch, compute)


LOSS_ERRORS = {
    "nll float target": lambda T, F: F.nll_loss(T.tensor(X), T.tensor([1.0, 2.0])),
    "nll int32 target": lambda T, F: F.nll_loss(T.tensor(X), T.tensor([1, 2], dtype=T.int32)),
    "nll batch mismatch": lambda T, F: F.nll_loss(T.tensor(X), T.tensor([1, 2, 0])),
    "nll 2-d target": lambda T, F: F.nll_loss(T.tensor(X), T.tensor([[1], [2]])),
    "nll out of bounds": lambda T, F: F.nll_loss(T.tensor(X), T.tensor([1, 3])),
    "nll 3-d target size": lambda T, F: F.nll_loss(T.ones(2, 3, 2), T.tensor([[1, 0, 2], [0, 0, 1]])),
    "cross entropy float target": lambda T, F: F.cross_entropy(T.tensor(X), T.tensor([1.0, 2.0])),
    "bce size": lambda T, F: F.binary_cross_entropy(T.tensor(PROBABILITIES), T.tensor(Y[:, :1])),
    "bce range": lambda T, F: F.binary_cross_entropy(T.tensor(X), T.tensor(Y)),
    "bce logits size": lambda T, F: F.binary_cross_entropy_with_logits(T.tensor(X), T.tensor(Y[0])),
    "bad reduction": lambda T, F: F.mse_loss(T.tensor(X), T.tensor(Y), reduction="avg"),
    "bad reduction module": lambda T, F: T.nn.L1Loss(reduction="avg")(T.tensor(X), T.tensor(Y)),
    "elementwise_mean": lambda T, F: F.mse_loss(T.tensor(X), T.tensor(Y), reduction="elementwise_mean"),
    "mse broadcast warning": lambda T, F: F.mse_loss(T.tensor(X), T.tensor(Y[0])),
    "l1 broadcast warning": lambda T, F: F.l1_loss(T.tensor(X[:, :1]), T.tensor(Y[:, 0])),
    "mse int target": lambda T, F: F.mse_loss(T.ones(2), T.tensor([1, 2])),
    "mse 0-d": lambda T, F: F.mse_loss(T.tensor(2.0, requires_grad=True), T.tensor(1.0)),
}


@pytest.mark.parametrize("name", LOSS_ERRORS)
def test_loss_errors_and_warnings_like_torch(torch, name):
    assert_like_torch(torch, lambda T: LOSS_ERRORS[name](T, T.nn.functional))


# --------------------------------------------------------------------------------------------
# nn.utils
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("max_norm, norm_type", [(1.0, 2.0), (10.0, 2), (0.5, "inf"), (1.0, 1.0)])
def test_clip_grad_norm_like_torch(torch, max_norm, norm_type):
    def clip(T):
        a = T.nn.Parameter(T.tensor([1.0, 2.0]))
        b = T.nn.Parameter(T.tensor([[0.5, -1.0]]))
        unused = T.nn.Parameter(T.ones(1))
        ((a * T.tensor([3.0, 4.0])).sum() + (b * b).sum()).backward()
        norm = T.nn.utils.clip_grad_norm_([a, b, unused], max_norm, norm_type=float(norm_type))
        return [norm, a.grad, b.grad, unused.grad]

    assert_like_torch(torch, clip)


def test_clip_grad_norm_deprecated_and_edge_cases_like_torch(torch):
    def clip(T):
        p = T.nn.Parameter(T.ones(2))
        empty = T.nn.utils.clip_grad_norm_([p], 1.0)
        p.grad = T.tensor([3.0, 4.0])
        grad = p.grad
        return [empty, T.nn.utils.clip_grad_norm(p, 1.0), p.grad, p.grad is grad]

    assert_like_torch(torch, clip)


# --------------------------------------------------------------------------------------------
# optimizers
# --------------------------------------------------------------------------------------------

W0 = np.array([[0.5, -0.3], [0.2, 0.8]], dtype=np.float32)
B0 = np.array([0.1, -0.2], dtype=np.float32)
BATCH = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.7]], dtype=np.float32)

OPTIMIZERS = {
    "sgd": lambda T, p: T.optim.SGD(p, lr=0.1),
    "sgd-momentum": lambda T, p: T.optim.SGD(p, lr=0.1, momentum=0.9),
    "sgd-dampening": lambda T, p: T.optim.SGD(p, lr=0.1, momentum=0.9, dampening=0.3),
    "sgd-weight-decay": lambda T, p: T.optim.SGD(p, lr=0.1, weight_decay=0.01),
    "sgd-nesterov": lambda T, p: T.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.1),
    "sgd-maximize": lambda T, p: T.optim.SGD(p, lr=0.05, momentum=0.5, maximize=True),
    "adam": lambda T, p: T.optim.Adam(p, lr=0.1),
    "adam-betas-weight-decay": lambda T, p: T.optim.Adam(p, lr=0.01, betas=(0.5, 0.9), weight_decay=0.1, eps=1e-6),
    "adam-amsgrad": lambda T, p: T.optim.Adam(p, lr=0.01, amsgrad=True),
    "adam-decoupled": lambda T, p: T.optim.Adam(p, lr=0.01, weight_decay=0.1, decoupled_weight_decay=True),
    "rmsprop": lambda T, p: T.optim.RMSprop(p, lr=0.01),
    "rmsprop-centered-momentum": lambda T, p: T.optim.RMSprop(p, lr=0.01, alpha=0.9, momentum=0.5,
                                                              centered=True, weight_decay=0.1),
    "param-groups": lambda T, p: T.optim.SGD([{"params": [p[0]]}, {"params": p[1], "lr": 0.5, "momentum": 0.5}],
                                             lr=0.1),
    "generator": lambda T, p: T.optim.Adam((q for q in p), lr=0.05),
}


@pytest.mark.parametrize("set_to_none", [True, False])
@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_trajectory_like_torch(torch, name, set_to_none):
    """Five steps; the bias gets a gradient only every other step, so with set_to_none=True its
    grad is None in steps 2 and 4 (skipped), and with False it is zeros (updated)."""

    def trajectory(T):
        weight = T.nn.Parameter(T.tensor(W0))
        bias = T.nn.Parameter(T.tensor(B0))
        optimizer = OPTIMIZERS[name](T, [weight, bias])
        seen = []
        for step in range(5):
            optimizer.zero_grad(set_to_none=set_to_none)
            output = T.tensor(BATCH) @ weight
            if step % 2 == 0:
                output = output + bias
            (output * output).mean().backward()
            optimizer.step()
            seen += [weight.detach().clone(), bias.detach().clone(), bias.grad is None]
        return seen + [weight.is_leaf, weight.requires_grad, type(weight).__name__, weight.grad_fn]

    assert_like_torch(torch, trajectory)


def test_optimizer_step_keeps_the_same_leaf_objects():
    weight = rt.nn.Parameter(rt.tensor(W0))
    optimizer = rt.optim.Adam([weight], lr=0.1)
    (weight * weight).sum().backward()
    grad = weight.grad
    optimizer.step()
    assert weight.is_leaf and weight.grad_fn is None and weight.grad is grad
    assert optimizer.param_groups[0]["params"][0] is weight
    state = optimizer.state[weight]
    assert state["step"].item() == 1.0 and tuple(state["exp_avg"].shape) == (2, 2)


def test_optimizer_zero_grad_like_torch(torch):
    def zero_grad(T):
        a = T.nn.Parameter(T.ones(2))
        never = T.nn.Parameter(T.ones(2))
        outside = T.nn.Parameter(T.ones(2))
        optimizer = T.optim.SGD([a, never], lr=0.1)
        (a * 2 + outside).sum().backward()
        grad = a.grad
        optimizer.zero_grad(set_to_none=False)
        results = [a.grad is grad, a.grad, never.grad, outside.grad]
        optimizer.zero_grad()
        return results + [a.grad, outside.grad]

    assert_like_torch(torch, zero_grad)


@pytest.mark.parametrize("make", [
    lambda T: T.optim.SGD([], lr=0.1),
    lambda T: T.optim.SGD(T.nn.Parameter(T.ones(1)), lr=0.1),
    lambda T: T.optim.SGD([T.ones(1, requires_grad=True) * 2], lr=0.1),
    lambda T: T.optim.SGD([T.nn.Parameter(T.ones(1))], lr=-1),
    lambda T: T.optim.SGD([T.nn.Parameter(T.ones(1))], lr=0.1, nesterov=True),
    lambda T: T.optim.Adam([T.nn.Parameter(T.ones(1))], betas=(0.9, 1.0)),
    lambda T: T.optim.Adam([T.nn.Parameter(T.ones(1))], lr=0.1, eps=-1.0),
    lambda T: repr(T.optim.SGD([T.nn.Parameter(T.ones(1))], lr=0.1, momentum=0.9)),
    lambda T: repr(T.optim.Adam([T.nn.Parameter(T.ones(1))])),
    lambda T: sorted(T.optim.SGD([T.nn.Parameter(T.ones(1))], lr=0.1).param_groups[0]),
    lambda T: sorted(T.optim.Adam([T.nn.Parameter(T.ones(1))]).defaults),
])
def test_optimizer_construction_like_torch(torch, make):
    assert_like_torch(torch, make)


def test_optimizer_state_dict_round_trip():
    weight = rt.nn.Parameter(rt.tensor(W0))
    optimizer = rt.optim.SGD([weight], lr=0.1, momentum=0.9)
    (weight * weight).sum().backward()
    optimizer.step()
    saved = optimizer.state_dict()
    assert saved["param_groups"][0]["params"] == [0] and "momentum_buffer" in saved["state"][0]
    fresh = rt.optim.SGD([weight], lr=0.5, momentum=0.9)
    fresh.load_state_dict(saved)
    assert fresh.param_groups[0]["lr"] == 0.1
    assert fresh.state[weight]["momentum_buffer"].tolist() == optimizer.state[weight]["momentum_buffer"].tolist()


# --------------------------------------------------------------------------------------------
# event bookkeeping (runtime only): consumed by step(), reset by zero_grad()
# --------------------------------------------------------------------------------------------


@pytest.fixture
def event_log():
    events.clear()
    yield events.log()
    events.clear()


def kinds(log) -> list[str]:
    return [event["kind"] for event in log]


def test_step_then_backward_without_reset_records_grad_accumulated(event_log):
    weight = rt.nn.Parameter(rt.zeros(2))
    optimizer = rt.optim.SGD([weight], lr=0.1)
    (weight + 1).sum().backward()
    optimizer.step()
    (weight + 1).sum().backward()
    optimizer.step()  # uses the sum of both backwards: the accumulation shows here
    assert kinds(event_log) == ["grad-accumulated"]
    assert weight.grad.tolist() == [2.0, 2.0]


@pytest.mark.parametrize("reset", ["optimizer", "optimizer-zeros", "module", "module-zeros"])
def test_reset_between_steps_records_nothing(event_log, reset):
    model = rt.nn.Linear(2, 1)
    optimizer = rt.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(3):
        if reset.startswith("optimizer"):
            optimizer.zero_grad(set_to_none=not reset.endswith("zeros"))
        else:
            model.zero_grad(set_to_none=not reset.endswith("zeros"))
        model(rt.ones(1, 2)).sum().backward()
        optimizer.step()
    assert kinds(event_log) == []


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_between_backward_and_step_records_step_after_reset(event_log, set_to_none):
    model = rt.nn.Linear(2, 1)
    optimizer = rt.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(rt.ones(1, 2)).sum().backward()
    optimizer.zero_grad(set_to_none=set_to_none)
    optimizer.step()
    assert kinds(event_log) == ["step-after-reset"]
    reset_line = event_log[0]["related"]
    assert reset_line and reset_line[0] < event_log[0]["line"]


def test_param_outside_the_optimizer_is_not_consumed(event_log):
    inside = rt.nn.Parameter(rt.ones(1))
    outside = rt.nn.Parameter(rt.ones(1))
    optimizer = rt.optim.SGD([inside], lr=0.1)
    for _ in range(2):
        optimizer.zero_grad()
        (inside * outside).sum().backward()
        optimizer.step()
    # `outside` accumulates (1.0 + 0.9, inside's values) but no step consumed it: no event
    assert kinds(event_log) == []
    assert outside.grad.item() == pytest.approx(1.9)

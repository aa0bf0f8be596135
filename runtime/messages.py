"""Error and warning texts, verbatim from PyTorch 2.13, shared by the runtime's modules."""

from __future__ import annotations

from . import dtypes

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
_M35 = ("Cannot initialize CUDA without ATen_cuda library. PyTorch splits its backend into two "
        "shared libraries: a CPU library and a CUDA library; this error has occurred because you "
        "are trying to use some CUDA functionality, but the CUDA library has not been loaded by "
        "the dynamic linker for some reason.  The CUDA library MUST be loaded, EVEN IF you don't "
        "directly use any symbols from the CUDA library! One common culprit is a lack of "
        "-Wl,--no-as-needed in your link arguments; many dynamic linkers will delete dynamic "
        "library dependencies if you don't depend on any of their symbols.  You can check if "
        "this has occurred by using ldd on your binary to see if there is a dependency on "
        "*_cuda.so library.")

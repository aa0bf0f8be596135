"""The backward engine: from outputs and their gradients to `.grad` (or autograd.grad's result).

`run_backward` (Tensor.backward, torch.autograd.backward) and `grad` (torch.autograd.grad)
first check the outputs as PyTorch's `_make_grads` does (M22 shape mismatch, M21 implicit
gradient of a non-scalar, M20 output without grad, each recorded as an event first), then
`_execute`:

1. topologically sort the nodes reachable from the outputs' grad_fns (iteratively: graphs
   that span many iterations are long chains);
2. walk them in that order, summing the gradients that reach each node, then calling the
   node's backward closure (after the M18 saved-version check; a freed node raises M23);
3. hand each input's gradient to the next node, summed back to the input's shape and dtype
   (`_fit`, as PyTorch's validate_outputs); leaves are reached as AccumulateGrad nodes, which
   add into `.grad` in place;
4. without retain_graph, free every node that ran.

Closures run under no_grad, or with grad enabled for create_graph (then the gradients have
a graph of their own).
"""

from __future__ import annotations

import weakref

import numpy as np

from . import events, history
from .grad_mode import enable_grad, no_grad
from .core import AccumulateGrad, Tensor, _sum_to, record_op
from .gradbook import next_sequence
from .messages import CREATE_GRAPH_WARNING, M20, M21, M22, M23


def _tensor_list(value):
    if value is None:
        return None
    if isinstance(value, Tensor):
        return [value]
    return list(value)


def _make_grads(outputs, grads):
    """Check or create the output gradients as torch.autograd._make_grads does."""
    if grads is None:
        grads = [None] * len(outputs)
    if len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs")
    result = []
    for index, (out, grad) in enumerate(zip(outputs, grads)):
        if isinstance(grad, Tensor):
            if grad._data.shape != out._data.shape:
                events.record("backward-gradient-shape",
                              f"gradient of shape {grad.shape} for an output of shape {out.shape}")
                raise RuntimeError(M22.format(index=index, grad_shape=grad.shape, out_shape=out.shape))
            result.append(grad)
        elif grad is None:
            if out._requires_grad:
                if out._data.size != 1:
                    events.record("backward-non-scalar",
                                  f"implicit gradient for an output of shape {out.shape}")
                    raise RuntimeError(M21)
                result.append(Tensor._wrap(np.ones_like(out._data)))
            else:
                result.append(None)
        else:
            raise TypeError(f"gradients can be either Tensors or None, but got {type(grad).__name__}")
    return result


def _check_requires_grad(outputs):
    for index, out in enumerate(outputs):
        if not out._requires_grad:
            events.record("backward-without-grad",
                          "backward on a tensor that does not require grad (no grad_fn)")
            raise RuntimeError(M20.format(index=index))


def _root_node(tensor):
    return tensor._grad_fn if tensor._grad_fn is not None else tensor._accumulate_grad_node()


def _topological_order(roots):
    """Nodes reachable from roots, each before all the nodes it feeds gradients into."""
    order, visited = [], set()
    for root in roots:
        if id(root) in visited:
            continue
        visited.add(id(root))
        stack = [(root, iter(root.next_functions))]
        while stack:
            node, children = stack[-1]
            for child, _ in children:
                if child is not None and id(child) not in visited:
                    visited.add(id(child))
                    stack.append((child, iter(child.next_functions)))
                    break
            else:
                stack.pop()
                order.append(node)
    order.reverse()
    return order


def _fit(grad, meta):
    shape, target_dtype = meta
    if tuple(grad._data.shape) != tuple(shape):
        grad = _sum_to(grad, shape)
    if grad.dtype is not target_dtype and target_dtype.is_floating_point:
        grad = grad.to(target_dtype)
    return grad


def _execute(roots, root_grads, retain_graph, create_graph, capture=None):
    """Run the graph from (root node, grad) pairs.

    capture: None to accumulate into leaves' .grad; otherwise a dict {node: None} of the
    nodes whose incoming gradient autograd.grad wants (no accumulation then).
    Returns (captured grads, leaves that received an accumulation into an existing grad).
    """
    order = _topological_order(roots)
    if capture is not None:
        # like PyTorch, only run the part of the graph that leads to the requested inputs
        needed = set(id(node) for node in capture)
        for node in reversed(order):
            if any(child is not None and id(child) in needed for child, _ in node.next_functions):
                needed.add(id(node))
        order = [node for node in order if id(node) in needed]
    grads = {}
    for node, grad in zip(roots, root_grads):
        if grad is not None:
            grads[id(node)] = grads[id(node)] + grad if id(node) in grads else grad
    accumulated_into = []
    touched_leaves = []
    with enable_grad() if create_graph else no_grad():
        for node in order:
            grad = grads.pop(id(node), None)
            if grad is None:
                continue
            if capture is not None and node in capture:
                capture[node] = grad if capture[node] is None else capture[node] + grad
            if isinstance(node, AccumulateGrad):
                if capture is None:
                    leaf = node.variable
                    for hook in leaf._hooks:
                        replaced = hook(grad)
                        grad = replaced if replaced is not None else grad
                    if leaf._no_grad_view:
                        continue
                    if _accumulate(leaf, grad, create_graph):
                        accumulated_into.append(leaf)
                    touched_leaves.append(leaf)
                continue
            if node._freed:
                raise RuntimeError(M23)
            node._check_saved_versions()
            for hook in node._tensor_hooks:
                replaced = hook(grad)
                grad = replaced if replaced is not None else grad
            for ref in node._retained:
                tensor = ref()
                if tensor is not None and tensor._grad_fn is node:
                    tensor._grad = grad.detach() if tensor._grad is None else tensor._grad + grad
            input_grads = node._backward(grad)
            for (child, _), meta, child_grad in zip(node.next_functions, node._input_meta, input_grads):
                if child is None or child_grad is None:
                    continue
                child_grad = _fit(child_grad, meta)
                key = id(child)
                grads[key] = grads[key] + child_grad if key in grads else child_grad
            if not retain_graph:
                node._release()
    history.backpropagated(node for node in order if not isinstance(node, AccumulateGrad))
    return accumulated_into, touched_leaves


def _accumulate(leaf, grad, create_graph) -> bool:
    """Add grad into leaf.grad (in place, the same object). True if it added to an existing one."""
    if leaf._grad is None:
        if create_graph:  # a differentiable copy, as PyTorch's (grad_fn=CopyBackwards)
            new = record_op("CopyBackwards", np.array(grad._data, copy=True), (grad,), lambda g: (g,))
        else:
            new = Tensor._wrap(np.array(grad._data, copy=True))
        new._grad_owner = weakref.ref(leaf)
        leaf._grad = new
        return False
    if create_graph:
        new = leaf._grad + grad
        new._grad_owner = weakref.ref(leaf)
        leaf._grad = new
    else:
        leaf._grad._data += grad._data.astype(leaf._grad._data.dtype, copy=False)
    return True


def run_backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False, inputs=None,
                 from_method=False):
    """torch.autograd.backward / Tensor.backward."""
    outputs = _tensor_list(tensors)
    grads = _make_grads(outputs, _tensor_list(grad_tensors))
    _check_requires_grad(outputs)
    if retain_graph is None:
        retain_graph = create_graph
    roots = [_root_node(out) for out in outputs]
    root_grads = grads
    if inputs is not None:
        input_list = _tensor_list(inputs)
        captured = _execute_for_inputs(roots, root_grads, retain_graph, create_graph, input_list)
        for tensor, grad in zip(input_list, captured):
            if grad is not None:
                _accumulate(tensor, grad, create_graph)
        return None
    accumulated_into, touched = _execute(roots, root_grads, retain_graph, create_graph)
    _after_backward_bookkeeping(accumulated_into, touched)
    if create_graph and touched:
        events.warn(CREATE_GRAPH_WARNING, UserWarning)
    return None


def _after_backward_bookkeeping(accumulated_into, touched):
    """A backward that adds into a grad consumed since its last reset makes that grad stale.

    The event is recorded only when a stale grad is consumed again (`_note_grad_consumed`):
    a GAN's generator backward also adds into the discriminator's used grads, but those are
    reset before the discriminator's next step, so nothing accumulates where it matters."""
    call_id = next_sequence()
    file, line = events.program_location()
    for leaf in accumulated_into:
        book = leaf._grad_book
        if book is not None and book.consumed_seq > book.reset_seq and book.stale is None:
            book.stale = (call_id, file, line, book.consumed_line)
    for leaf in touched:
        leaf._note_backward()


def _execute_for_inputs(roots, root_grads, retain_graph, create_graph, inputs):
    targets = []
    for tensor in inputs:
        if not tensor._requires_grad:
            raise RuntimeError("One of the differentiated Tensors does not require grad")
        targets.append(_root_node(tensor))
    capture = {node: None for node in targets}
    _execute(roots, root_grads, retain_graph, create_graph, capture=capture)
    return [capture[node] for node in targets]


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """torch.autograd.grad: gradients of outputs w.r.t. inputs, without touching .grad."""
    output_list = _tensor_list(outputs)
    input_list = _tensor_list(inputs)
    grads = _make_grads(output_list, _tensor_list(grad_outputs))
    _check_requires_grad(output_list)
    if retain_graph is None:
        retain_graph = create_graph
    if allow_unused is None:
        allow_unused = materialize_grads
    roots = [_root_node(out) for out in output_list]
    captured = _execute_for_inputs(roots, grads, retain_graph, create_graph, input_list)
    result = []
    for index, (tensor, value) in enumerate(zip(input_list, captured)):
        if value is None:
            if materialize_grads:
                value = Tensor._wrap(np.zeros_like(tensor._data))
            elif not allow_unused:
                raise RuntimeError(
                    f"The differentiated Tensor at index {index} appears to not have been used in "
                    "the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(value)
    return tuple(result)

# Hand-ported to PyTorch 2.x: VL007/creator.py with its crash ported by hand, nothing else changed.
# PyTorch 0.1 named the node that created a tensor `.creator`; it is `.grad_fn` since 0.2.
import torch

x = torch.tensor([1.0, 2.0], requires_grad=True)
y = x * 2
z = y.sum()
print(type(z.grad_fn).__name__)
print(type(y.grad_fn).__name__)

# Hand-ported to PyTorch 2.x: VL007/backward_variables.py with its crash ported by hand, nothing else changed.
import torch

w = torch.ones(2, requires_grad=True)
y = (w * 3).sum()
torch.autograd.backward(tensors=[y], grad_tensors=[torch.tensor(1.0)])
print(w.grad)

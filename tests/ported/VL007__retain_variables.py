# Hand-ported to PyTorch 2.x: VL007/retain_variables.py with its crash ported by hand, nothing else changed.
# 0.2-era `retain_variables=` is `retain_graph=` now; the old keyword raises a TypeError.
import torch

w = torch.tensor([1.0, 2.0], requires_grad=True)
loss = (w * w).sum()
print("loss", loss.item())
loss.backward(retain_graph=True)
print("first", w.grad)
loss.backward()
print("accumulated", w.grad)

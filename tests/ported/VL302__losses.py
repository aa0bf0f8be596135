# Hand-ported to PyTorch 2.x: VL302/losses.py with its crash ported by hand, nothing else changed.
import torch
import torch.nn as nn

w = torch.ones(3, requires_grad=True)
x = torch.tensor([1.0, 2.0, 3.0])
criterion = nn.MSELoss()
loss_a = criterion(w * x, torch.zeros(3))
loss_b = (w * x).sum()
both = torch.stack((loss_a, loss_b))
print(both.shape)

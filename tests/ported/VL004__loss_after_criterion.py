# Hand-ported to PyTorch 2.x: VL004/loss_after_criterion.py with its crash ported by hand, nothing else changed.
# `loss.data[0]` right after a loss module: the loss is 0-dim, so the 0.3 idiom raises.
import torch
import torch.nn as nn

inputs = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
targets = torch.tensor([1.0, 2.0])
weight = torch.tensor([0.5, -0.5], requires_grad=True)

criterion = nn.MSELoss()
outputs = (inputs * weight).sum(1)
loss = criterion(outputs, targets)
print("outputs", outputs.tolist())
print("loss dim", loss.dim())
print("loss: %.4f" % loss.item())

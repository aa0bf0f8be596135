# Hand-ported to PyTorch 2.x: VL004/numpy_index.py with its crash ported by hand, nothing else changed.
# The numpy spelling of the 0.3 idiom: `.numpy()` of a 0-dim tensor is a 0-d array.
import torch
import torch.nn.functional as F

prediction = torch.tensor([0.5, 1.5, 2.0], requires_grad=True)
target = torch.tensor([1.0, 1.0, 1.0])
batch = torch.tensor([[1.0, 2.0], [3.0, 4.0]])

loss = F.mse_loss(prediction, target)
print("first row", batch.data.numpy()[0])  # (was) VL005
print("first row again", batch.data[0])
print("loss", loss.item())

# Hand-ported to PyTorch 2.x: VL004/tolist_index.py with its crash ported by hand, nothing else changed.
# `.tolist()` of a 0-dim tensor is a Python number, which `[0]` cannot index.
import torch

scores = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
total = scores.sum()
row_sums = scores.sum(1)
print("row sums", row_sums.tolist())
print("first row sum", row_sums.data[0])
print("total", total.item())

# Hand-ported to PyTorch 2.x: VL004/norm_index.py with its crash ported by hand, nothing else changed.
# Full reductions without `dim` are 0-dim: `norm()`, `mean()`; `x[0]` raises on them too.
import torch

gradient = torch.tensor([3.0, 4.0])
norm = gradient.norm()
print("norm dim", norm.dim())
print("mean", gradient.mean().item())
print("norm", norm.item())

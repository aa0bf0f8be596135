# Hand-ported to PyTorch 2.x: VL106/wgan_mone.py with its crash ported by hand, nothing else changed.
# The generator step of WGAN: backward with `mone` (a [1]-shaped -1) on a 0-dim loss raises;
# `(-errG).backward()` computes the gradients the 0.3 code meant.
import torch

generator = torch.tensor([1.0, 3.0], requires_grad=True)
one = torch.tensor(1.0)
mone = -one

errG = (generator * 2).mean()
errG.backward(mone, retain_graph=True)  # (was) VL106
print(generator.grad)
errG.backward(gradient=one)  # (was) VL106
print(generator.grad)

# Hand-ported to PyTorch 2.x: VL106/wgan_one.py with its crash ported by hand, nothing else changed.
# The WGAN training idiom from PyTorch 0.3: `one` and `mone` seed the backward of the critic's
# outputs. Losses are 0-dim since 0.4, so a gradient of shape [1] no longer matches:
# RuntimeError: Mismatch in shape: grad_output[0] has a shape of torch.Size([1]) and
# output[0] has a shape of torch.Size([]).
import torch

critic = torch.tensor([0.5, -0.5], requires_grad=True)
real = torch.tensor([1.0, 2.0])
fake = torch.tensor([0.0, 1.0])

one = torch.tensor(1.0)
mone = one * -1

errD_real = (critic * real).mean()
errD_real.backward(one)  # (was) VL106
errD_fake = (critic * fake).mean()
errD_fake.backward(mone)  # (was) VL106
print(critic.grad)

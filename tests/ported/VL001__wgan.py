# Hand-ported to PyTorch 2.x: VL001/wgan.py with its crash ported by hand, nothing else changed.
# A WGAN critic step written for PyTorch 0.3: Variable wrappers, a frozen generator output,
# and the `one` / `mone` gradients that no longer fit a 0-dim loss (M22 on modern PyTorch).
import torch
import torch.nn as nn
import torch.optim as optim
from torch.autograd import Variable

netD = nn.Linear(2, 1)
with torch.no_grad():
    netD.weight.fill_(0.5)
    netD.bias.zero_()
optimizerD = optim.SGD(netD.parameters(), lr=0.1)

one = torch.tensor(1.0)
mone = one * -1

real = Variable(torch.ones(4, 2))  # (was) VL001
noise = Variable(torch.full((4, 2), 0.25), volatile=True)  # (was) VL001, VL003
fake = Variable((noise * 2).data)  # (was) VL001

netD.zero_grad()
errD_real = netD(real).mean()
errD_real.backward(one)  # (was) VL106
errD_fake = netD(fake).mean()
errD_fake.backward(mone)  # (was) VL106
optimizerD.step()
print(netD.weight)
print(netD.bias)
print(errD_real.item() - errD_fake.item())

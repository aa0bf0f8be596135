# Hand-ported to PyTorch 2.x: examples/wgan.py with its crash ported by hand, nothing else changed.
"""The critic update of a Wasserstein GAN, as in the reference implementation of 2017
(github.com/martinarjovsky/WassersteinGAN): `one` and `mone` are 1-element tensors passed to
`backward()` to flip the sign of the loss, and the weights are clipped through `.data`.
"""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.autograd import Variable

torch.manual_seed(0)

netD = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 1))
netG = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Linear(16, 8))
optimizerD = optim.Adam(netD.parameters(), lr=5e-5)

one = torch.tensor(1.0)
mone = one * -1

for step in range(3):
    for p in netD.parameters():
        p.data.clamp_(-0.01, 0.01)

    netD.zero_grad()
    real = Variable(torch.randn(16, 8))
    errD_real = netD(real).mean()
    errD_real.backward(one)

    noise = Variable(torch.randn(16, 4), volatile=True)
    fake = Variable(netG(noise).data)
    errD_fake = netD(fake).mean()
    errD_fake.backward(mone)

    errD = errD_real - errD_fake
    optimizerD.step()
    print('step {} critic loss {:.4f}'.format(step, errD.item()))

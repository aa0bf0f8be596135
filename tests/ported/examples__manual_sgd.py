# Hand-ported to PyTorch 2.x: examples/manual_sgd.py with its crash ported by hand, nothing else changed.
"""A two-layer network trained by hand, from the PyTorch 0.3 "Autograd" tutorial: Variables
with requires_grad=True, updates through `.data`, and gradients reset with
`w.grad.data.zero_()`.
"""
import torch
from torch.autograd import Variable

torch.manual_seed(0)
dtype = torch.FloatTensor

N, D_in, H, D_out = 16, 20, 10, 2
x = Variable(torch.randn(N, D_in).type(dtype), requires_grad=False)
y = Variable(torch.randn(N, D_out).type(dtype), requires_grad=False)
w1 = Variable(torch.randn(D_in, H).type(dtype), requires_grad=True)
w2 = Variable(torch.randn(H, D_out).type(dtype), requires_grad=True)

learning_rate = 1e-3
for t in range(5):
    y_pred = x.mm(w1).clamp(min=0).mm(w2)
    loss = (y_pred - y).pow(2).sum()
    print(t, loss.item())

    loss.backward()

    w1.data -= learning_rate * w1.grad.data
    w2.data -= learning_rate * w2.grad.data

    w1.grad.data.zero_()
    w2.grad.data.zero_()

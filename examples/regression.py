"""Linear regression with an optimizer, written in a hurry: the gradients are never reset in
the loop (they accumulate), the running loss keeps every iteration's graph alive, and `.grad`
is read on a tensor that never gets one.
"""
import torch
import torch.nn as nn
import torch.optim as optim
from torch.autograd import Variable

torch.manual_seed(0)

inputs = Variable(torch.randn(32, 3))
weights = Variable(torch.FloatTensor([[1.5], [-2.0], [0.5]]))
targets = inputs.mm(weights)

model = nn.Linear(3, 1)
criterion = nn.MSELoss()
optimizer = optim.SGD(model.parameters(), lr=0.1)

total_loss = 0
for epoch in range(4):
    loss = criterion(model(inputs), targets)
    loss.backward()
    optimizer.step()
    total_loss += loss
print('mean loss', (total_loss / 4).item())
print('input gradient', inputs.grad)

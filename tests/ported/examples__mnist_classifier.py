# Hand-ported to PyTorch 2.x: examples/mnist_classifier.py with its crash ported by hand, nothing else changed.
"""An MNIST-style classifier in the PyTorch 0.3 idiom (2017): every tensor wrapped in a
Variable, `volatile=True` for evaluation, `loss.data[0]` to read the loss.

The data is synthetic (random images and labels) so that the script runs anywhere.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim
from torch.autograd import Variable

torch.manual_seed(0)


class Net(nn.Module):
    def __init__(self):
        super(Net, self).__init__()
        self.fc1 = nn.Linear(784, 64)
        self.fc2 = nn.Linear(64, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def batches(count, size=32):
    for _ in range(count):
        images = torch.randn(size, 784)
        labels = (torch.rand(size) * 10).long()
        yield images, labels


model = Net()
optimizer = optim.SGD(model.parameters(), lr=0.01, momentum=0.5)

for epoch in range(2):
    model.train()
    for batch_idx, (data, target) in enumerate(batches(5)):
        data, target = Variable(data), Variable(target)
        optimizer.zero_grad()
        output = model(data)
        loss = F.nll_loss(output, target)
        loss.backward()
        optimizer.step()
        if batch_idx % 2 == 0:
            print('epoch {} batch {} loss {:.4f}'.format(epoch, batch_idx, loss.item()))

model.eval()
test_loss = 0
correct = 0
for data, target in batches(2):
    data, target = Variable(data, volatile=True), Variable(target)
    output = model(data)
    test_loss += F.nll_loss(output, target, reduction='sum').item()
    pred = output.data.max(1, keepdim=True)[1]
    correct += pred.eq(target.data.view_as(pred)).sum()
print('test loss {:.4f}, {} correct'.format(test_loss / 64, int(correct)))

# Evaluation script from the Python 2 days: varlint reports it as Python 2 source (VL900)
# and goes on with the other files.
import torch
from torch.autograd import Variable

model = torch.nn.Linear(4, 2)
x = Variable(torch.ones(1, 4), volatile=True)
out = model(x)
print "prediction:", out.data[0]

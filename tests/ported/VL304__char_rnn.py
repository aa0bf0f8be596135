# Hand-ported to PyTorch 2.x: VL304/char_rnn.py with its crash ported by hand, nothing else changed.
import torch
import torch.nn as nn
import torch.nn.functional as F

output = torch.tensor([[0.1, 0.7, 0.2]])
target = torch.LongTensor([1, 2, 0])  # (was) VL006
criterion = nn.CrossEntropyLoss()
for c in range(2):
    loss = criterion(output, target[c].unsqueeze(0))
    print(loss.shape)
print(F.nll_loss(output, target[0].view(1)).shape)

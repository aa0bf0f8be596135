# Hand-ported to PyTorch 2.x: VL301/policy_sampling.py with its crash ported by hand, nothing else changed.
import torch
import torch.nn.functional as F

torch.manual_seed(0)
logits = torch.tensor([[0.0, 10.0, 0.0]])
probs = F.softmax(logits, dim=1)
action = probs.multinomial(num_samples=1)
print(action.shape)
other = torch.multinomial(probs, num_samples=1)
print(other.shape)

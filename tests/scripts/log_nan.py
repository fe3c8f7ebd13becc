# torch.log of a zero makes the loss NaN (the -inf times a zero weight): where did the NaN come from?
import torch

weight = torch.tensor([1.0, 0.0], requires_grad=True)
counts = torch.tensor([2.0, 0.0])
total = counts.sum()
log_counts = torch.log(counts)
loss = -(weight * log_counts).sum() / total
loss.backward()
print(loss)

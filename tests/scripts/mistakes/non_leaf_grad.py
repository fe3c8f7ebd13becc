import torch

weight = torch.tensor(2.0, requires_grad=True)
hidden = weight * 3
loss = hidden ** 2
loss.backward()
print(hidden.grad)

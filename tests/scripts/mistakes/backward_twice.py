import torch

weight = torch.tensor(2.0, requires_grad=True)
loss = (weight * 3.0) ** 2
loss.backward()
loss.backward()

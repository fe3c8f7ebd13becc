import torch

weights = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
scaled = weights * 2
scaled.backward()

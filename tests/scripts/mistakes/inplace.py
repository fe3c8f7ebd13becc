import torch

weight = torch.tensor([1.0, 2.0], requires_grad=True)
activated = weight.exp()
activated += 1
activated.sum().backward()

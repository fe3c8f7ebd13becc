# Two products in one graph: its backward pass runs two MulBackward0 nodes.
import torch

weight = torch.tensor(2.0, requires_grad=True)
bias = torch.tensor(0.5, requires_grad=True)
scaled = weight * 3.0
shifted = (scaled + bias) * weight
loss = shifted ** 2
loss.backward()
print(weight.grad, bias.grad)

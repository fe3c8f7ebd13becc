import torch

weight = torch.tensor(2.0, requires_grad=True)
prediction = weight.detach() * 3
target = torch.tensor(10.0, requires_grad=True)
loss = (prediction - target) ** 2
loss.backward()
print(weight.grad)

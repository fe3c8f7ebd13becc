import torch

weight = torch.tensor(1.0, requires_grad=True)
optimizer = torch.optim.SGD([weight], lr=0.1)
for _ in range(3):
    loss = (weight * 2 - 1) ** 2
    loss.backward()
    optimizer.step()
print(weight)

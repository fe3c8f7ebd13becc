# Raises in the third iteration of its loop.
import torch

weights = torch.tensor([1.0, 2.0], requires_grad=True)
for step in range(5):
    loss = (weights * step).sum()
    if step == 2:
        raise ValueError("the learning rate exploded")
    loss.backward()

import torch

inputs = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
targets = torch.tensor([2.0, 4.0, 6.0, 8.0])
layer = torch.nn.Linear(1, 1)
predictions = layer(inputs)
loss = torch.nn.functional.mse_loss(predictions, targets)
loss.backward()

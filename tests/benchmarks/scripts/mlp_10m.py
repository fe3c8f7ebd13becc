# A 10M-parameter MLP (1024 -> 3300 -> 2048 -> 10) trained a few steps with SGD.
import torch
from torch import nn

torch.manual_seed(0)
model = nn.Sequential(nn.Linear(1024, 3300), nn.ReLU(), nn.Linear(3300, 2048), nn.ReLU(), nn.Linear(2048, 10))
inputs = torch.randn(16, 1024)
labels = torch.randint(0, 10, (16,))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.SGD(model.parameters(), lr=0.01)

for step in range(5):
    optimizer.zero_grad()
    loss = loss_fn(model(inputs), labels)
    loss.backward()
    optimizer.step()

print(f"loss {loss.item():.6f}")

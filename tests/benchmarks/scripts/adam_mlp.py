# A 784 -> 256 -> 10 MLP trained with Adam on a fixed random batch (MNIST-shaped).
import torch

torch.manual_seed(0)
inputs = torch.randn(32, 784)
labels = torch.randint(0, 10, (32,))
model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 10))
loss_fn = torch.nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

for step in range(60):
    logits = model(inputs)
    loss = loss_fn(logits, labels)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()

print(f"loss {loss.item():.6f}")

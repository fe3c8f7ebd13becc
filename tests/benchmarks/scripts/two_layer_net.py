# A two-layer net of the shape PyTorch's nn tutorial trains: 64 x 1000 -> 100 -> 10, plain SGD by hand.
import torch

torch.manual_seed(0)
batch, d_in, hidden, d_out = 64, 1000, 100, 10
x = torch.randn(batch, d_in)
y = torch.randn(batch, d_out)
model = torch.nn.Sequential(torch.nn.Linear(d_in, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, d_out))
loss_fn = torch.nn.MSELoss(reduction="sum")
learning_rate = 1e-4

for t in range(500):
    y_pred = model(x)
    loss = loss_fn(y_pred, y)
    model.zero_grad()
    loss.backward()
    with torch.no_grad():
        for param in model.parameters():
            param -= learning_rate * param.grad

print(f"loss {loss.item():.6f}")

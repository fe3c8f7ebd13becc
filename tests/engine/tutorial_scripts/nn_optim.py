# A small nn.Sequential trained with RMSprop on a fixed batch (nn-tutorial shape).
import torch

torch.manual_seed(0)
x = torch.randn(32, 20)
y = torch.randn(32, 3)
model = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
loss_fn = torch.nn.MSELoss(reduction="sum")
optimizer = torch.optim.RMSprop(model.parameters(), lr=1e-3)
for t in range(25):
    y_pred = model(x)
    loss = loss_fn(y_pred, y)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
print(loss.item())

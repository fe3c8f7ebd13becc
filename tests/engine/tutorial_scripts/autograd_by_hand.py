# Fit a cubic to sin(x) with tensors and autograd, updating the weights by hand (autograd-tutorial shape).
import math

import torch

x = torch.linspace(-math.pi, math.pi, 400)
y = torch.sin(x)
a = torch.randn((), requires_grad=True, generator=torch.Generator().manual_seed(1))
b = torch.randn((), requires_grad=True, generator=torch.Generator().manual_seed(2))
c = torch.randn((), requires_grad=True, generator=torch.Generator().manual_seed(3))
d = torch.randn((), requires_grad=True, generator=torch.Generator().manual_seed(4))
learning_rate = 1e-6
for t in range(40):
    y_pred = a + b * x + c * x ** 2 + d * x ** 3
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        a -= learning_rate * a.grad
        b -= learning_rate * b.grad
        c -= learning_rate * c.grad
        d -= learning_rate * d.grad
        a.grad = None
        b.grad = None
        c.grad = None
        d.grad = None
print(f"y = {a.item()} + {b.item()} x + {c.item()} x^2 + {d.item()} x^3")

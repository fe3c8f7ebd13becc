# A custom autograd Function (P3(x) = (5x^3 - 3x) / 2) inside a hand-updated model (autograd-tutorial shape).
import math

import torch


class LegendreP3(torch.autograd.Function):
    @staticmethod
    def forward(ctx, value):
        ctx.save_for_backward(value)
        return 0.5 * (5 * value ** 3 - 3 * value)

    @staticmethod
    def backward(ctx, grad_output):
        (value,) = ctx.saved_tensors
        return grad_output * 1.5 * (5 * value ** 2 - 1)


x = torch.linspace(-math.pi, math.pi, 300)
y = torch.sin(x)
weights = torch.full((4,), 0.1, requires_grad=True)
learning_rate = 5e-6
for t in range(30):
    y_pred = weights[0] + weights[1] * LegendreP3.apply(weights[2] + weights[3] * x)
    loss = (y_pred - y).pow(2).sum()
    loss.backward()
    with torch.no_grad():
        weights -= learning_rate * weights.grad
        weights.grad.zero_()
print(weights.tolist())

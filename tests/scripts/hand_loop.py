# A hand-written training loop: a custom autograd Function, an update under
# no_grad and `.grad = None` instead of torch.optim.
import torch


class Square(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor):
        ctx.save_for_backward(tensor)
        return tensor * tensor

    @staticmethod
    def backward(ctx, grad_output):
        (tensor,) = ctx.saved_tensors
        return 2 * tensor * grad_output


w = torch.tensor(1.0, requires_grad=True)
target = torch.tensor(4.0)
lr = 0.05
for iteration in range(3):
    prediction = Square.apply(w)
    loss = (prediction - target) ** 2
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
    w.grad = None
print(w)

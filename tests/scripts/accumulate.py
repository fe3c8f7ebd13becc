# Without a reset, .grad accumulates over two backward passes.
import torch

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
z = x + y
z_sum = torch.sum(z)
z_sum.backward(retain_graph=True)
z_sum.backward()
print(x.grad)

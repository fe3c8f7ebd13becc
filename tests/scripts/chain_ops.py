# One backward pass through the ops whose chain rule gradstep states with numbers.
import torch
import torch.nn.functional as F

a = torch.tensor(3.0, requires_grad=True)
b = torch.tensor(4.0, requires_grad=True)
w = torch.tensor([[0.5, -1.0], [2.0, 1.5]], requires_grad=True)
x = torch.tensor([[1.0, 2.0]], requires_grad=True)
bias = torch.tensor([0.1, -0.2], requires_grad=True)
target = torch.tensor([[1.0, 0.0]])

quotient = a / b
difference = a - b
summed = a + b
rsubbed = 2 - quotient
negated = -difference
powered = summed ** 3
exped = torch.exp(negated / 10)
logged = torch.log(powered)
scalars = quotient * rsubbed + exped * logged
hidden = x.mm(w)
affine = torch.addmm(bias, x, w)
relu = torch.relu(hidden - 2)
sig = torch.sigmoid(affine)
tanh = torch.tanh(affine)
mse = F.mse_loss(sig, target)
loss = scalars + relu.sum() + tanh.mean() + mse
loss.backward()

# The seed example without its reset: .grad accumulates over three backward passes.
import torch
from torch.optim import SGD

var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
my_sgd = SGD([var_1, var_2], lr=3e-3)

my_latent_value = var_1 * var_2
loss = (15 - my_latent_value) ** 2
loss.backward()  # BACKPROP!
my_sgd.step()  # OPTIMIZE!

for _ in range(2):
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    loss.backward()  # BACKPROP! (no zero_grad: the grads add up)
    my_sgd.step()  # OPTIMIZE!

print(var_1, var_2)

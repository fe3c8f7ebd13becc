# The seed course's training loop alone (line 11 is its backward): var_1 * var_2 to 15 with SGD.
import torch
from torch.optim import SGD

var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
my_sgd = SGD([var_1, var_2], lr=3e-3)
for _ in range(100):
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    my_sgd.zero_grad()  # RESET!
print(var_1, var_2)

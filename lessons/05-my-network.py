# %% [markdown]
# # My network
#
# An nn.Module of two nn.Linear layers, 3 → 2 → 5, trained with SGD to map [1, 2, 3] to [1, 2, 3, 4, 5].
#
# What you will see: `my_network.m1.weight`, `my_network.m1.bias`, `my_network.m2.weight` and
# `my_network.m2.bias` in the tensors pane, all filled with random numbers by PyTorch. Stepping into
# `my_network(my_input)` walks through `forward()`. The loss starts at 50.2; ten rounds of backprop,
# optimize, reset bring the output to within 0.01 of [1, 2, 3, 4, 5], and after twenty it is within
# 0.0001.

# %% [markdown]
# ## A module
#
# `nn.Linear(3, 2)` is a **linear layer**: a 2×3 matrix of weights plus 2 biases, mapping a vector of
# three things to a vector of two. You give the *input* size first. PyTorch fills it with random
# numbers and sets `requires_grad` on, because a layer's weights are always something we will ask SGD
# to change. `torch.manual_seed(0)` makes those random numbers the same on every run.
#
# `MyNetwork` wraps two layers into one **module**: `__init__` declares them and `forward()` passes
# the input through them, 3 → 2 → 5. You never call `forward()` yourself: calling `my_network(...)`
# does.

# %%
import torch
import torch.nn as nn
from torch.optim import SGD

torch.manual_seed(0)


class MyNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.m1 = nn.Linear(3, 2)
        self.m2 = nn.Linear(2, 5)

    def forward(self, x):
        x = self.m1(x)
        x = self.m2(x)
        return x


my_network = MyNetwork()

# %% [markdown]
# ## An input, a desired output, and a loss
#
# Arbitrarily and for fun, we ask the network to return [1, 2, 3, 4, 5] given [1, 2, 3]. Right now it
# returns random numbers, [-0.42, -0.14, 0.79, 0.83, -0.35].
#
# The loss is the same squared difference as before, but it is a vector of five latent values and
# SGD can take only a *single* latent value to 0. So we add them up with `torch.sum`: the **sum of
# squares**, 50.2 to begin with. `my_network.parameters()` hands SGD every tensor of the module at
# once: no more typing out a list.

# %%
my_input = torch.tensor([1.0, 2.0, 3.0])
my_desired_output = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
my_network_output = my_network(my_input)
loss = torch.sum((my_network_output - my_desired_output) ** 2)
my_sgd = SGD(my_network.parameters(), lr=1e-2)

# %% [markdown]
# ## Train: backprop, optimize, reset
#
# Each round computes a new latent output and a new loss, then the three steps. The loss printed on
# each line is the one *before* that round's update: 50.2, 44.0, 34.5, 20.9, 7.4, 1.05, ... down to
# 0.0002 at the start of round 11: ten rounds took the output to within 0.01 of [1, 2, 3, 4, 5].
#
# **Why 20 rounds and not 100,000?** The seed notes train this network for 50,000 + 50,000 rounds at
# a learning rate of `1e-6`, and end at [0.9975, 1.9986, 3.0006, 4.0026, 5.0052]. Each step of SGD
# moves the weights by the learning rate times the gradient, so `1e-2` takes steps 10,000 times
# bigger: the same trip takes ten rounds instead of about a hundred thousand, and here you can step
# through every one of them.
#
# Bigger is not always better — the hoppy frog again. Try `lr=5e-2`: each step overshoots by more
# than it corrects, the loss grows instead of shrinking, and within a few rounds it is `inf`, then
# `nan`. A good learning rate is the largest one that still settles down.

# %%
for iteration in range(20):
    my_network_output = my_network(my_input)
    loss = torch.sum((my_network_output - my_desired_output) ** 2)
    print(f"round {iteration + 1:2d}  loss {loss.item():.4f}")
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    my_sgd.zero_grad()  # RESET!

# %% [markdown]
# ## Your network learned something
#
# `final_output` is [1.0000, 2.0000, 3.0000, 4.0000, 5.0000]: the network has learned to map
# [1, 2, 3] to [1, 2, 3, 4, 5]. `largest_error` is how far the worst of the five is from its
# target: well under 0.01.

# %%
final_output = my_network(my_input)
largest_error = torch.max(torch.abs(final_output - my_desired_output))
print(final_output, largest_error)

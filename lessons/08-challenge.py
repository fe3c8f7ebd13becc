# %% [markdown]
# # Challenge
#
# Teach a network to map every integer vector [a, b, c] to [a, b, c, c+1, c+2] from generated examples.
#
# What you will see: the challenge from the end of the seed notes, then a worked solution to step
# through. 200 generated examples train a 3 → 3 → 5 network in 100 rounds of backprop, optimize,
# reset; on 1,131 integer vectors it never saw, its mean absolute error is about 0.007 (the goal is
# under 0.05), and even [7, -3, 10], beyond every example, comes out as [7, -3, 10, 11, 12].

# %% [markdown]
# ## The challenge
#
# Lesson 05's network maps *one* vector in three dimensions to *one* place in five. Can you do that
# more generally? Generate a training set in Python and train a network to perform:
#
# > Given a vector [a, b, c], return [a, b, c, c+1, c+2], for every integer [a, b, c].
#
# Try it yourself first. The rest of this file is one way to do it.

# %% [markdown]
# ## Generate the examples
#
# `make_targets` computes the answer we want for a batch of vectors, one vector per row. We take
# every integer vector with entries from -5 to 5 (11 · 11 · 11 = 1,331 of them), shuffle them, and
# keep 200 to train on. The other 1,131 are **held out**: the network never sees them while it
# learns, so they tell us whether it learned the rule or only memorised its examples.

# %%
import torch
import torch.nn as nn
from torch.optim import SGD

torch.manual_seed(0)


def make_targets(vectors):
    a, b, c = vectors.unbind(dim=1)
    return torch.stack([a, b, c, c + 1, c + 2], dim=1)


values = torch.arange(-5.0, 6.0)
all_vectors = torch.cartesian_prod(values, values, values)
shuffled = all_vectors[torch.randperm(len(all_vectors))]
train_inputs, held_out_inputs = shuffled[:200], shuffled[200:]
train_targets = make_targets(train_inputs)
held_out_targets = make_targets(held_out_inputs)

# %% [markdown]
# ## A network wide enough
#
# Lesson 05's `MyNetwork` squeezes everything through 2 numbers (3 → 2 → 5). That was fine for one
# example, but here the output needs three independent numbers, a, b and c, and two numbers cannot
# carry three: trained the same way, the 3 → 2 → 5 network stalls with an error around 0.7. So the
# middle layer gets 3 neurons: 3 → 3 → 5.

# %%
class MyNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.m1 = nn.Linear(3, 3)
        self.m2 = nn.Linear(3, 5)

    def forward(self, x):
        x = self.m1(x)
        x = self.m2(x)
        return x


my_network = MyNetwork()
my_sgd = SGD(my_network.parameters(), lr=2e-2)

# %% [markdown]
# ## Train on all 200 examples at once
#
# A tensor of shape (200, 3) goes through the network in one call: `nn.Linear` treats each row as
# one example, so the output has shape (200, 5). That batch is much faster than 200 separate calls.
#
# The loss is lesson 05's sum of squares for each example, averaged over the batch (`.mean()`), so
# the size of a step does not depend on how many examples we use. Then the three steps, in order:
# backprop, optimize, reset. The loss falls from 60.8 in round 1 to 0.0026 in round 81, and on.

# %%
for iteration in range(100):
    predictions = my_network(train_inputs)
    loss = torch.sum((predictions - train_targets) ** 2, dim=1).mean()
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    my_sgd.zero_grad()  # RESET!
    if iteration % 20 == 0:
        print(f"round {iteration + 1:3d}  loss {loss.item():.4f}")

# %% [markdown]
# ## Check on vectors it never saw
#
# The **mean absolute error** is the average distance between what the network says and the right
# answer, over every number of all 1,131 held-out vectors: about 0.007, well under 0.05. It learned
# the rule, not the examples: even [7, -3, 10], bigger than anything it trained on, comes out as
# [7.0, -3.0, 10.01, 11.0, 11.99]. `torch.no_grad()` because checking is not training: no graph
# needed.

# %%
with torch.no_grad():
    held_out_predictions = my_network(held_out_inputs)
    mean_absolute_error = torch.mean(torch.abs(held_out_predictions - held_out_targets))
    example = my_network(torch.tensor([7.0, -3.0, 10.0]))
print(f"mean absolute error on held-out vectors: {mean_absolute_error.item():.4f}")
print(f"[7, -3, 10] -> {[round(value, 2) for value in example.tolist()]}")

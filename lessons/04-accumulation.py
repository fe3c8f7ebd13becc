# %% [markdown]
# # Accumulation
#
# Backprop twice without a reset and watch .grad: why zero_grad matters.
#
# What you will see: `x.grad` after one backprop, then after a second one with no reset in between
# (predict it first, in predict mode: `a`); the tensors pane warns when `.grad` summed two backward
# passes. `zero_grad()` clears it before the next backprop. Then the training loop of
# lesson 03 without its reset: its gradients pile up and the product overshoots 15 (17.85 after six
# iterations), while the same loop with the reset creeps up to 13.96 and keeps going.

# %% [markdown]
# ## A sum of two vectors
#
# `z` is `x + y` and `z_sum` adds up its three elements:
# z_sum = x₀ + y₀ + x₁ + y₁ + x₂ + y₂ = 21. So the derivative of `z_sum` with respect to each element
# of `x` is 1. We also give `x` and `y` to an optimizer, only to use its reset.

# %%
import torch
from torch.optim import SGD

x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = torch.tensor([4.0, 5.0, 6.0], requires_grad=True)
my_sgd = SGD([x, y], lr=0.1)
z = x + y
z_sum = torch.sum(z)

# %% [markdown]
# ## Backprop once
#
# The first backprop leaves `x.grad` at [1, 1, 1], as expected. (`retain_graph=True` keeps the
# graph so that we can run backward through it again.)

# %%
z_sum.backward(retain_graph=True)  # BACKPROP!
print(x.grad)

# %% [markdown]
# ## Backprop again, no reset
#
# Nothing cleared `x.grad` in between. What will it be after a second `backward()`?

# %% [predict] x.grad
z_sum.backward()  # BACKPROP again, without a reset

# %% [markdown]
# ## It accumulates
#
# The second backprop does not *replace* `.grad`, it *adds* to it: [2, 2, 2]. **The gradient in
# .grad accumulates each time we call .backward()**. Step back into the second `backward()` and look
# at the `AccumulateGrad` node: the grad before is [1, 1, 1], after [2, 2, 2].

# %%
print(x.grad)

# %% [markdown]
# ## Reset!
#
# `zero_grad()` clears the gradient of every tensor the optimizer manages (it sets `.grad` back to
# `None`), so a fresh backprop on a fresh sum gives [1, 1, 1] again.

# %%
my_sgd.zero_grad()  # RESET!
print(x.grad)
z_sum = torch.sum(x + y)
z_sum.backward()  # BACKPROP!
print(x.grad)

# %% [markdown]
# ## Why it matters: lesson 03 without the reset
#
# Accumulating is handy for some models, but in an ordinary training loop a forgotten reset means
# each optimize uses the sum of *every* gradient so far: the tensors get updated twice, then
# thrice, and overshoot.
#
# Here is lesson 03's loop, six times, with `my_sgd.zero_grad()` left out. Watch `var_1.grad` grow
# from -24 to -63 and shrink again while the product races past 15: after six iterations it is
# **17.85**, farther from 15 than where it started.

# %%
var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
my_sgd = SGD([var_1, var_2], lr=3e-3)
for _ in range(6):
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    # (no RESET!)
product_without_reset = var_1 * var_2
print(product_without_reset)

# %% [markdown]
# ## The same loop with the reset
#
# Backprop, optimize, reset, in that order: after the same six iterations the product is **13.96**,
# still short of 15 but getting closer every time, as lesson 03 showed.

# %%
var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
my_sgd = SGD([var_1, var_2], lr=3e-3)
for _ in range(6):
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    my_sgd.zero_grad()  # RESET!
product_with_reset = var_1 * var_2
print(product_with_reset)

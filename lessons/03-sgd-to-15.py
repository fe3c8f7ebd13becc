# %% [markdown]
# # SGD to 15
#
# Take var_1 · var_2 from 12 to 15 with SGD: backprop, optimize, reset, then do it a lot of times.
#
# What you will see: the loss starts at 9. One backprop / optimize / reset nudges `var_1` and
# `var_2` from (3, 4) towards a product of 15, and 100 more get there. Step into `loss.backward()`
# to see `PowBackward0`, `RsubBackward1`, `MulBackward0` and two `AccumulateGrad` nodes fill in
# `.grad`. In predict mode (`a`) you type each number you expect before it shows.

# %% [markdown]
# ## Two tensors, a latent value and an optimizer
#
# `my_latent_value` is `var_1 * var_2`, 12 for now. `SGD` (stochastic gradient descent) gets the list
# of every tensor it may change, and a **learning rate**: the size of its steps. A frog that hops a
# yard at a time reaches a far target quickly but struggles to land on it; one that hops an inch
# lands precisely, eventually. `3e-3` (0.003) is a good place to start.

# %%
import torch
from torch.optim import SGD

var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)
my_latent_value = var_1 * var_2
my_sgd = SGD([var_1, var_2], lr=3e-3)

# %% [markdown]
# ## A loss to take to 0
#
# SGD can only take a latent value to **0**. To get `my_latent_value` to 15 we build another latent
# value that is 0 exactly when `my_latent_value` is 15: the squared difference. A difference of -4
# is as bad as +4, and squaring counts both.
#
# `(15 - 12) ** 2` is **9**. (The seed notes call this 3: 3 is the difference, 9 is the loss.) This
# is our **loss**, and squaring the difference is our **loss function**.

# %%
loss = (15 - my_latent_value) ** 2
print(loss)

# %% [markdown]
# ## Backprop!
#
# Three steps, in this order, every time. **Commit this to memory**: backprop, optimize, reset.
#
# Backprop takes the partial derivative of the loss with respect to every tensor that
# `requires_grad`. Step into this line to watch it node by node: `PowBackward0` (the square),
# `RsubBackward1` (15 minus), `MulBackward0` (the product), then `AccumulateGrad` for each variable.
# Before you step: what will `var_1.grad` and `var_2.grad` be? Work it out from
# loss = (15 - var_1 · var_2)², at var_1 = 3 and var_2 = 4.

# %% [predict] var_1.grad var_2.grad
loss.backward()  # BACKPROP!

# %% [markdown]
# ## Optimize!
#
# `var_1.grad` is -24 and `var_2.grad` -18: negative, as making either bigger makes the loss smaller.
# SGD moves each tensor against its gradient, new = old - lr · grad: what will `var_1` and `var_2` be?

# %% [predict] var_1 var_2
my_sgd.step()  # OPTIMIZE!

# %% [markdown]
# ## Reset!
#
# `var_1` became 3 - 0.003 · (-24) = **3.0720** and `var_2` 4 - 0.003 · (-18) = **4.0540**. Now
# `zero_grad()` clears the gradients so the next backprop starts from nothing. People stop before it
# ("ooo look my tensors updated!!!"), and the next backprop adds onto the old gradients (lesson 04).

# %%
my_sgd.zero_grad()  # RESET!
print(var_1, var_2)

# %% [markdown]
# ## Now do that a lot of times
#
# 3.0720 · 4.0540 is only 12.45: the steps are tiny. So we repeat the whole cycle — a new latent
# value, a new loss, then backprop, optimize, reset — 100 more times.
#
# It ends at `var_1` = **3.4505** and `var_2` = **4.3472**, and their product is 15.000. A weird
# solution, but we got there: that chain of tensors *is* a network, and we just trained it.

# %%
for _ in range(100):
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    loss.backward()  # BACKPROP!
    my_sgd.step()  # OPTIMIZE!
    my_sgd.zero_grad()  # RESET!

print(var_1, var_2, var_1 * var_2)

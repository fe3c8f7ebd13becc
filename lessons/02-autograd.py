# %% [markdown]
# # Autograd
#
# Multiply two tensors, call backward(), and read the gradients that autograd works out.
#
# What you will see: `var_1` and `var_2` start at 3 and 4; their product, `my_latent_value`, is 12
# with a `grad_fn` of `MulBackward0`. Stepping into `diff.backward()` shows the gradient flowing
# back node by node into `var_1.grad` and `var_2.grad`, while the values themselves stay 3 and 4.
# In predict mode (`a`) you type each gradient you expect before it shows.

# %% [markdown]
# ## Two tensors that can change
#
# `requires_grad=True` tells PyTorch to keep track of how anything computed from these tensors
# depends on them: for now, read it as "PyTorch may change this variable if needed". The values are
# floats (`3.0`, not `3`): gradients need a smooth surface to slide along.

# %%
import torch

var_1 = torch.tensor(3.0, requires_grad=True)
var_2 = torch.tensor(4.0, requires_grad=True)

# %% [markdown]
# ## A latent value
#
# A **latent** value is the *result* of operations on other tensors. Multiplying our two tensors
# makes one: 3 · 4 = 12.
#
# It also remembers how it was made. Its `grad_fn` is `MulBackward0`: the node that knows how to
# send a gradient back through a multiplication. It saved both inputs, because the derivative of
# `var_1 * var_2` with respect to `var_1` is `var_2`, and the other way round. Its
# `next_functions` point at two `AccumulateGrad` nodes, one per leaf, which is where gradients end
# up.

# %%
my_latent_value = var_1 * var_2
print(my_latent_value)
mul_node = my_latent_value.grad_fn
print(mul_node.name(), [node.name() for node, _ in mul_node.next_functions])

# %% [markdown]
# ## How far from where we want to be?
#
# Say we want `my_latent_value` to be 7. It is 12, so it is 5 away from 7: `diff` is 5. (The seed
# notes subtract 3 here while talking about 7; 12 - 7 is the 5 we mean.)

# %%
diff = my_latent_value - 7
print(diff)

# %% [markdown]
# ## Backprop
#
# `diff.backward()` runs the graph backwards, from `diff` to the leaves: `SubBackward0` passes a
# gradient of 1 on (subtracting 7 does not change the slope), `MulBackward0` multiplies it by the
# saved inputs, and the two `AccumulateGrad` nodes store the results in `.grad`.
#
# Before you step: `diff` is `var_1 * var_2 - 7`. What will `var_1.grad` and `var_2.grad` be?

# %% [predict] var_1.grad var_2.grad
diff.backward()

# %% [markdown]
# ## The gradients
#
# Nothing changed yet: `var_1` and `var_2` are still 3 and 4. What changed is their `.grad`:
# `var_1.grad` is 4 (the value of `var_2`) and `var_2.grad` is 3 (the value of `var_1`). That is
# how much `diff` grows per unit each variable grows, which is exactly what an optimizer needs in
# the next lesson.

# %%
print(var_1, var_2)
print(var_1.grad, var_2.grad)

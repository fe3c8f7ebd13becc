# %% [markdown]
# # A custom autograd Function
#
# A function that jumps at t = 3, and a torch.autograd.Function that gives it a backward of our own.
#
# What you will see: the gradient of `i_hate_threes` at t = 2 and at t = 3, first through plain
# Python, then through `IHateThrees`, a `torch.autograd.Function` with its own `backward()`. Predict
# each one before it shows (predict mode: `a`). Step into `backward()` to watch our own code run
# inside autograd.

# %% [markdown]
# ## The chain rule, one step at a time
#
# Autograd keeps the history of every tensor: which operations made it, from which tensors. Knowing
# the derivative of each basic operation, it chains them together. `x = t * 2` has a `grad_fn` of
# `MulBackward0`, and `x.backward()` gives `t.grad` = 2, the derivative of 2t.

# %%
import torch

t = torch.tensor(2.0, requires_grad=True)
x = t * 2
x.backward()
print(t.grad)

# %% [markdown]
# ## A function that hates threes
#
# `i_hate_threes` returns its input unchanged, except that 3 becomes 0: a jump, so at 3 it has no
# derivative.
#
# We try it at t = 2 and at t = 3: read the code, then predict each gradient.

# %%
def i_hate_threes(tensor):
    if tensor == 3.0:
        return torch.tensor(0.0, requires_grad=True)
    return tensor


t_2 = torch.tensor(2.0, requires_grad=True)
x_2 = i_hate_threes(t_2)

# %% [markdown]
# ## At t = 2
#
# `x_2` is what `i_hate_threes(t_2)` returned. What will `t_2.grad` be after `x_2.backward()`?

# %% [predict] t_2.grad
x_2.backward()
print(t_2.grad)
t_3 = torch.tensor(3.0, requires_grad=True)
x_3 = i_hate_threes(t_3)

# %% [markdown]
# ## At t = 3
#
# At t = 2 it returned `t_2` itself, so `t_2.grad` is 1, as for any identity. At t = 3 it returns
# `torch.tensor(0.0, requires_grad=True)`. What will `t_3.grad` be after `x_3.backward()`?

# %% [predict] t_3.grad
x_3.backward()
print(t_3.grad)

# %% [markdown]
# ## Our own derivative
#
# `t_3.grad` stayed `None`: at 3, `i_hate_threes` returned a brand-new tensor with no history, so
# nothing connects it to `t_3` and backprop never reaches `t_3`. An `if` on a value is invisible to
# autograd; only the operations on tensors are recorded.
#
# We can define a derivative ourselves. A `torch.autograd.Function` has a `forward()` that computes
# the value and saves what backward will need (`ctx.save_for_backward`), and a `backward()` that
# receives the gradient arriving from above (`grad_output`) and returns the gradient to send on to
# the input. (The seed notes call it `i_hate_threes_v2`.)
#
# Ours says: the gradient is passed on unchanged, except at 3, where it is 0. The output of
# `IHateThrees.apply(...)` has a `grad_fn` of `IHateThreesBackward`: our `backward()`, inside the
# graph.

# %%
class IHateThrees(torch.autograd.Function):
    @staticmethod
    def forward(ctx, tensor):
        ctx.save_for_backward(tensor)
        if tensor == 3.0:
            return torch.zeros_like(tensor)
        return tensor.clone()

    @staticmethod
    def backward(ctx, grad_output):
        (tensor,) = ctx.saved_tensors
        if tensor == 3.0:
            return torch.zeros_like(grad_output)
        return grad_output


# %% [markdown]
# ## Try it again
#
# The same two inputs through `IHateThrees`. Step into each `backward()` to watch our code receive
# `grad_output` = 1 and decide.

# %%
t_2_custom = torch.tensor(2.0, requires_grad=True)
x_2_custom = IHateThrees.apply(t_2_custom)

# %% [markdown]
# ## At t = 2, with our backward
#
# Our `backward()` passes the gradient on unchanged away from 3. What will `t_2_custom.grad` be?

# %% [predict] t_2_custom.grad
x_2_custom.backward()
print(t_2_custom.grad)
t_3_custom = torch.tensor(3.0, requires_grad=True)
x_3_custom = IHateThrees.apply(t_3_custom)

# %% [markdown]
# ## At t = 3, with our backward
#
# `t_2_custom.grad` is 1, as before. At t = 3 the output is 0, but this time it came out of our
# Function. What will `t_3_custom.grad` be after `x_3_custom.backward()`: a number, or `None`?

# %% [predict] t_3_custom.grad
x_3_custom.backward()

# %% [markdown]
# ## Zero, not None
#
# This time the graph is not cut: backprop runs our `backward()`, which sends on 0, so
# `t_3_custom.grad` is **0** rather than `None`.

# %%
print(t_3_custom.grad)

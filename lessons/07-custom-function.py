# %% [markdown]
# # A custom autograd Function
#
# i_hate_threes cuts the gradient at t = 3; a torch.autograd.Function with its own backward fixes it.
#
# What you will see: through the plain `i_hate_threes`, the gradient of `t_2` = 2 is 1, but `t_3` =
# 3 gets no gradient at all (`None`): the graph is cut. Through `IHateThrees`, a
# `torch.autograd.Function` with its own `backward()`, the gradient is 1 at t = 2 and exactly 0 at
# t = 3, because we said so. Step into `backward()` to watch our own code run inside autograd.

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
# At t = 2 it returns `t_2` itself, so `x_2.backward()` gives `t_2.grad` = 1, as for any identity.
# At t = 3 it returns a brand-new tensor that has no history: nothing connects it to `t_3`, so
# backprop never reaches `t_3` and `t_3.grad` stays `None`. An `if` on a value is invisible to
# autograd; only the operations on tensors are recorded.

# %%
def i_hate_threes(tensor):
    if tensor == 3.0:
        return torch.tensor(0.0, requires_grad=True)
    return tensor


t_2 = torch.tensor(2.0, requires_grad=True)
x_2 = i_hate_threes(t_2)
x_2.backward()
print(t_2.grad)

t_3 = torch.tensor(3.0, requires_grad=True)
x_3 = i_hate_threes(t_3)
x_3.backward()
print(t_3.grad)

# %% [markdown]
# ## Our own derivative
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
# At t = 2, `t_2_custom.grad` is 1, as before. At t = 3 the output is 0 and, this time, the graph is
# not cut: backprop runs our `backward()`, which sends on 0, so `t_3_custom.grad` is **0** rather
# than `None`.
# Step into each `backward()` to watch our code receive `grad_output` = 1 and decide.

# %%
t_2_custom = torch.tensor(2.0, requires_grad=True)
x_2_custom = IHateThrees.apply(t_2_custom)
x_2_custom.backward()
print(t_2_custom.grad)

t_3_custom = torch.tensor(3.0, requires_grad=True)
x_3_custom = IHateThrees.apply(t_3_custom)
x_3_custom.backward()
print(t_3_custom.grad)

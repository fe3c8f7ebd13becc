# %% [markdown]
# # Tensors
#
# Scalars, vectors and matrices in PyTorch: adding them, broadcasting, `@` versus `*`, view and reshape.
#
# What you will see: every tensor this lesson makes appears in the tensors pane with its shape and
# dtype. Watch `grid + row` turn a 3-vector into a 5×3 result, `column + row` quietly become a 3×3
# matrix, and `a @ b` and `a * b` give two different answers from the same two matrices.

# %% [markdown]
# ## Your first tensors
#
# A **tensor** holds a single number (a **scalar**), a list of numbers (a **vector**) or a grid of
# numbers (a **matrix**). Everything you give PyTorch has to be in a tensor.
#
# Look at the dtype of each: `2.2` makes a `float32` tensor, whole numbers make an `int64` one.

# %%
import torch

torch.manual_seed(0)  # the one random tensor below is the same on every run

scalar_tensor = torch.tensor(2.2)
vector_tensor = torch.tensor([1, 3, 4])
matrix_tensor = torch.tensor([[3, 1, 4], [1, 7, 4]])
print(scalar_tensor.shape, vector_tensor.shape, matrix_tensor.shape)

# %% [markdown]
# ## Adding tensors
#
# Tensors add like numbers, and matrices of the same shape add element by element, as NumPy arrays
# do: `2.2 + 5.1` is `7.3`, and the two matrices add to `[[3, 3, 5], [4, 10, 8]]`.

# %%
scalar_sum = torch.tensor(2.2) + torch.tensor(5.1)
matrix_sum = matrix_tensor + torch.tensor([[0, 2, 1], [3, 3, 4]])
print(scalar_sum, matrix_sum, sep="\n")

# %% [markdown]
# ## Broadcasting
#
# Tensors of different shapes can still be added when the smaller one can be "broadcast" across the
# bigger one. `row` has shape `(3,)` and `grid` has shape `(5, 3)`: PyTorch adds `row` to each of
# the five rows of `grid`.
#
# Broadcasting is fast, and it is also a classic source of silent bugs: a column of shape `(3, 1)`
# plus a row of shape `(3,)` is not three sums but a 3×3 matrix of every pair. No error, just a
# wrong shape. Keep an eye on the shape column.

# %%
row = torch.tensor([1, 2, 3])
grid = torch.randint(0, 10, (5, 3))
grid_plus_row = grid + row

column = torch.tensor([[1.0], [2.0], [3.0]])
column_plus_row = column + torch.tensor([10.0, 20.0, 30.0])
print(grid_plus_row.shape, column_plus_row.shape)

# %% [markdown]
# ## `@` versus `*`
#
# `*` multiplies element by element; `@` is matrix multiplication. With two 2×2 matrices both run
# without complaint, and only one of them is the product you meant:
#
# - `a @ b` is `[[19, 22], [43, 50]]` (row times column),
# - `a * b` is `[[5, 12], [21, 32]]` (each element times its partner).

# %%
a = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
b = torch.tensor([[5.0, 6.0], [7.0, 8.0]])
matrix_product = a @ b
elementwise_product = a * b
print(matrix_product, elementwise_product, sep="\n")

# %% [markdown]
# ## view and reshape
#
# `.view` gives the same numbers a new shape without copying them; `-1` means "work this size out
# for me". `eight.view(2, 4)` is two rows of four, `.view(4, -1)` four rows of two, `.view(-1)`
# flattens again.
#
# `.view` needs the numbers to lie in memory in the order of the new shape. A transpose (`.t()`)
# only swaps how the numbers are read, so its flattened view would not be contiguous: `.reshape`
# copies when it has to and gives `[0, 4, 1, 5, 2, 6, 3, 7]`.

# %%
eight = torch.arange(8)
two_by_four = eight.view(2, 4)
four_by_two = eight.view(4, -1)
flat = two_by_four.view(-1)
transposed_flat = two_by_four.t().reshape(-1)
print(two_by_four, four_by_two, transposed_flat, sep="\n")

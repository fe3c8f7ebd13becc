# What a run installs in the script's process: a trace function, dispatch or function modes.
import sys

import torch

weight = torch.tensor(2.0, requires_grad=True)
loss = (weight * 3.0) ** 2
loss.backward()
print("trace function:", "none" if sys.gettrace() is None else "set")
print("dispatch modes:", torch._C._len_torch_dispatch_stack())
print("function modes:", torch._C._len_torch_function_stack())

# Two operations make a non-finite number: the log of a zero (an Inf), then the square root of -1 (a NaN).
import torch

counts = torch.tensor([2.0, 0.0])
log_counts = torch.log(counts)
negative = torch.tensor(-1.0)
root = torch.sqrt(negative)
# How many TorchDispatchModes are on this thread's stack now (gradstep's `nan` mode is one while armed).
print("dispatch modes active:", torch._C._len_torch_dispatch_stack())

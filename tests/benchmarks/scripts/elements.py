# The engine's cost per step against the number of elements (bench_engine.py --elements).
# python elements.py N ITERATIONS changed|unchanged TIMES_FILE
#   changed:   a leaf `w` of N elements, updated by SGD every iteration (its value and its grad change)
#   unchanged: the same loop on a 10-element `w`, beside a named tensor `data` of N elements that never changes
#   none:      no tensor at all, a loop of two lines on a float (N is not used): the cost of a step as such
# Writes the loop's wall seconds to TIMES_FILE (under `gradstep record` too: the script's own clock).
import sys
import time

import torch

n, iterations, variant, times_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
torch.manual_seed(0)
if variant == "changed":
    w = torch.randn(n, requires_grad=True)
elif variant == "unchanged":
    data = torch.randn(n)
    w = torch.randn(10, requires_grad=True)
else:
    x = 1.0

start = time.perf_counter()
if variant == "none":
    for i in range(iterations):
        loss = x * x
        x = x - 0.01 * loss
else:
    for i in range(iterations):
        loss = (w * w).sum()
        loss.backward()
        with torch.no_grad():
            w -= 0.01 * w.grad
        w.grad = None
elapsed = time.perf_counter() - start

with open(times_file, "w") as out:
    out.write(f"{elapsed}\n")

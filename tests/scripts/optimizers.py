# Small parameters stepped by each optimizer gradstep writes out term by term (two iterations each).
import torch

pairs = []
for make in (
    lambda params: torch.optim.SGD(params, lr=0.01),
    lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9, dampening=0.1, weight_decay=0.1),
    lambda params: torch.optim.SGD(params, lr=0.01, momentum=0.9, weight_decay=0.05, nesterov=True),
    lambda params: torch.optim.Adam(params, lr=0.1),
    lambda params: torch.optim.Adam(params, lr=0.1, weight_decay=0.1, amsgrad=True),
    lambda params: torch.optim.AdamW(params, lr=0.1, weight_decay=0.1),
    lambda params: torch.optim.RMSprop(params, lr=0.01),
):
    scalar = torch.tensor(0.3, requires_grad=True)
    vector = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
    optimizer = make([scalar, vector])
    for _ in range(2):
        loss = ((vector * vector).sum() + scalar * 3) ** 2
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()

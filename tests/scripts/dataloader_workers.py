# Training from a DataLoader whose workers are forked processes.
import torch
from torch.utils.data import DataLoader, Dataset


class Squares(Dataset):
    def __len__(self):
        return 2000

    def __getitem__(self, index):
        x = torch.tensor([float(index)])
        return x, x * x


loader = DataLoader(Squares(), batch_size=250, num_workers=2)
weight = torch.tensor([1.0], requires_grad=True)
for inputs, targets in loader:
    loss = ((inputs * weight - targets) ** 2).mean()
    loss.backward()
print(weight.grad)

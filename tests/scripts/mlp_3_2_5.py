# The seed course's 3 -> 2 -> 5 network, trained with SGD on a sum of squares.
import torch
import torch.nn as nn
from torch.optim import SGD

torch.manual_seed(0)


class MyNetwork(nn.Module):
    def __init__(self):
        super().__init__()
        self.m1 = nn.Linear(3, 2)
        self.m2 = nn.Linear(2, 5)

    def forward(self, x):
        x = self.m1(x)
        x = self.m2(x)
        return x


my_network = MyNetwork()
my_input = torch.tensor([1.0, 2.0, 3.0])
my_desired_output = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0])
my_sgd = SGD(my_network.parameters(), lr=1e-2)

for _ in range(20):
    my_network_output = my_network(my_input)
    loss = torch.sum((my_network_output - my_desired_output) ** 2)
    loss.backward()
    my_sgd.step()
    my_sgd.zero_grad()
print(loss.item())

# A 4-layer TransformerEncoder (d_model 128) regressing a fixed random target, with Adam.
import torch
from torch import nn

torch.manual_seed(0)
layer = nn.TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=256, dropout=0.0, batch_first=True)
encoder = nn.TransformerEncoder(layer, num_layers=4, enable_nested_tensor=False)
tokens = torch.randn(8, 16, 128)
target = torch.randn(8, 16, 128)
optimizer = torch.optim.Adam(encoder.parameters(), lr=1e-3)

for step in range(8):
    optimizer.zero_grad()
    loss = ((encoder(tokens) - target) ** 2).mean()
    loss.backward()
    optimizer.step()

print(f"loss {loss.item():.6f}")

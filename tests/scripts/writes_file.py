# Writes a file next to itself when it runs; replaying its recording must not.
import pathlib

import torch

value = torch.tensor(2.0, requires_grad=True)
pathlib.Path(__file__).with_name("written-by-script.txt").write_text("I ran\n")

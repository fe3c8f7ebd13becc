"""gradstep: step through PyTorch's autograd one keystroke at a time."""

__version__ = "0.1.0"

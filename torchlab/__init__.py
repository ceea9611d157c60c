"""torchlab: a working, accelerated PyTorch course lab on the machine you own."""

__version__ = "0.1.0"

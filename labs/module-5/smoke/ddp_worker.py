"""One rank of the module-5 DDP smoke check. A file of its own: spawned workers import it by name
(on Linux the fork server imports it once and forks both ranks from there).

Each rank feeds a different input x_r to the same bias-free Linear(3, 1); the gradient of
sum(w . x_r) is x_r, so after DDP's all-reduce every rank must hold the mean of the x_r.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel


def rank_input(rank: int) -> torch.Tensor:
    return torch.tensor([[1.0, 2.0, 3.0]]) * (rank + 1)


def expected_gradient(world_size: int) -> torch.Tensor:
    return sum(rank_input(rank) for rank in range(world_size)) / world_size


def average_gradients(rank: int, world_size: int, port: int, out_dir: str) -> None:
    """Entry point for torch.multiprocessing.start_processes (which passes the rank first)."""
    # One thread per rank: the two ranks share the machine's cores, and a forked rank must not
    # reuse its parent's OpenMP pool (DataLoader's workers do the same).
    torch.set_num_threads(1)
    dist.init_process_group(
        backend="gloo",
        init_method=f"tcp://127.0.0.1:{port}",
        rank=rank,
        world_size=world_size,
        timeout=timedelta(seconds=30),
    )
    try:
        model = DistributedDataParallel(nn.Linear(3, 1, bias=False))
        model(rank_input(rank)).sum().backward()
        torch.save(model.module.weight.grad.clone(), Path(out_dir) / f"grad-rank{rank}.pt")
        del model  # before the group goes: tearing DDP down after it hung a rank about one run in five
    finally:
        dist.destroy_process_group()

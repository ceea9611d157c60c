"""Train a tiny model with DistributedDataParallel on the gloo backend, one process per rank.

    python ddp_demo.py --processes 2

Each rank trains on its own slice of the data; DDP averages the gradients, so the weights stay equal.
"""

import argparse
import socket
import sys
from datetime import timedelta

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, TensorDataset
from torch.utils.data.distributed import DistributedSampler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def report(line: str) -> None:
    sys.stdout.write(line + "\n")  # one write per line, so that the ranks' lines do not interleave
    sys.stdout.flush()


def train(rank: int, world_size: int, port: int) -> None:
    dist.init_process_group(
        "gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world_size, timeout=timedelta(seconds=60)
    )
    torch.manual_seed(0)  # same data on every rank; the sampler hands each rank a different part
    features = torch.randn(256, 4)
    targets = features @ torch.tensor([[2.0], [-1.0], [0.5], [1.0]])
    sampler = DistributedSampler(
        TensorDataset(features, targets), num_replicas=world_size, rank=rank, shuffle=True, seed=0
    )
    loader = DataLoader(TensorDataset(features, targets), batch_size=32, sampler=sampler)

    torch.manual_seed(rank)  # different initial weights on purpose: DDP copies rank 0's at the start
    model = DistributedDataParallel(nn.Linear(4, 1))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    for epoch in range(3):
        sampler.set_epoch(epoch)
        for x, y in loader:
            loss = nn.functional.mse_loss(model(x), y)
            optimizer.zero_grad()
            loss.backward()  # the all-reduce of the gradients happens here
            optimizer.step()
        report(f"rank {rank} epoch {epoch}: last loss {loss.item():.4f}")

    weights = model.module.weight.detach().clone()
    gathered = [torch.zeros_like(weights) for _ in range(world_size)]
    dist.all_gather(gathered, weights)
    if rank == 0:
        same = all(torch.equal(gathered[0], other) for other in gathered[1:])
        report(
            f"weights identical on all {world_size} ranks: {same}; weights {[round(w, 4) for w in weights.flatten().tolist()]}"
        )
    del model, optimizer  # DDP must go before its process group: torn down after it, a rank can hang
    dist.destroy_process_group()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, default=2)
    args = parser.parse_args()
    mp.spawn(train, args=(args.processes, free_port()), nprocs=args.processes, join=True)


if __name__ == "__main__":
    main()

"""Module 3 exercises: the training loop and its parts.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset


class Countdown(Dataset):
    """Item i is the pair (tensor([float(n - i)]), n - i) for a dataset of n items: n, n-1, ..., 1."""

    def __init__(self, n: int) -> None:
        self.n = n

    def __len__(self) -> int:
        raise NotImplementedError("TODO")

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        raise NotImplementedError("TODO")


def train_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, steps: int, lr: float) -> list[float]:
    """Train `model` with AdamW(lr) on mean squared error for `steps` steps; return each step's loss."""
    raise NotImplementedError("TODO: forward, loss, zero_grad, backward, step")


def warmup_then_constant(optimizer: torch.optim.Optimizer, warmup_steps: int) -> torch.optim.lr_scheduler.LRScheduler:
    """A scheduler whose rate grows linearly from lr/warmup_steps to lr over warmup_steps steps, then stays at lr."""
    raise NotImplementedError("TODO: torch.optim.lr_scheduler.LambdaLR")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_countdown() -> None:
    data = Countdown(5)
    assert len(data) == 5, f"len {len(data)}, expected 5"
    value, label = data[0]
    assert value.tolist() == [5.0] and label == 5, f"item 0 is {value.tolist()}, {label}; expected [5.0], 5"
    batch_values, batch_labels = next(iter(DataLoader(data, batch_size=5)))
    assert batch_labels.tolist() == [5, 4, 3, 2, 1], f"labels {batch_labels.tolist()}"


def check_train_steps() -> None:
    torch.manual_seed(0)
    x = torch.randn(64, 3)
    y = x @ torch.tensor([[1.0], [-2.0], [0.5]])
    losses = train_steps(nn.Linear(3, 1), x, y, steps=100, lr=0.05)
    assert len(losses) == 100, f"{len(losses)} losses, expected one per step"
    assert losses[-1] < 0.01 * losses[0], f"loss only went from {losses[0]:.3f} to {losses[-1]:.3f}"


def check_warmup_then_constant() -> None:
    optimizer = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=1.0)
    scheduler = warmup_then_constant(optimizer, warmup_steps=4)
    seen = []
    for _ in range(6):
        seen.append(round(optimizer.param_groups[0]["lr"], 6))
        optimizer.step()
        scheduler.step()
    assert seen == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0], f"rates {seen}, expected [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]"


CHECKS = (check_countdown, check_train_steps, check_warmup_then_constant)


def run_checks() -> None:
    for check in CHECKS:
        name = check.__name__.removeprefix("check_")
        try:
            check()
        except NotImplementedError as todo:
            print(f"todo   {name}: {todo}")
        except AssertionError as wrong:
            print(f"wrong  {name}: {wrong}")
        else:
            print(f"done   {name}")


if __name__ == "__main__":
    run_checks()

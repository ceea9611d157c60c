"""Module 2 exercises: write small modules and losses yourself.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch
from torch import nn
from torch.nn import functional as F


class MyLinear(nn.Module):
    """Like nn.Linear(in_features, out_features): y = x @ weight.T + bias."""

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__()
        # TODO: create self.weight (out_features, in_features) and self.bias (out_features) as nn.Parameter
        raise NotImplementedError("TODO: two nn.Parameter tensors")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("TODO: x @ weight.T + bias")


class MyRMSNorm(nn.Module):
    """x / sqrt(mean(x^2 over the last dimension) + eps) * weight, like nn.RMSNorm."""

    def __init__(self, dim: int, eps: float = 1e-6) -> None:
        super().__init__()
        raise NotImplementedError("TODO: a weight parameter of ones, and keep eps")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError("TODO: the formula above")


def my_cross_entropy(logits: torch.Tensor, targets: torch.Tensor, ignore_index: int = -100) -> torch.Tensor:
    """Mean over the non-ignored positions of -log_softmax(logits)[target]."""
    raise NotImplementedError("TODO: log_softmax, pick the target column, mask out ignore_index")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_my_linear() -> None:
    mine = MyLinear(5, 3)
    names = sorted(name for name, _ in mine.named_parameters())
    assert names == ["bias", "weight"], f"parameters {names}, expected bias and weight"
    reference = nn.Linear(5, 3)
    reference.load_state_dict(mine.state_dict())
    x = torch.randn(4, 5)
    assert torch.allclose(mine(x), reference(x), atol=1e-6), "outputs differ from nn.Linear"


def check_my_rms_norm() -> None:
    mine = MyRMSNorm(8)
    reference = nn.RMSNorm(8, eps=1e-6)
    x = torch.randn(3, 8) * 4
    assert torch.allclose(mine(x), reference(x), atol=1e-5), "outputs differ from nn.RMSNorm"


def check_my_cross_entropy() -> None:
    logits = torch.randn(6, 4)
    targets = torch.tensor([0, 3, -100, 1, 2, -100])
    expected = F.cross_entropy(logits, targets, ignore_index=-100)
    got = my_cross_entropy(logits, targets)
    assert torch.allclose(got, expected, atol=1e-6), f"got {got.item():.5f}, expected {expected.item():.5f}"


CHECKS = (check_my_linear, check_my_rms_norm, check_my_cross_entropy)


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

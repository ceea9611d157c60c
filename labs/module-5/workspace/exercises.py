"""Module 5 exercises: hooks, pruning and export.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch
from torch import nn


def output_shapes(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Run model(x) once and return {child name: shape of its output}, using forward hooks.

    Remove the hooks before returning, so that later calls are not recorded.
    """
    raise NotImplementedError("TODO: register_forward_hook on each named child, run, remove")


def sparsity(module: nn.Module) -> float:
    """The fraction of all parameter values in `module` that are exactly zero."""
    raise NotImplementedError("TODO")


def export_and_run(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Export `model` with torch.export using x as the example input, and run the exported module on x."""
    raise NotImplementedError("TODO: torch.export.export(model, (x,)).module()")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_output_shapes() -> None:
    model = nn.Sequential(nn.Linear(4, 6), nn.ReLU(), nn.Linear(6, 2))
    shapes = output_shapes(model, torch.randn(3, 4))
    assert shapes == {"0": (3, 6), "1": (3, 6), "2": (3, 2)}, f"got {shapes}"
    hooks_left = sum(len(layer._forward_hooks) for layer in model.children())
    assert hooks_left == 0, f"{hooks_left} hooks were left registered"


def check_sparsity() -> None:
    layer = nn.Linear(10, 10)
    with torch.no_grad():
        layer.weight[:5] = 0.0
        layer.bias.zero_()
    assert abs(sparsity(layer) - 60 / 110) < 1e-9, f"got {sparsity(layer)}, expected 60/110"


def check_export_and_run() -> None:
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh()).eval()
    x = torch.randn(2, 4)
    assert torch.allclose(export_and_run(model, x), model(x), atol=1e-6), "exported output differs from eager"


CHECKS = (check_output_shapes, check_sparsity, check_export_and_run)


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

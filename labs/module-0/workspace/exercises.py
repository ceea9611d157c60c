"""Module 0 exercises: find the device, move data there and back, measure a tensor.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch


def pick_device() -> str:
    """Return "cuda", "mps" or "cpu": the best device this PyTorch can use, in that order."""
    raise NotImplementedError("TODO: use torch.cuda.is_available() and torch.backends.mps.is_available()")


def round_trip(x: torch.Tensor, device: str) -> torch.Tensor:
    """Copy x to `device`, square it there, and return the result on the CPU."""
    raise NotImplementedError("TODO: .to(device), the math, then .cpu()")


def tensor_mebibytes(x: torch.Tensor) -> float:
    """How many MiB (2**20 bytes) the elements of x occupy."""
    raise NotImplementedError("TODO: x.element_size() and x.numel()")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_pick_device() -> None:
    device = pick_device()
    assert device in ("cuda", "mps", "cpu"), f"pick_device() returned {device!r}"
    if torch.cuda.is_available():
        assert device == "cuda", "a GPU is available as 'cuda' but pick_device() chose something else"
    torch.ones(1, device=device)  # fails if the device is not usable


def check_round_trip() -> None:
    x = torch.tensor([1.0, -2.0, 3.0])
    result = round_trip(x, pick_device())
    assert result.device.type == "cpu", f"the result is on {result.device}, expected the CPU"
    assert torch.equal(result, x * x), f"round_trip gave {result.tolist()}, expected [1.0, 4.0, 9.0]"


def check_tensor_mebibytes() -> None:
    assert tensor_mebibytes(torch.zeros(1024, 1024)) == 4.0, "1024x1024 float32 values take 4 MiB"
    assert tensor_mebibytes(torch.zeros(1024, 1024, dtype=torch.float16)) == 2.0, "float16 takes 2 bytes a value"


CHECKS = (check_pick_device, check_round_trip, check_tensor_mebibytes)


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

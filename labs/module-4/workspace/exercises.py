"""Module 4 exercises: attention, masks and positions.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import math

import torch
from torch.nn import functional as F


def causal_mask(length: int) -> torch.Tensor:
    """A (length, length) bool tensor: True where query i may attend to key j, i.e. j <= i."""
    raise NotImplementedError("TODO: torch.ones(...).tril()")


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v; where mask is False the score must be -inf before the softmax."""
    raise NotImplementedError("TODO: scores, masked_fill, softmax, @ v")


def split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, length, dim) -> (batch, heads, length, dim // heads)."""
    raise NotImplementedError("TODO: view then transpose")


def sinusoidal_table(positions: int, dim: int) -> torch.Tensor:
    """table[p, 2i] = sin(p / 10000^(2i/dim)), table[p, 2i+1] = cos(p / 10000^(2i/dim))."""
    raise NotImplementedError("TODO")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_causal_mask() -> None:
    mask = causal_mask(3)
    assert mask.dtype == torch.bool, f"dtype {mask.dtype}, expected torch.bool"
    assert mask.tolist() == [[True, False, False], [True, True, False], [True, True, True]], f"got {mask.tolist()}"


def check_attention() -> None:
    q, k, v = torch.randn(3, 2, 5, 8).unbind(0)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    expected = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert torch.allclose(attention(q, k, v, mask), expected, atol=1e-5), "differs from F.scaled_dot_product_attention"
    assert torch.allclose(attention(q, k, v), F.scaled_dot_product_attention(q, k, v), atol=1e-5), (
        "wrong without a mask"
    )


def check_split_heads() -> None:
    x = torch.arange(2 * 3 * 8).reshape(2, 3, 8)
    split = split_heads(x, heads=4)
    assert split.shape == (2, 4, 3, 2), f"shape {tuple(split.shape)}, expected (2, 4, 3, 2)"
    assert split[0, 1, 2].tolist() == [18, 19], (
        f"head 1 of position 2 holds {split[0, 1, 2].tolist()}, expected [18, 19]"
    )


def check_sinusoidal_table() -> None:
    table = sinusoidal_table(10, 6)
    assert table.shape == (10, 6), f"shape {tuple(table.shape)}, expected (10, 6)"
    assert abs(table[3, 2].item() - math.sin(3 / 10000 ** (2 / 6))) < 1e-5, "table[3, 2] is off"
    assert abs(table[3, 3].item() - math.cos(3 / 10000 ** (2 / 6))) < 1e-5, "table[3, 3] is off"


CHECKS = (check_causal_mask, check_attention, check_split_heads, check_sinusoidal_table)


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

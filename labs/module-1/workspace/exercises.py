"""Module 1 exercises: tensors, shapes, broadcasting, einsum and autograd.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import torch


def checkerboard(n: int) -> torch.Tensor:
    """An n x n int64 tensor of 0s and 1s with 0 in the top-left corner, alternating like a chess board."""
    raise NotImplementedError("TODO: arange and broadcasting (row + column) % 2")


def to_channels_first(images: torch.Tensor) -> torch.Tensor:
    """(batch, height, width, channels) -> (batch, channels, height, width)."""
    raise NotImplementedError("TODO: one call to permute")


def pairwise_distances(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Euclidean distances between every row of a (n, d) and every row of b (m, d): shape (n, m). No loops."""
    raise NotImplementedError("TODO: a[:, None, :] - b[None, :, :], then a norm over the last dimension")


def attention_scores(q: torch.Tensor, k: torch.Tensor) -> torch.Tensor:
    """q (batch, heads, n, d), k (batch, heads, m, d) -> q.k / sqrt(d) of shape (batch, heads, n, m), with einsum."""
    raise NotImplementedError("TODO: torch.einsum('bhnd,bhmd->bhnm', ...)")


def gradient_of_cubic(x: torch.Tensor) -> torch.Tensor:
    """The gradient of sum(x**3) with respect to x, computed by autograd (not by hand)."""
    raise NotImplementedError("TODO: a leaf tensor with requires_grad=True, backward(), .grad")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_checkerboard() -> None:
    board = checkerboard(4)
    assert board.shape == (4, 4), f"shape {tuple(board.shape)}, expected (4, 4)"
    assert board.dtype == torch.int64, f"dtype {board.dtype}, expected torch.int64"
    assert board[0].tolist() == [0, 1, 0, 1] and board[1].tolist() == [1, 0, 1, 0], f"got {board.tolist()}"


def check_to_channels_first() -> None:
    images = torch.randn(2, 8, 6, 3)
    moved = to_channels_first(images)
    assert moved.shape == (2, 3, 8, 6), f"shape {tuple(moved.shape)}, expected (2, 3, 8, 6)"
    assert torch.equal(moved[1, 2], images[1, :, :, 2]), "the values moved to the wrong places"


def check_pairwise_distances() -> None:
    a, b = torch.randn(5, 3), torch.randn(4, 3)
    distances = pairwise_distances(a, b)
    assert distances.shape == (5, 4), f"shape {tuple(distances.shape)}, expected (5, 4)"
    assert torch.allclose(distances, torch.cdist(a, b), atol=1e-5), "values differ from torch.cdist"


def check_attention_scores() -> None:
    q, k = torch.randn(2, 3, 4, 8), torch.randn(2, 3, 5, 8)
    scores = attention_scores(q, k)
    assert scores.shape == (2, 3, 4, 5), f"shape {tuple(scores.shape)}, expected (2, 3, 4, 5)"
    assert torch.allclose(scores, q @ k.transpose(-2, -1) / 8**0.5, atol=1e-5), "values are off (scaled by sqrt(d)?)"


def check_gradient_of_cubic() -> None:
    x = torch.tensor([1.0, -2.0, 0.5])
    grad = gradient_of_cubic(x)
    assert torch.allclose(grad, 3 * x**2), f"got {grad.tolist()}, expected 3x^2 = {(3 * x**2).tolist()}"


CHECKS = (
    check_checkerboard,
    check_to_channels_first,
    check_pairwise_distances,
    check_attention_scores,
    check_gradient_of_cubic,
)


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

"""Toy data for module 7, made with torch (nothing is downloaded), and text plots (no plotting library needed).

2-D distributions: two_moons (labelled_moons also says which moon), ring, gaussian_mixture.
Images: shapes (16x16 squares, disks and crosses in [-1, 1]).
Plots: scatter_text (a 2-D point cloud as a density of characters), images_text (images as characters),
side_by_side (several plots in one row).

Every function draws from torch's global random generator, so torch.manual_seed makes them repeatable.
"""

from __future__ import annotations

import math

import torch

SHAPE_NAMES = ("square", "disk", "cross")
DENSITY = " .:-=+*#%@"  # from empty to crowded (scatter_text) or from -1 to 1 (images_text)


def two_moons(n: int, noise: float = 0.05) -> torch.Tensor:
    """Two interleaved half circles (as scikit-learn's make_moons), centred and scaled to about unit spread."""
    return labelled_moons(n, noise)[0]


def labelled_moons(n: int, noise: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Two moons and which moon each point is on: 0 for the upper one, 1 for the lower one."""
    angle = torch.rand(n) * math.pi
    upper = torch.rand(n) < 0.5
    x = torch.where(upper, angle.cos(), 1 - angle.cos())
    y = torch.where(upper, angle.sin(), 0.5 - angle.sin())
    points = torch.stack([x, y], dim=1) + noise * torch.randn(n, 2)
    return (points - torch.tensor([0.5, 0.25])) / 0.6, (~upper).long()


def ring(n: int, radius: float = 1.5, noise: float = 0.05) -> torch.Tensor:
    """Points on a circle of the given radius, with a little radial noise."""
    angle = torch.rand(n) * 2 * math.pi
    r = radius + noise * torch.randn(n)
    return torch.stack([r * angle.cos(), r * angle.sin()], dim=1)


def gaussian_mixture(
    n: int, modes: int = 8, radius: float = 2.0, std: float = 0.15
) -> tuple[torch.Tensor, torch.Tensor]:
    """`modes` small Gaussians evenly spaced on a circle; returns the points and which mode each came from."""
    labels = torch.randint(0, modes, (n,))
    centres = mode_centres(modes, radius)
    return centres[labels] + std * torch.randn(n, 2), labels


def mode_centres(modes: int = 8, radius: float = 2.0) -> torch.Tensor:
    angle = torch.arange(modes) * 2 * math.pi / modes
    return radius * torch.stack([angle.cos(), angle.sin()], dim=1)


def shapes(n: int, size: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """n images (n, 1, size, size) in [-1, 1]: a filled square, disk or cross (label 0, 1, 2) of random
    size and place, +1 on a -1 background."""
    labels = torch.randint(0, 3, (n,))
    half = torch.empty(n).uniform_(size * 0.19, size * 0.34)  # half the side, or the radius
    cx = half + torch.rand(n) * (size - 2 * half)
    cy = half + torch.rand(n) * (size - 2 * half)
    coords = torch.arange(size, dtype=torch.float32) + 0.5
    dx = coords.view(1, 1, size) - cx.view(n, 1, 1)
    dy = coords.view(1, size, 1) - cy.view(n, 1, 1)
    h = half.view(n, 1, 1)
    square = (dx.abs() <= h) & (dy.abs() <= h)
    disk = dx**2 + dy**2 <= h**2
    arm = h / 3
    cross = ((dx.abs() <= arm) & (dy.abs() <= h)) | ((dy.abs() <= arm) & (dx.abs() <= h))
    label = labels.view(n, 1, 1)
    mask = torch.where(label == 0, square, torch.where(label == 1, disk, cross))
    return (mask.float() * 2 - 1).unsqueeze(1), labels


def scatter_text(points: torch.Tensor, width: int = 36, height: int = 14, limit: float = 3.0) -> str:
    """A 2-D point cloud as characters: x in [-limit, limit], y over the same scale (a character is about
    twice as tall as it is wide); the more points fall in a cell, the denser its character."""
    points = points.detach().float().cpu()
    y_limit = limit * 2 * height / width
    col = ((points[:, 0] + limit) / (2 * limit) * width).floor().long()
    row = ((y_limit - points[:, 1]) / (2 * y_limit) * height).floor().long()
    inside = (col >= 0) & (col < width) & (row >= 0) & (row < height)
    counts = torch.zeros(height * width)
    counts.index_add_(0, (row * width + col)[inside], torch.ones(int(inside.sum())))
    counts = counts.view(height, width)
    top = counts.max().item() or 1.0
    levels = (counts / top).sqrt() * (len(DENSITY) - 1)  # square root: sparse cells stay visible
    levels = torch.where(counts > 0, levels.ceil(), levels).long()
    return "\n".join("".join(DENSITY[level] for level in line) for line in levels.tolist())


def images_text(images: torch.Tensor) -> list[str]:
    """Each (1, H, W) image in [-1, 1] as text, two characters per pixel so that squares look square."""
    rendered = []
    for image in images.detach().float().cpu():
        levels = ((image[0].clamp(-1, 1) + 1) / 2 * (len(DENSITY) - 1)).round().long()
        rendered.append("\n".join("".join(DENSITY[v] * 2 for v in line) for line in levels.tolist()))
    return rendered


def side_by_side(plots: list[str], titles: list[str] | None = None, gap: int = 3) -> str:
    """Put several text plots in one row, each framed, with an optional title above it."""
    framed = []
    for index, plot in enumerate(plots):
        lines = plot.splitlines()
        width = max(len(line) for line in lines)
        title = titles[index] if titles else ""
        framed.append([title[: width + 2].center(width + 2), "+" + "-" * width + "+"]
                      + ["|" + line.ljust(width) + "|" for line in lines]
                      + ["+" + "-" * width + "+"])
    rows = max(len(block) for block in framed)
    widths = [len(block[1]) for block in framed]
    out = []
    for r in range(rows):
        out.append((" " * gap).join((block[r] if r < len(block) else "").ljust(w) for block, w in zip(framed, widths)))
    return "\n".join(line.rstrip() for line in out)

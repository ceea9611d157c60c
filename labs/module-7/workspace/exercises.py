"""Module 7 exercises: the pieces of a diffusion model, one function each.

Fill in every TODO, then run `python exercises.py` (or `%run exercises.py` in a notebook) to see
which exercises are done.
"""

import math

import torch
from torch import nn


def cosine_alpha_bar(steps: int, s: float = 0.008) -> torch.Tensor:
    """The cosine schedule's alpha_bar_t = f(t + 1) / f(0) for t = 0..steps-1, in float64, where
    f(u) = cos^2(((u / steps + s) / (1 + s)) * pi / 2) (notebook 01)."""
    raise NotImplementedError("TODO: f at 0..steps, then f[1:] / f[0]")


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(alpha_bar[t]) x0 + sqrt(1 - alpha_bar[t]) noise, where t holds one step per item of the
    batch (x0 may be (batch, 2) points or (batch, channels, height, width) images) (notebook 01)."""
    raise NotImplementedError("TODO: pick alpha_bar[t], reshape it to broadcast over x0, combine")


def timestep_embedding(t: torch.Tensor, dim: int, max_period: float = 10_000.0) -> torch.Tensor:
    """(batch, dim): [sin(t w_0) .. sin(t w_{h-1}), cos(t w_0) .. cos(t w_{h-1})] with h = dim // 2 and
    w_i = max_period ** (-i / h) (notebook 02)."""
    raise NotImplementedError("TODO: frequencies, outer product with t, sin and cos side by side")


def ddpm_loss(
    model: nn.Module, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    """The DDPM training loss: the mean squared error between `noise` and model(x_t, t), where x_t is x0
    noised to step t with that noise (notebook 02)."""
    raise NotImplementedError("TODO: q_sample, then the model's prediction against the noise")


def ddim_step(eps: torch.Tensor, x_t: torch.Tensor, ab_t: float, ab_prev: float) -> torch.Tensor:
    """One deterministic DDIM step (eta = 0) from a step with alpha_bar ab_t to one with alpha_bar ab_prev:
    predict x0 from x_t and the predicted noise eps, then re-noise it to ab_prev with that same eps (notebook 03)."""
    raise NotImplementedError("TODO: x0_hat, then sqrt(ab_prev) x0_hat + sqrt(1 - ab_prev) eps")


def guided_eps(eps_cond: torch.Tensor, eps_uncond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: move from the unconditional prediction towards the conditional one,
    `scale` times as far (scale 0: unconditional, 1: conditional) (notebook 03)."""
    raise NotImplementedError("TODO")


# --- checks: run this file to try your answers ---------------------------------------------------


def check_cosine_alpha_bar() -> None:
    alpha_bar = cosine_alpha_bar(100)
    found = (tuple(alpha_bar.shape), alpha_bar.dtype)
    assert found == ((100,), torch.float64), f"shape and dtype {found}, expected (100,) and float64"
    f = lambda u: math.cos((u / 100 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    for t in (0, 50, 98):
        expected = f(t + 1) / f(0)
        got = alpha_bar[t].item()
        assert abs(got - expected) < 1e-12, f"alpha_bar[{t}] = {got}, expected {expected}"
    assert (alpha_bar[1:] < alpha_bar[:-1]).all(), "alpha_bar should fall at every step"


def check_q_sample() -> None:
    alpha_bar = torch.tensor([0.9, 0.5, 0.1])
    x0, noise = torch.tensor([[1.0, 2.0], [1.0, 2.0]]), torch.tensor([[0.5, -1.0], [0.5, -1.0]])
    got = q_sample(x0, torch.tensor([0, 2]), noise, alpha_bar)
    expected = torch.stack([0.9**0.5 * x0[0] + 0.1**0.5 * noise[0], 0.1**0.5 * x0[1] + 0.9**0.5 * noise[1]])
    assert torch.allclose(got, expected), f"got {got.tolist()}, expected {expected.tolist()}"
    images = q_sample(torch.ones(2, 1, 4, 4), torch.tensor([0, 1]), torch.zeros(2, 1, 4, 4), alpha_bar)
    assert images.shape == (2, 1, 4, 4), f"images came back as {tuple(images.shape)}"
    assert torch.allclose(images[1], torch.full((1, 4, 4), 0.5**0.5)), "each image should use its own t"


def check_timestep_embedding() -> None:
    emb = timestep_embedding(torch.tensor([0, 3]), 8)
    assert emb.shape == (2, 8), f"shape {tuple(emb.shape)}, expected (2, 8)"
    assert emb[0].tolist() == [0.0] * 4 + [1.0] * 4, f"t = 0 gives {emb[0].tolist()}, expected four 0s then four 1s"
    w = [10_000 ** (-i / 4) for i in range(4)]
    expected = torch.tensor([math.sin(3 * x) for x in w] + [math.cos(3 * x) for x in w])
    assert torch.allclose(emb[1], expected, atol=1e-6), f"t = 3 gives {emb[1].tolist()}"


class Echo(nn.Module):
    """A stand-in for a denoiser: returns its input x_t as the 'predicted noise'."""

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        return x


def check_ddpm_loss() -> None:
    alpha_bar = torch.tensor([0.75, 0.25])
    x0, noise, t = torch.tensor([[2.0, 0.0]]), torch.tensor([[0.0, 1.0]]), torch.tensor([1])
    loss = ddpm_loss(Echo(), x0, t, noise, alpha_bar)
    x_t = 0.25**0.5 * x0 + 0.75**0.5 * noise
    expected = ((x_t - noise) ** 2).mean()
    assert loss.dim() == 0, f"the loss should be a scalar, got shape {tuple(loss.shape)}"
    assert torch.allclose(loss, expected), f"loss {loss.item():.5f}, expected {expected.item():.5f}"


def check_ddim_step() -> None:
    x0, eps = torch.tensor([0.5, -1.0]), torch.tensor([1.0, 0.3])
    x_t = 0.2**0.5 * x0 + 0.8**0.5 * eps
    got = ddim_step(eps, x_t, 0.2, 0.7)
    expected = 0.7**0.5 * x0 + 0.3**0.5 * eps  # the true noise lands exactly on q(x_t' | x0)
    assert torch.allclose(got, expected, atol=1e-6), f"got {got.tolist()}, expected {expected.tolist()}"
    assert torch.allclose(ddim_step(eps, x_t, 0.2, 1.0), x0, atol=1e-6), "stepping to alpha_bar 1 should give x0"


def check_guided_eps() -> None:
    cond, uncond = torch.tensor([1.0, 2.0]), torch.tensor([0.0, 4.0])
    assert torch.equal(guided_eps(cond, uncond, 0.0), uncond), "scale 0 should give the unconditional prediction"
    assert torch.equal(guided_eps(cond, uncond, 1.0), cond), "scale 1 should give the conditional prediction"
    got = guided_eps(cond, uncond, 3.0)
    assert torch.allclose(got, torch.tensor([3.0, -2.0])), f"scale 3 gives {got.tolist()}, expected [3.0, -2.0]"


CHECKS = (
    check_cosine_alpha_bar,
    check_q_sample,
    check_timestep_embedding,
    check_ddpm_loss,
    check_ddim_step,
    check_guided_eps,
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

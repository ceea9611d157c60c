"""Smoke checks for module-7 (Diffusion models): closed forms of the forward and reverse processes,
samplers driven by the exact denoiser of Gaussian data, a DDPM loss that falls, DDIM's determinism,
classifier-free guidance, a small U-Net on the device against float64 on the CPU, diffusers offline.

Statistical checks draw many samples with the runner's fixed seed and allow 5 standard errors: for
Gaussian samples, a mean's standard error is sqrt(var / n) and an unbiased variance's is
var * sqrt(2 / (n - 1)), so a correct implementation passes a 5-sigma bound with probability
1 - 6e-7 per compared number (below 2e-4 over all of them), and a wrong coefficient does not.
"""

from __future__ import annotations

import copy
import math

import torch
from torch import nn
from torch.nn import functional as F

from smoke_api import SmokeFailure, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)
Z_LIMIT = 5.0  # standard errors allowed by the statistical checks


# --- schedules and the two processes (the lab's notebooks build the same, step by step) ----------


def linear_betas(steps: int) -> torch.Tensor:
    """Ho et al.'s 1e-4..0.02 over 1000 steps, scaled by 1000 / steps (as Nichol & Dhariwal do)."""
    scale = 1000 / steps
    return torch.linspace(scale * 1e-4, scale * 0.02, steps, dtype=torch.float64)


def cosine_f(steps: int, s: float = 0.008) -> torch.Tensor:
    """f(t) = cos^2(((t / T + s) / (1 + s)) * pi / 2) for t = 0..T; alpha_bar_t = f(t + 1) / f(0)."""
    fraction = torch.arange(steps + 1, dtype=torch.float64) / steps
    return torch.cos((fraction + s) / (1 + s) * math.pi / 2) ** 2


def cosine_betas(steps: int, max_beta: float = 0.999) -> torch.Tensor:
    f = cosine_f(steps)
    return (1 - f[1:] / f[:-1]).clamp(max=max_beta)


def alpha_bar_of(betas: torch.Tensor) -> torch.Tensor:
    return torch.cumprod(1 - betas, dim=0)


def q_sample(x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor) -> torch.Tensor:
    """x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) noise, one t per item of the batch."""
    ab = alpha_bar.to(x0.device, x0.dtype)[t].view(-1, *([1] * (x0.dim() - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def predicted_x0(eps: torch.Tensor, x_t: torch.Tensor, ab: float, clip: float | None) -> torch.Tensor:
    x0 = (x_t - math.sqrt(1 - ab) * eps) / math.sqrt(ab)
    return x0 if clip is None else x0.clamp(-clip, clip)


def ddpm_step(
    eps: torch.Tensor, x_t: torch.Tensor, t: int, betas: torch.Tensor, z: torch.Tensor, clip: float | None = None
) -> torch.Tensor:
    """One ancestral step: the mean of q(x_{t-1} | x_t, x0_hat) plus sqrt(posterior variance) z."""
    alpha_bar = alpha_bar_of(betas)
    beta, ab = betas[t].item(), alpha_bar[t].item()
    ab_prev = alpha_bar[t - 1].item() if t > 0 else 1.0
    x0 = predicted_x0(eps, x_t, ab, clip)
    mean = (math.sqrt(ab_prev) * beta / (1 - ab)) * x0 + (math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)) * x_t
    variance = beta * (1 - ab_prev) / (1 - ab)
    return mean + math.sqrt(variance) * z if t > 0 else mean


def ddim_sigma(ab: float, ab_prev: float, eta: float) -> float:
    return eta * math.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))


def ddim_step(
    eps: torch.Tensor,
    x_t: torch.Tensor,
    t: int,
    t_prev: int,
    alpha_bar: torch.Tensor,
    eta: float = 0.0,
    z: torch.Tensor | None = None,
    clip: float | None = None,
) -> torch.Tensor:
    ab = alpha_bar[t].item()
    ab_prev = alpha_bar[t_prev].item() if t_prev >= 0 else 1.0
    sigma = ddim_sigma(ab, ab_prev, eta)
    x_prev = math.sqrt(ab_prev) * predicted_x0(eps, x_t, ab, clip) + math.sqrt(1 - ab_prev - sigma**2) * eps
    return x_prev + sigma * z if sigma > 0 else x_prev


def ddim_timesteps(steps: int, sample_steps: int) -> list[int]:
    """'trailing' spacing: T-1, T-1-k, ... with k = T // sample_steps; each step goes to t - k."""
    stride = steps // sample_steps
    return [steps - 1 - i * stride for i in range(sample_steps)]


@torch.no_grad()
def ddpm_sample(eps_fn, x: torch.Tensor, betas: torch.Tensor, clip: float | None = None) -> torch.Tensor:
    for t in reversed(range(len(betas))):
        ts = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        z = torch.randn_like(x) if t > 0 else torch.zeros_like(x)
        x = ddpm_step(eps_fn(x, ts), x, t, betas, z, clip)
    return x


@torch.no_grad()
def ddim_sample(
    eps_fn, x: torch.Tensor, alpha_bar: torch.Tensor, sample_steps: int, eta: float = 0.0, clip: float | None = None
) -> torch.Tensor:
    stride = len(alpha_bar) // sample_steps
    for t in ddim_timesteps(len(alpha_bar), sample_steps):
        ts = torch.full((x.shape[0],), t, device=x.device, dtype=torch.long)
        z = torch.randn_like(x) if eta > 0 else None
        x = ddim_step(eps_fn(x, ts), x, t, t - stride, alpha_bar, eta, z, clip)
    return x


def z_scores(samples: torch.Tensor, mean: torch.Tensor, var: torch.Tensor) -> tuple[float, float]:
    """The largest |z| of the per-column sample means and variances against the expected ones."""
    n = samples.shape[0]
    samples = samples.cpu().double()
    mean, var = mean.cpu().double(), var.cpu().double()
    z_mean = (samples.mean(0) - mean) / (var / n).sqrt()
    z_var = (samples.var(0) - var) / (var * math.sqrt(2 / (n - 1)))
    return z_mean.abs().max().item(), z_var.abs().max().item()


# --- the checks ---------------------------------------------------------------------------------


def check_noise_schedules(device: str) -> str:
    details = []
    for steps in (100, 1000):
        for name, betas in (("linear", linear_betas(steps)), ("cosine", cosine_betas(steps))):
            on_device = alpha_bar_of(betas.float().to(device))
            for where, alpha_bar in (("float64", alpha_bar_of(betas)), (f"float32 on {device}", on_device)):
                ab = alpha_bar.cpu().double()
                if not (ab.gt(0).all() and ab.lt(1).all()):
                    raise SmokeFailure(
                        f"{name} T={steps} ({where}): alpha_bar leaves (0, 1): {ab.min():.3g}..{ab.max():.3g}"
                    )
                if not (ab[1:] < ab[:-1]).all():
                    first = int((ab[1:] >= ab[:-1]).nonzero()[0])
                    raise SmokeFailure(f"{name} T={steps} ({where}): alpha_bar does not fall at t={first + 1}")
            ab = alpha_bar_of(betas)
            if not ab[-1] < 1e-3:  # x_T must be close to N(0, I): little of x_0 is left
                raise SmokeFailure(f"{name} T={steps}: alpha_bar_T = {ab[-1]:.3g}, expected < 1e-3")
            details.append(f"{name} T={steps} ab_T={ab[-1].item():.1e}")
        # unclipped, the cosine schedule's alpha_bar_t is f(t + 1) / f(0) exactly
        f, ab = cosine_f(steps), alpha_bar_of(cosine_betas(steps))
        unclipped = int((cosine_betas(steps) < 0.999).sum())  # betas grow: only the last ones are clipped
        assert_close(ab[:unclipped], (f[1:] / f[0])[:unclipped], "cosine alpha_bar, f(t+1)/f(0)", 1e-10, 1e-12)
    return "alpha_bar in (0, 1), strictly falling, cosine = f(t+1)/f(0); " + ", ".join(details)


def check_forward_process_closed_form(device: str) -> str:
    """Run the Markov chain x_t = sqrt(1 - beta_t) x_{t-1} + sqrt(beta_t) eps from a fixed x_0 many times:
    at each t its samples must have mean sqrt(alpha_bar_t) x_0 and variance 1 - alpha_bar_t, and so must
    the closed form q(x_t | x_0) sampled in one step."""
    steps, n = 100, 20_000
    x0 = torch.linspace(-2.0, 2.0, 8)
    probes = (0, 9, 49, 99)
    worst = 0.0
    for name, betas in (("linear", linear_betas(steps)), ("cosine", cosine_betas(steps))):
        alpha_bar = alpha_bar_of(betas)
        x = x0.to(device).expand(n, -1).clone()
        for t in range(steps):
            x = math.sqrt(1 - betas[t].item()) * x + math.sqrt(betas[t].item()) * torch.randn_like(x)
            if t not in probes:
                continue
            mean, var = alpha_bar[t].sqrt() * x0.double(), (1 - alpha_bar[t]).expand(8)
            ts = torch.full((n,), t, device=device, dtype=torch.long)
            closed = q_sample(x0.to(device).expand(n, -1), ts, torch.randn(n, 8, device=device), alpha_bar)
            for how, samples in (("chain", x), ("closed form", closed)):
                z_mean, z_var = z_scores(samples, mean, var)
                if max(z_mean, z_var) > Z_LIMIT:
                    raise SmokeFailure(
                        f"{name} schedule, t={t}, {how}: mean off by {z_mean:.1f} or variance by {z_var:.1f} "
                        f"standard errors (limit {Z_LIMIT:g}) from sqrt(alpha_bar) x0 and 1 - alpha_bar"
                    )
                worst = max(worst, z_mean, z_var)
    return f"chain and closed form match sqrt(ab) x0, 1 - ab at t={probes} ({n} samples, worst |z| {worst:.2f})"


def check_reverse_step_identities(device: str) -> str:
    """With the true noise as the prediction: the epsilon-form posterior mean equals the x_0-form one;
    DDIM (eta 0) lands exactly on q(x_{t'} | x_0) with the same noise; DDIM's eta = 1 variance is DDPM's."""
    steps = 100
    betas = linear_betas(steps)
    alpha_bar = alpha_bar_of(betas)
    x0, eps = torch.randn(64, 2, dtype=torch.float64), torch.randn(64, 2, dtype=torch.float64)
    worst = 0.0
    for t in (1, 30, 99):
        ts = torch.full((64,), t, dtype=torch.long)
        x_t = q_sample(x0, ts, eps, alpha_bar)
        beta, ab, ab_prev = betas[t].item(), alpha_bar[t].item(), alpha_bar[t - 1].item()
        x0_coef, x_t_coef = math.sqrt(ab_prev) * beta / (1 - ab), math.sqrt(1 - beta) * (1 - ab_prev) / (1 - ab)
        x0_form = x0_coef * x0 + x_t_coef * x_t
        eps_form = (x_t - beta / math.sqrt(1 - ab) * eps) / math.sqrt(1 - beta)
        worst = max(worst, assert_close(eps_form, x0_form, f"posterior mean, two forms, t={t}", 1e-10, 1e-10))
        atol = 1e-6 / math.sqrt(ab)  # float32 x_0 = (x_t - sqrt(1 - ab) eps) / sqrt(ab) magnifies rounding
        got = ddpm_step(eps.float().to(device), x_t.float().to(device), t, betas, torch.zeros(64, 2, device=device))
        worst = max(worst, assert_close(got, x0_form, f"ddpm_step mean on {device}, t={t}", RTOL, atol))
        for t_prev in (t - 1, t // 2, -1):
            target = x0 if t_prev < 0 else q_sample(x0, torch.full((64,), t_prev), eps, alpha_bar)
            got = ddim_step(eps.float().to(device), x_t.float().to(device), t, t_prev, alpha_bar)
            what = f"DDIM {t}->{t_prev} on {device} with the true noise"
            worst = max(worst, assert_close(got, target, what, RTOL, atol))
        posterior_variance = beta * (1 - ab_prev) / (1 - ab)
        if not math.isclose(ddim_sigma(ab, ab_prev, 1.0) ** 2, posterior_variance, rel_tol=1e-12):
            raise SmokeFailure(f"t={t}: DDIM sigma^2 at eta=1 is not the DDPM posterior variance")
    return (
        f"posterior mean forms agree, DDIM with the true noise is exact, "
        f"eta=1 gives DDPM's variance (max abs diff {worst:.2g})"
    )


def check_samplers_on_gaussian_data(device: str) -> str:
    """Data N(mu, I) has an exact denoiser, E[eps | x_t] = sqrt(1 - ab_t) (x_t - sqrt(ab_t) mu), and then both
    samplers are linear in y_t = x_t - sqrt(ab_t) mu. Write sqrt(ab_t) = cos(theta_t): a DDIM step (eta 0)
    t -> t' multiplies y by cos(theta_t - theta_t'), so the sample is exactly mu + prod(cos) y_T, a little
    narrower than the data; a DDPM step maps y to sqrt(alpha_t) y + sigma_t z, sigma_t^2 the posterior
    variance, so its samples have mean mu (1 - ab_T) and a variance that follows a scalar recursion."""
    steps, n = 100, 20_000
    betas = linear_betas(steps)
    alpha_bar = alpha_bar_of(betas)
    mu = torch.tensor([1.5, -0.5])
    ab_device = alpha_bar.to(device, torch.float32)

    def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        ab = ab_device[t].unsqueeze(1)
        return (1 - ab).sqrt() * (x - ab.sqrt() * mu.to(device))

    x_T = torch.randn(n, 2, device=device)
    ab_T = alpha_bar[-1].item()
    theta = [math.acos(math.sqrt(alpha_bar[t].item())) for t in ddim_timesteps(steps, 20)] + [0.0]
    shrink = math.prod(math.cos(a - b) for a, b in zip(theta, theta[1:]))
    ddim = ddim_sample(eps_fn, x_T.clone(), alpha_bar, 20)
    expected = mu.double() + shrink * (x_T.cpu().double() - math.sqrt(ab_T) * mu.double())
    worst = assert_close(ddim, expected, "DDIM(eta=0) vs mu + prod cos(dtheta) (x_T - sqrt(ab_T) mu)", RTOL, 1e-4)

    var = 1.0  # y_T ~ N(-sqrt(ab_T) mu, I); the product of the sqrt(alpha_t) is sqrt(ab_T)
    for t in reversed(range(steps)):
        ab_prev = alpha_bar[t - 1].item() if t > 0 else 1.0
        var = (1 - betas[t].item()) * var + betas[t].item() * (1 - ab_prev) / (1 - alpha_bar[t].item())
    ddpm = ddpm_sample(eps_fn, x_T.clone(), betas)
    for name, samples in (("DDIM", ddim), ("DDPM", ddpm)):
        if tuple(samples.shape) != (n, 2) or samples.device.type != device or not samples.isfinite().all():
            raise SmokeFailure(f"{name}: shape {tuple(samples.shape)} on {samples.device}, expected ({n}, 2), finite")
    z_mean, z_var = z_scores(ddpm, mu.double() * (1 - ab_T), torch.full((2,), var))
    if max(z_mean, z_var) > Z_LIMIT:
        raise SmokeFailure(
            f"DDPM samples: mean {ddpm.mean(0).tolist()}, variance {ddpm.var(0).tolist()}; the recursion expects "
            f"{mu.tolist()} (nearly) and {var:.4f}: off by {z_mean:.1f} and {z_var:.1f} standard errors"
        )
    return (
        f"data N({mu.tolist()}, I): DDIM 20 steps exact (std {shrink:.3f}, max abs diff {worst:.2g}); "
        f"DDPM {steps} steps std {math.sqrt(var):.3f} as predicted (|z| {max(z_mean, z_var):.2f})"
    )


def timestep_embedding(
    t: torch.Tensor, dim: int, max_period: float = 10_000.0, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """[sin(t w_0), ..., sin(t w_{d/2-1}), cos(t w_0), ...] with w_i = max_period^(-i / (d/2))."""
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, device=t.device, dtype=dtype) / half)
    args = t.to(dtype)[:, None] * freqs[None]
    return torch.cat([args.sin(), args.cos()], dim=-1)


class ToyDenoiser(nn.Module):
    """An MLP for 2-D points: epsilon_theta(x_t, t[, class]); class index `classes` means "no class"."""

    def __init__(self, hidden: int = 128, time_dim: int = 32, classes: int = 0) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.inp = nn.Linear(2, hidden)
        self.time = nn.Sequential(nn.Linear(time_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.label = nn.Embedding(classes + 1, hidden) if classes else None
        self.net = nn.Sequential(
            nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(), nn.Linear(hidden, 2)
        )

    def forward(self, x: torch.Tensor, t: torch.Tensor, label: torch.Tensor | None = None) -> torch.Tensor:
        h = self.inp(x) + self.time(timestep_embedding(t, self.time_dim))
        if self.label is not None and label is not None:
            h = h + self.label(label)
        return self.net(h)


def two_moons(n: int, noise: float = 0.05) -> torch.Tensor:
    """Two interleaved half circles (as scikit-learn's make_moons), centred and scaled to about unit spread."""
    angle = torch.rand(n) * math.pi
    upper = torch.rand(n) < 0.5
    x = torch.where(upper, angle.cos(), 1 - angle.cos())
    y = torch.where(upper, angle.sin(), 0.5 - angle.sin())
    points = torch.stack([x, y], dim=1) + noise * torch.randn(n, 2)
    return (points - torch.tensor([0.5, 0.25])) / 0.6


def ddpm_loss(
    model: nn.Module, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor, alpha_bar: torch.Tensor
) -> torch.Tensor:
    return F.mse_loss(model(q_sample(x0, t, noise, alpha_bar), t), noise)


def nearest_distance(points: torch.Tensor, data: torch.Tensor) -> float:
    return torch.cdist(points.cpu().float(), data.cpu().float()).min(dim=1).values.mean().item()


def check_ddpm_loss_falls(device: str) -> str:
    """An MLP learns to predict the noise on two moons: a fixed evaluation batch's loss halves within 100
    AdamW steps (measured over 60 seeds: to 0.25-0.33 of its start), and ancestral samples move onto the
    moons (measured: 0.55-0.78 of their starting noise's distance to the data; the bound is 0.85, which
    samples that stayed noise or diverged cannot meet). Width 64 costs half of width 128's time for the
    same margins; a smaller batch does not keep them (samples at 0.88 for some seeds with 256)."""
    steps, train_steps, batch = 100, 100, 1024
    alpha_bar = alpha_bar_of(linear_betas(steps))
    torch.manual_seed(0)
    model = ToyDenoiser(hidden=64).to(device)
    data = two_moons(4096).to(device)
    fixed = (data[:1024], torch.randint(0, steps, (1024,), device=device), torch.randn(1024, 2, device=device))

    def eval_loss() -> float:
        with torch.no_grad():
            return ddpm_loss(model, *fixed, alpha_bar).item()

    before = eval_loss()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    for _ in range(train_steps):
        x0 = data[torch.randint(0, len(data), (batch,), device=device)]
        loss = ddpm_loss(model, x0, torch.randint(0, steps, (batch,), device=device), torch.randn_like(x0), alpha_bar)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    after = eval_loss()
    if not after < 0.5 * before:
        raise SmokeFailure(
            f"evaluation loss went from {before:.3f} to {after:.3f} in {train_steps} steps, expected it to halve"
        )
    start = torch.randn(512, 2, device=device)
    samples = ddpm_sample(lambda x, t: model(x, t), start.clone(), linear_betas(steps))
    if tuple(samples.shape) != (512, 2) or not samples.isfinite().all():
        raise SmokeFailure(f"samples of shape {tuple(samples.shape)}, finite: {bool(samples.isfinite().all())}")
    near, far = nearest_distance(samples, data), nearest_distance(start, data)
    if not near < 0.85 * far:
        raise SmokeFailure(f"samples lie {near:.3f} from the data on average, the starting noise {far:.3f}")
    return (
        f"eval loss {before:.3f} -> {after:.3f} in {train_steps} steps; "
        f"samples {near:.3f} from the moons on average (their starting noise: {far:.3f})"
    )


# --- a small U-Net ------------------------------------------------------------------------------


class ResBlock(nn.Module):
    def __init__(self, cin: int, cout: int, time_dim: int) -> None:
        super().__init__()
        self.norm1, self.conv1 = nn.GroupNorm(8, cin), nn.Conv2d(cin, cout, 3, padding=1)
        self.time = nn.Linear(time_dim, cout)
        self.norm2, self.conv2 = nn.GroupNorm(8, cout), nn.Conv2d(cout, cout, 3, padding=1)
        self.skip = nn.Conv2d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x: torch.Tensor, temb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x))) + self.time(temb)[:, :, None, None]
        return self.conv2(F.silu(self.norm2(h))) + self.skip(x)


class SelfAttention(nn.Module):
    def __init__(self, channels: int, heads: int = 4) -> None:
        super().__init__()
        self.heads = heads
        self.norm = nn.GroupNorm(8, channels)
        self.qkv, self.out = nn.Conv2d(channels, 3 * channels, 1), nn.Conv2d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, h, w = x.shape
        qkv = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, h * w).transpose(-1, -2)
        mixed = F.scaled_dot_product_attention(*qkv.unbind(1))  # (b, heads, h*w, c / heads)
        return x + self.out(mixed.transpose(-1, -2).reshape(b, c, h, w))


class TinyUNet(nn.Module):
    """16x16 -> 8x8 -> 4x4 (attention) -> 8x8 -> 16x16, skip connections, time embedding in every block."""

    def __init__(self, channels: int = 1, base: int = 16, time_dim: int = 64) -> None:
        super().__init__()
        self.time_dim = time_dim
        self.time = nn.Sequential(nn.Linear(time_dim, time_dim), nn.SiLU(), nn.Linear(time_dim, time_dim))
        self.inp = nn.Conv2d(channels, base, 3, padding=1)
        self.down1, self.pool1 = ResBlock(base, base, time_dim), nn.Conv2d(base, base, 3, stride=2, padding=1)
        self.down2 = ResBlock(base, 2 * base, time_dim)
        self.pool2 = nn.Conv2d(2 * base, 2 * base, 3, stride=2, padding=1)
        self.mid1, self.attn = ResBlock(2 * base, 2 * base, time_dim), SelfAttention(2 * base)
        self.mid2 = ResBlock(2 * base, 2 * base, time_dim)
        self.up2, self.up1 = ResBlock(4 * base, 2 * base, time_dim), ResBlock(3 * base, base, time_dim)
        self.out = nn.Sequential(nn.GroupNorm(8, base), nn.SiLU(), nn.Conv2d(base, channels, 3, padding=1))

    def forward(self, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        temb = self.time(timestep_embedding(t, self.time_dim, dtype=x.dtype))
        h1 = self.down1(self.inp(x), temb)  # 16x16
        h2 = self.down2(self.pool1(h1), temb)  # 8x8
        h = self.mid2(self.attn(self.mid1(self.pool2(h2), temb)), temb)  # 4x4
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2.0), h2], dim=1), temb)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2.0), h1], dim=1), temb)
        return self.out(h)


def check_ddim_eta0_is_deterministic(device: str) -> str:
    """DDIM with eta 0 is a deterministic map from x_T: the same noise gives the same sample, twice,
    whatever the random state; it draws no random numbers; DDPM's samples differ from run to run.
    Samples are (4, 1, 16, 16) images in [-1, 1] (x_0 is clipped to the data's range)."""
    steps = 20
    betas = cosine_betas(steps)
    alpha_bar = alpha_bar_of(betas)
    torch.manual_seed(0)
    model = TinyUNet().to(device).eval()
    x_T = torch.randn(4, 1, 16, 16, device=device)
    first = ddim_sample(model, x_T.clone(), alpha_bar, 5, clip=1.0)
    torch.manual_seed(123)
    second = ddim_sample(model, x_T.clone(), alpha_bar, 5, clip=1.0)
    if not torch.equal(first, second):
        differ = (first - second).abs().max().item()
        raise SmokeFailure(f"DDIM(eta=0) from the same x_T differs between runs by {differ:.3g}")
    torch.manual_seed(7)
    untouched = torch.randn(3, device=device)
    torch.manual_seed(7)
    ddim_sample(model, x_T.clone(), alpha_bar, 5, clip=1.0)
    if not torch.equal(torch.randn(3, device=device), untouched):
        raise SmokeFailure("DDIM(eta=0) consumed random numbers; it should be deterministic")
    other = ddim_sample(model, torch.randn_like(x_T), alpha_bar, 5, clip=1.0)
    if torch.equal(other, first):
        raise SmokeFailure("DDIM from a different x_T gave the same sample")
    ddpm_a = ddpm_sample(model, x_T.clone(), betas, clip=1.0)
    ddpm_b = ddpm_sample(model, x_T.clone(), betas, clip=1.0)
    if torch.equal(ddpm_a, ddpm_b):
        raise SmokeFailure("two DDPM runs from the same x_T gave the same sample; ancestral sampling adds fresh noise")
    for name, sample in (("DDIM", first), ("DDPM", ddpm_a)):
        if tuple(sample.shape) != (4, 1, 16, 16) or sample.device.type != device:
            shape = tuple(sample.shape)
            raise SmokeFailure(f"{name} sample of shape {shape} on {sample.device}, expected (4, 1, 16, 16)")
        if not (sample.isfinite().all() and sample.min() >= -1 and sample.max() <= 1):
            raise SmokeFailure(f"{name} sample values {sample.min():.3g}..{sample.max():.3g}, expected within [-1, 1]")
    return "same x_T -> identical DDIM sample (any seed, no RNG use); DDPM varies; (4, 1, 16, 16) in [-1, 1]"


def mixture_eps(means: torch.Tensor, std: float, alpha_bar: torch.Tensor):
    """Exact conditional and unconditional noise predictions for an equal mixture of N(means[c], std^2 I)."""
    ab_all = alpha_bar.to(means.device, torch.float32)

    def per_class(x: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ab = ab_all[t].view(-1, 1, 1)
        var = ab * std**2 + 1 - ab
        centred = x[:, None, :] - ab.sqrt() * means[None]  # (n, classes, 2)
        eps = (1 - ab).sqrt() * centred / var
        log_p = -(centred**2).sum(-1) / (2 * var[:, :, 0])  # (n, classes); equal weights and variances
        return eps, log_p.softmax(dim=1)

    def eps_fn(x: torch.Tensor, t: torch.Tensor, label: torch.Tensor, scale: float) -> torch.Tensor:
        eps, posterior = per_class(x, t)
        conditional = eps[torch.arange(len(x), device=x.device), label]
        unconditional = (posterior[:, :, None] * eps).sum(1)
        return unconditional + scale * (conditional - unconditional)

    return eps_fn


def check_classifier_free_guidance(device: str) -> str:
    """Two overlapping classes, N((-mu, 0), s^2 I) and N((mu, 0), s^2 I), with their exact denoisers. Guided
    noise eps_u + w (eps_c - eps_u) for class 1: w = 0 samples both classes alike (half on each side), w = 1
    samples class 1 (on its side with probability Phi(mu / s)), w = 4 pushes further from class 0."""
    steps, n = 100, 8000
    alpha_bar = alpha_bar_of(linear_betas(steps))
    mu, s = 1.0, 0.7
    means = torch.tensor([[-mu, 0.0], [mu, 0.0]], device=device)
    eps_fn = mixture_eps(means, s, alpha_bar)
    label = torch.ones(n, dtype=torch.long, device=device)
    x_T = torch.randn(n, 2, device=device)
    fractions = {}
    for scale in (0.0, 1.0, 4.0):
        samples = ddim_sample(lambda x, t: eps_fn(x, t, label, scale), x_T.clone(), alpha_bar, 50)
        fractions[scale] = (samples[:, 0] > 0).float().mean().item()
    expected = {0.0: 0.5, 1.0: 0.5 * (1 + math.erf(mu / s / math.sqrt(2)))}
    for scale, p in expected.items():
        limit = Z_LIMIT * math.sqrt(p * (1 - p) / n) + 0.015  # + DDIM's 50 steps narrow each class by ~3%
        if abs(fractions[scale] - p) > limit:
            raise SmokeFailure(
                f"guidance {scale:g}: {fractions[scale]:.3f} of the samples on class 1's side, "
                f"expected {p:.3f} +- {limit:.3f}"
            )
    if not fractions[4.0] > fractions[1.0] + 0.03:
        raise SmokeFailure(
            f"guidance 4 put {fractions[4.0]:.3f} on class 1's side, no more than guidance 1 ({fractions[1.0]:.3f})"
        )
    shares = ", ".join(f"w={scale:g}: {p:.3f}" for scale, p in fractions.items())
    return f"class-1 samples on its side: {shares} (w=0 expects 0.5, w=1 {expected[1.0]:.3f})"


def device_tolerance(device: str) -> tuple[float, float]:
    """float32 against a float64 reference; GPU convolutions may use TF32 (10 mantissa bits) by default."""
    if device == "cuda" and torch.backends.cudnn.allow_tf32:
        return 1e-2, 2e-3
    return (1e-4, 1e-4) if device == "cpu" else (1e-3, 1e-4)


def check_unet_device_matches_cpu(device: str) -> str:
    """A fixed-seed U-Net: its noise prediction, DDPM loss, gradients and one DDPM and one DDIM step on the
    device, in float32, against the same computed in float64 on the CPU."""
    steps = 100
    betas = linear_betas(steps)
    alpha_bar = alpha_bar_of(betas)
    torch.manual_seed(0)
    reference = TinyUNet().double()
    model = copy.deepcopy(reference).float().to(device)
    x0 = torch.rand(4, 1, 16, 16, dtype=torch.float64) * 2 - 1
    t = torch.tensor([0, 10, 50, 99])
    noise, z = torch.randn(4, 1, 16, 16, dtype=torch.float64), torch.randn(4, 1, 16, 16, dtype=torch.float64)
    rtol, atol = device_tolerance(device)
    on = lambda tensor: tensor.float().to(device)  # noqa: E731

    eps = model(q_sample(on(x0), t.to(device), on(noise), alpha_bar), t.to(device))
    eps_ref = reference(q_sample(x0, t, noise, alpha_bar), t)
    if tuple(eps.shape) != (4, 1, 16, 16):
        raise SmokeFailure(f"U-Net output of shape {tuple(eps.shape)}, expected (4, 1, 16, 16)")
    worst = assert_close(eps, eps_ref, "U-Net noise prediction", rtol, atol)
    loss, loss_ref = F.mse_loss(eps, on(noise)), F.mse_loss(eps_ref, noise)
    worst = max(worst, assert_close(loss, loss_ref, "DDPM loss", rtol, atol))
    loss.backward()
    loss_ref.backward()
    missing = [name for name, p in model.named_parameters() if p.grad is None]
    if missing:
        raise SmokeFailure(f"no gradient reached {missing[:3]}")
    for (name, p), p_ref in zip(model.named_parameters(), reference.parameters()):
        scale = p_ref.grad.abs().max().item() or 1.0  # gradients are small: compare relative to their size
        worst = max(worst, assert_close(p.grad / scale, p_ref.grad / scale, f"gradient of {name}", rtol, atol))
    with torch.no_grad():
        x_t, x_t_ref = on(noise), noise  # a sampling step from pure noise at t = T - 1
        t_last = torch.full((4,), steps - 1)
        e, e_ref = model(x_t, t_last.to(device)), reference(x_t_ref, t_last)
        ddpm = ddpm_step(e, x_t, steps - 1, betas, on(z), clip=1.0)
        ddpm_ref = ddpm_step(e_ref, x_t_ref, steps - 1, betas, z, clip=1.0)
        worst = max(worst, assert_close(ddpm, ddpm_ref, "one DDPM step", rtol, atol))
        ddim = ddim_step(e, x_t, steps - 1, steps - 11, alpha_bar, clip=1.0)
        ddim_ref = ddim_step(e_ref, x_t_ref, steps - 1, steps - 11, alpha_bar, clip=1.0)
        worst = max(worst, assert_close(ddim, ddim_ref, "one DDIM step", rtol, atol))
    params = sum(p.numel() for p in model.parameters())
    return (
        f"{params} parameters; forward, loss {loss.item():.4f}, gradients, a DDPM and a DDIM step "
        f"match float64 on the CPU (max abs diff {worst:.2g})"
    )


# --- diffusers, offline -------------------------------------------------------------------------


TINY_UNET2D = {
    "sample_size": 16,
    "in_channels": 1,
    "out_channels": 1,
    "layers_per_block": 1,
    "block_out_channels": (16, 32),
    "down_block_types": ("DownBlock2D", "AttnDownBlock2D"),
    "up_block_types": ("AttnUpBlock2D", "UpBlock2D"),
    "norm_num_groups": 8,
    "attention_head_dim": 8,
}


def check_diffusers_from_config(device: str) -> str:
    """diffusers' UNet2DModel from a tiny config (no download) runs forward and backward on the device like
    on the CPU; its DDPMScheduler keeps our alpha_bar (linear and cosine) and q(x_t | x_0); a 10-step
    DDIMScheduler loop (eta 0, trailing spacing) gives our DDIM sample."""
    from diffusers import DDIMScheduler, DDPMScheduler, UNet2DModel

    torch.manual_seed(0)
    cpu_model = UNet2DModel(**TINY_UNET2D)
    model = copy.deepcopy(cpu_model).to(device)
    x = torch.randn(2, 1, 16, 16)
    t = torch.tensor([10, 900])
    out, out_ref = model(x.to(device), t.to(device)).sample, cpu_model(x, t).sample
    rtol, atol = device_tolerance(device)
    worst = assert_close(out, out_ref, "UNet2DModel on the device vs CPU", max(rtol, RTOL), max(atol, ATOL))
    out.pow(2).mean().backward()
    if any(p.grad is None for p in model.parameters()):
        raise SmokeFailure("UNet2DModel: some parameters got no gradient")

    steps = 1000
    for ours, name in ((linear_betas(steps), "linear"), (cosine_betas(steps), "squaredcos_cap_v2")):
        scheduler = DDPMScheduler(num_train_timesteps=steps, beta_schedule=name)
        what = f"DDPMScheduler alphas_cumprod ({name})"
        worst = max(worst, assert_close(scheduler.alphas_cumprod, alpha_bar_of(ours), what, 1e-4, 1e-6))
    scheduler = DDPMScheduler(num_train_timesteps=steps, beta_schedule="linear")
    alpha_bar = alpha_bar_of(linear_betas(steps))
    x0, noise, ts = torch.rand(4, 1, 16, 16) * 2 - 1, torch.randn(4, 1, 16, 16), torch.tensor([0, 250, 500, 999])
    noisy = scheduler.add_noise(x0, noise, ts)
    worst = max(worst, assert_close(noisy, q_sample(x0, ts, noise, alpha_bar), "add_noise vs q_sample", RTOL, ATOL))

    ddim = DDIMScheduler(
        num_train_timesteps=steps, beta_schedule="linear", timestep_spacing="trailing", clip_sample=True
    )
    ddim.set_timesteps(10)
    if ddim.timesteps.tolist() != ddim_timesteps(steps, 10):
        raise SmokeFailure(f"DDIMScheduler timesteps {ddim.timesteps.tolist()}, ours {ddim_timesteps(steps, 10)}")
    x_T = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        theirs = x_T.clone()
        for step in ddim.timesteps:
            theirs = ddim.step(cpu_model(theirs, step).sample, step, theirs, eta=0.0).prev_sample
        ours = ddim_sample(lambda x_, t_: cpu_model(x_, t_).sample, x_T.clone(), alpha_bar, 10, clip=1.0)
    worst = max(worst, assert_close(ours, theirs, "10-step DDIM: ours vs DDIMScheduler", 1e-4, 1e-4))
    params = sum(p.numel() for p in model.parameters())
    return (
        f"UNet2DModel ({params} parameters) on {device} matches the CPU; "
        f"alphas_cumprod, add_noise and a 10-step DDIMScheduler loop agree with ours (max abs diff {worst:.2g})"
    )

"""Smoke checks for module-4 (Transformers): attention by hand equals SDPA, its backends, an encoder that learns."""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F

from smoke_api import SmokeFailure, SmokeSkip, assert_close, tolerances

RTOL, ATOL = tolerances(torch.float32)
SDPA_BACKENDS = ("MATH", "FLASH_ATTENTION", "EFFICIENT_ATTENTION", "CUDNN_ATTENTION")


def attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(q k^T / sqrt(d)) v, where mask (True = may attend) hides the other scores."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def check_attention_matches_sdpa(device: str) -> str:
    q, k, v = (torch.randn(2, 3, 5, 8, device=device) for _ in range(3))
    causal = torch.ones(5, 5, dtype=torch.bool, device=device).tril()
    padding = torch.tensor([True, True, True, False, False], device=device).expand(5, 5)
    cases = {
        "self-attention": (attention(q, k, v), F.scaled_dot_product_attention(q, k, v)),
        "causal": (attention(q, k, v, causal), F.scaled_dot_product_attention(q, k, v, is_causal=True)),
        "padding mask": (attention(q, k, v, padding), F.scaled_dot_product_attention(q, k, v, attn_mask=padding)),
    }
    memory_k, memory_v = torch.randn(2, 3, 7, 8, device=device), torch.randn(2, 3, 7, 8, device=device)
    cases["cross-attention"] = (attention(q, memory_k, memory_v), F.scaled_dot_product_attention(q, memory_k, memory_v))
    worst = 0.0
    for what, (by_hand, fused) in cases.items():
        worst = max(worst, assert_close(fused, by_hand, f"SDPA vs hand-written, {what}", RTOL, ATOL))
    reference = attention(*(t.cpu().double() for t in (q, k, v)), causal.cpu())
    worst = max(worst, assert_close(cases["causal"][1], reference, "causal SDPA vs float64 on CPU", RTOL, ATOL))
    return f"{', '.join(cases)} agree, max abs diff {worst:.2g}"


def backend_result(backend_name: str, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor | None:
    """The causal SDPA output with only this backend allowed, or None where it cannot run these inputs."""
    from torch.nn.attention import SDPBackend, sdpa_kernel

    backend = getattr(SDPBackend, backend_name, None)
    if backend is None:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # each refusing backend warns why; the detail line says enough
        try:
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, k, v, is_causal=True)
        except RuntimeError:
            return None


def check_sdpa_backends(device: str) -> str:
    try:
        import torch.nn.attention  # noqa: F401
    except ImportError:
        raise SmokeSkip(f"torch.nn.attention.sdpa_kernel arrived in torch 2.3; this is {torch.__version__}") from None
    dtype = torch.float16 if device == "cuda" else torch.float32  # fused GPU kernels want half precision
    q, k, v = (torch.randn(1, 2, 16, 64).to(dtype) for _ in range(3))
    causal = torch.ones(16, 16, dtype=torch.bool).tril()
    reference = attention(q.double(), k.double(), v.double(), causal)
    available, unavailable = [], []
    for name in SDPA_BACKENDS:
        out = backend_result(name, q.to(device), k.to(device), v.to(device))
        if out is None:
            unavailable.append(name.lower())
            continue
        assert_close(out, reference, f"SDPA backend {name.lower()} in {dtype}", *tolerances(dtype))
        available.append(name.lower())
    if "math" not in available:
        raise SmokeFailure(f"the math SDPA backend refused plain {dtype} inputs on {device}")
    dtype_name = str(dtype).replace("torch.", "")
    return f"{dtype_name} backends available: {', '.join(available)}; unavailable: {', '.join(unavailable) or 'none'}"


def multi_head_by_hand(mha: nn.MultiheadAttention, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    batch, length, dim = x.shape
    heads = mha.num_heads
    q, k, v = F.linear(x, mha.in_proj_weight, mha.in_proj_bias).chunk(3, dim=-1)
    split = lambda t: t.reshape(batch, length, heads, dim // heads).transpose(1, 2)  # noqa: E731
    mixed = attention(split(q), split(k), split(v), mask)
    return mha.out_proj(mixed.transpose(1, 2).reshape(batch, length, dim))


def check_multihead_attention(device: str) -> str:
    mha = nn.MultiheadAttention(embed_dim=16, num_heads=4, batch_first=True).to(device)
    x = torch.randn(2, 6, 16, device=device)
    causal = torch.ones(6, 6, dtype=torch.bool, device=device).tril()
    fused, _ = mha(x, x, x, attn_mask=~causal, need_weights=False)  # nn.MultiheadAttention: True = hidden
    worst = assert_close(fused, multi_head_by_hand(mha, x, causal), "nn.MultiheadAttention vs by hand", RTOL, ATOL)
    return f"4 heads, causal, max abs diff {worst:.2g}"


class TinyEncoder(nn.Module):
    def __init__(self, vocab: int = 16, dim: int = 32) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.position = nn.Parameter(torch.randn(1, 12, dim) * 0.02)
        self.layer = nn.TransformerEncoderLayer(dim, nhead=4, dim_feedforward=64, dropout=0.0, batch_first=True)
        self.head = nn.Linear(dim, vocab)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.layer(self.embed(tokens) + self.position[:, : tokens.shape[1]]))


def check_encoder_training_step(device: str) -> str:
    torch.manual_seed(0)
    model = TinyEncoder()
    reference = TinyEncoder()
    reference.load_state_dict(model.state_dict())
    model.to(device)
    tokens = torch.randint(0, 16, (8, 12))
    targets = tokens.flip(1)  # learn to read the sequence backwards: needs attention across positions
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    losses = []
    for _ in range(40):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(tokens.to(device)).flatten(0, 1), targets.to(device).flatten())
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    first_cpu = F.cross_entropy(reference(tokens).flatten(0, 1), targets.flatten()).item()
    if abs(first_cpu - losses[0]) > 1e-3 * max(1.0, abs(first_cpu)):
        raise SmokeFailure(f"first loss {losses[0]:.5f} on {device}, {first_cpu:.5f} on CPU")
    if not losses[-1] < 0.5 * losses[0]:
        raise SmokeFailure(
            f"encoder loss went from {losses[0]:.3f} to {losses[-1]:.3f} in 40 steps, expected it to halve"
        )
    return f"loss {losses[0]:.2f} -> {losses[-1]:.2f} in 40 AdamW steps (first loss equals CPU's)"

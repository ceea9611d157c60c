"""macOS facts torchlab relies on, with their sources.

Both were carried over from the project's earlier notes and not re-read against their sources in this
revision of the tables (hence the *_VERIFIED flags).
"""

from __future__ import annotations

# torch's MPS backend is enabled on macOS 14 (Sonoma) or later for current releases.
MPS_MIN_MACOS: tuple[int, int] = (14, 0)
MPS_MIN_MACOS_SOURCE = ("https://github.com/pytorch/pytorch/blob/main/RELEASE.md (platform notes: macOS arm64 "
                        "builds for macOS 11+, MPS enabled on macOS 14 (Sonoma) or later)")
MPS_MIN_MACOS_VERIFIED = False

# The last torch minor with macOS x86_64 (Intel) wheels.
MACOS_X86_LAST_TORCH = "2.2"
MACOS_X86_LAST_TORCH_SOURCE = ("https://github.com/pytorch/pytorch/issues/114602 (macOS x86 builds end after 2.2); "
                               "https://github.com/pytorch/pytorch/issues/127870")
MACOS_X86_LAST_TORCH_VERIFIED = False

# MPS arrived in torch 1.12 and needs macOS 12.3 or later (for the torch releases of that time).
MPS_FIRST_TORCH = "1.12"
MPS_FIRST_MACOS: tuple[int, int] = (12, 3)
MPS_FIRST_SOURCE = ("https://pytorch.org/blog/introducing-accelerated-pytorch-training-on-mac/ (MPS in the 1.12 "
                    "previews, macOS 12.3+); pytorch/pytorch.github.io PR #1028 ('Mention that MPS is available in 12.3+')")
MPS_FIRST_VERIFIED = False

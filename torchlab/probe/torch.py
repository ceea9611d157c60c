"""Torch in this interpreter, only when asked (`doctor --torch`): importing it takes seconds."""

from __future__ import annotations

import importlib.util
import warnings

from torchlab.facts import TorchFacts


def probe_torch() -> TorchFacts:
    if importlib.util.find_spec("torch") is None:
        return TorchFacts()
    import torch  # start-up: torch takes seconds to import; only on request

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        available = torch.cuda.is_available()
    init_error = next((str(w.message) for w in caught if "CUDA" in str(w.message)), None)
    mps = getattr(torch.backends, "mps", None)
    return TorchFacts(
        version=torch.__version__,
        cuda_build=torch.version.cuda,
        hip_build=getattr(torch.version, "hip", None),
        arch_list=tuple(torch.cuda.get_arch_list()) if torch.cuda.is_available() or torch.version.cuda else (),
        cuda_available=available,
        device_count=torch.cuda.device_count() if available else 0,
        mps_built=mps.is_built() if mps else None,
        mps_available=mps.is_available() if mps else None,
        init_error=init_error,
    )

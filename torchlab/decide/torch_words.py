"""torch's own words: the warnings and errors torch prints about CUDA, ROCm and GPUs, and what each means.

Pasted reports often carry them ("... with CUDA capability sm_120 is not compatible with the current
PyTorch installation", "The NVIDIA driver on your system is too old (found version 11040)"). Each
pattern below is a sentence torch (or the CUDA/HIP runtime through torch) prints, in the wording of the
releases that printed it; `said_in` finds them in a text, `understood` says what one of them means.
Whitespace between words may be a line break: warnings are wrapped when pasted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_ = r"\s+"  # words of one sentence may sit on two lines of a paste

# kind -> the sentence (a regex with named groups for the facts it carries)
SAYINGS: dict[str, str] = {
    # torch/cuda/__init__.py _check_capability (torch 1.8 on): the GPU is newer than every arch compiled in
    "arch-not-compatible": rf"(?P<name>[^\n]*?){_}with{_}CUDA{_}capability{_}sm_(?P<sm>\d+){_}is{_}not{_}"
                           rf"compatible{_}with{_}the{_}current{_}PyTorch{_}installation\.?",
    "arch-list": rf"The{_}current{_}PyTorch{_}install{_}supports{_}CUDA{_}capabilities{_}"
                 rf"(?P<arches>(?:(?:sm|compute)_\d+a?[ \t]*)+)",
    # _check_capability (torch 1.x-2.x): the GPU is older than the oldest arch compiled in
    "gpu-too-old": rf"Found{_}GPU(?P<index>\d+){_}(?P<name>[^\n]+?){_}which{_}is{_}of{_}cuda{_}capability{_}"
                   rf"(?P<cc>\d+\.\d+)\.?{_}PyTorch{_}no{_}longer{_}supports{_}this{_}GPU{_}because{_}it{_}is{_}too{_}"
                   rf"old\.?(?:{_}The{_}minimum{_}cuda{_}capability{_}(?:that{_}we{_}support{_}is|supported{_}by{_}"
                   rf"this{_}library{_}is){_}(?P<min>\d+\.\d+))?",
    # torch 0.4-1.x: a GPU newer than the CUDA torch was built with
    "gpu-needs-newer-cuda": rf"Found{_}GPU(?P<index>\d+){_}(?P<name>[^\n]+?){_}which{_}requires{_}CUDA_VERSION{_}>={_}"
                            rf"(?P<needs>\d+)",
    "driver-too-old": rf"The{_}NVIDIA{_}driver{_}on{_}your{_}system{_}is{_}too{_}old{_}\(found{_}version{_}(?P<found>\d+)\)",
    "driver-insufficient": rf"CUDA{_}driver{_}version{_}is{_}insufficient{_}for{_}CUDA{_}runtime{_}version",
    "no-driver": rf"Found{_}no{_}NVIDIA{_}driver{_}on{_}your{_}system",
    "init-failed": r"(?:CUDA unknown error[^\n]*|cuda runtime error \(999\)[^\n]*|CUDA error: unknown error"
                   r"|Unexpected error from cudaGetDeviceCount\(\)[^\n]*|CUDA driver initialization failed[^\n]*"
                   r"|CUDA call failed lazily at initialization[^\n]*)",
    "no-kernel-image": rf"no{_}kernel{_}image{_}is{_}available{_}for{_}execution{_}on{_}the{_}device",
    "not-compiled": rf"Torch{_}not{_}compiled{_}with{_}CUDA{_}enabled",
    "hip-no-binary": r"(?:HIP error: invalid device function|hipErrorNoBinaryForGpu[^\n]*"
                     r"|Unable to find code object for all current devices!?)",
    "no-hip-gpus": rf"No{_}HIP{_}GPUs{_}are{_}available",
}
PATTERNS = {kind: re.compile(pattern, re.IGNORECASE if kind == "init-failed" else 0)
            for kind, pattern in SAYINGS.items()}


@dataclass(frozen=True)
class Said:
    """One thing torch said, understood: its kind, its words (one line), the facts in it."""

    kind: str
    text: str
    values: dict[str, str] = field(default_factory=dict)


def said_in(text: str) -> list[tuple[int, int, Said]]:
    """Every saying in a text: (start, end, what was said), in the order they appear."""
    found = []
    for kind, pattern in PATTERNS.items():
        for match in pattern.finditer(text):
            values = {k: v.strip() for k, v in match.groupdict().items() if v}
            found.append((match.start(), match.end(), Said(kind, one_line(match.group(0)), values)))
    return sorted(found, key=lambda item: item[0])


def understood(message: str) -> Said | None:
    """What one of torch's messages (as TorchFacts.messages keeps it) means; None for others."""
    found = said_in(message)
    return found[0][2] if found else None


def one_line(text: str) -> str:
    """The words of a message on one line, without torch's "(Triggered internally at ...)"."""
    text = re.sub(r"\s*\(Triggered internally at [^)]*\)?", "", text)
    return re.sub(r"\s+", " ", text).strip()


def capability_of(sm: str) -> str:
    """'120' -> '12.0', '86' -> '8.6'."""
    return f"{int(sm[:-1])}.{sm[-1]}"


def driver_cuda(found: str) -> str:
    """torch's "found version 11040" -> "11.4" (CUDA packs major * 1000 + minor * 10)."""
    packed = int(found)
    return f"{packed // 1000}.{packed % 1000 // 10}"

"""What each torch release was built for: CUDA/ROCm builds, compiled GPU architectures, PyPI's build.

Four tables, all for the Linux x86_64 wheels:

* TORCH_RELEASES   the CUDA and ROCm builds of each torch minor release (1.0 on).
* CUDA_ARCH_LISTS  TORCH_CUDA_ARCH_LIST of each (torch minor, CUDA) wheel, verbatim from the build
                   script of the time ("7.5;8.0;...;12.0+PTX"); to_arch_list() turns it into what
                   torch.cuda.get_arch_list() reports (['sm_75', ..., 'sm_120', 'compute_120']).
                   Windows wheels (builder windows/cuda*.bat), conda packages and aarch64 wheels were
                   built from other lists; none of those is tabled here (docs/COMPAT.md, section 3).
* ROCM_TARGETS     the gfx targets (PYTORCH_ROCM_ARCH) of each ROCm build.
* PYPI_CUDA_BUILDS which CUDA build a plain `pip install torch==X` gets from PyPI on Linux x86_64.

torch.cuda.get_arch_list() exists from torch 1.7; for older releases the arch list is the same
notation for what the wheel was compiled with.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from torchlab.knowledge.cuda_drivers import _major_minor

# --- sources ---------------------------------------------------------------------------------------
PREVIOUS_VERSIONS = ("pytorch/pytorch.github.io _get_started/previous-versions.md@04862e376ea686ba351674864400db1d93113979 "
                     "(https://pytorch.org/get-started/previous-versions/)")
PREVIOUS_VERSIONS_23 = ("pytorch/pytorch.github.io _get_started/previous-versions.md@e3f009bbc0d7509ed5c85b633313ec72aa2d1a40 "
                        "(https://pytorch.org/get-started/previous-versions/)")
PREVIOUS_VERSIONS_LIVE = "https://pytorch.org/get-started/previous-versions/ (2.4 and later sections)"
RELEASE_MD = "pytorch/pytorch RELEASE.md@aa6104e2a21e72f83ce217ea93e8e69884e22b04 (Release Compatibility Matrix, 1.12-2.3)"
RELEASE_MD_LIVE = "https://github.com/pytorch/pytorch/blob/main/RELEASE.md (Release Compatibility Matrix, 2.4 on)"
MATRIX_18 = "pytorch/pytorch .github/scripts/generate_binary_build_matrix.py@c7093ba8d2688de4c3c4fdc23485fded07e72670"
MATRIX_27 = "pytorch/pytorch .github/scripts/generate_binary_build_matrix.py@00018c9487224886f1c839167a56f4471ab1ebc4"
MATRIX_HISTORY = "https://github.com/pytorch/pytorch/commits/main/.github/scripts/generate_binary_build_matrix.py"
BUILDER_HISTORY = "https://github.com/pytorch/builder/commits/main/manywheel/build_cuda.sh"
BUILDER_20 = "pytorch/builder manywheel/build_cuda.sh@009ed170cd2b5f504c174ee3dda6a3c6a356a6ee"
PT_28 = "pytorch/pytorch .ci/manywheel/build_cuda.sh@00c7a380b8369d08e02dd400aa76dc6c0738b589"
PT_29 = "pytorch/pytorch .ci/manywheel/build_cuda.sh@799d09f215740cc4fb78e0bd278dce469e33ddcb"
PT_TAGGED = "https://github.com/pytorch/pytorch/blob/v{}/.ci/manywheel/build_cuda.sh"
ROCM_DOCKER_HISTORY = ("https://github.com/pytorch/builder/commits/main/manywheel/build_docker.sh, later "
                       "https://github.com/pytorch/pytorch/commits/main/.ci/docker/manywheel/build.sh (PYTORCH_ROCM_ARCH)")
PIP_DOWNLOAD = ("pip download --no-deps torch=={} --platform manylinux_2_28_x86_64 --python-version 3.11 "
                "--only-binary=:all: from PyPI on 2026-12-01: torch/version.py and METADATA read in the wheel")
UV_AMD = ("astral-sh/uv crates/uv-torch/src/backend.rs, LINUX_AMD_GPU_DRIVERS (torch.cuda.get_arch_list() of each "
          "ROCm wheel): https://github.com/astral-sh/uv/blob/main/crates/uv-torch/src/backend.rs")


# --- releases --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class TorchRelease:
    minor: str  # "2.13"
    cuda_stable: tuple[str, ...]  # CUDA versions with Linux x86_64 wheels ("stable" in RELEASE.md's terms)
    cuda_experimental: tuple[str, ...]  # wheels RELEASE.md calls experimental
    rocm: tuple[str, ...]  # ROCm versions with Linux wheels
    source: str
    verified: bool = True
    note: str = ""

    @property
    def cuda(self) -> tuple[str, ...]:
        return self.cuda_stable + self.cuda_experimental


_R = TorchRelease
TORCH_RELEASES: tuple[TorchRelease, ...] = (
    _R("2.14", ("12.6", "13.0", "13.2"), (), (), RELEASE_MD_LIVE, False,
       "pre-release row of the matrix; its ROCm cell read 'ROCm 7.14' (probably a typo), left empty here"),
    _R("2.13", ("12.6", "13.0"), ("13.2",), ("7.2",), RELEASE_MD_LIVE, False,
       "a reading of the v2.13.0 build matrix also lists 12.9 in CUDA_ARCHES; not confirmed as published wheels"),
    _R("2.12", ("12.6", "13.0"), ("13.2",), ("7.2",), f"{RELEASE_MD_LIVE}; {MATRIX_HISTORY}", False,
       "build matrix of the 2.12 cycle: CUDA_ARCHES = ['12.6', '13.0', '13.2'] (read through a copy); cu128/cu129 gone"),
    _R("2.11", ("12.6", "12.8", "13.0"), (), ("7.2",), RELEASE_MD_LIVE, False,
       "RELEASE.md row not re-read in this revision of the table; no 2.11 build matrix read"),
    _R("2.10", ("12.6", "12.8"), ("13.0",), ("7.0", "7.1"), f"{RELEASE_MD_LIVE}; {MATRIX_HISTORY}", True,
       "the build matrix of the 2.10 cycle has ROCM_ARCHES = ['7.0', '7.1'] and CUDA 12.6/12.8/12.9/13.0; "
       "RELEASE.md names ROCm 7.1 as the stable one"),
    _R("2.9", ("12.6", "12.8"), ("13.0",), ("6.4",), f"{RELEASE_MD_LIVE}; {PREVIOUS_VERSIONS_LIVE}"),
    _R("2.8", ("12.6", "12.8"), ("12.9",), ("6.3", "6.4"), RELEASE_MD_LIVE, False,
       "ROCm 6.3 wheels for 2.8 not confirmed; RELEASE.md names 6.4"),
    _R("2.7", ("11.8", "12.6"), ("12.8",), ("6.2.4", "6.3"), f"{RELEASE_MD_LIVE}; {MATRIX_27}"),
    _R("2.6", ("11.8", "12.4"), ("12.6",), ("6.1", "6.2.4"), f"{RELEASE_MD_LIVE}; {PREVIOUS_VERSIONS_LIVE}"),
    _R("2.5", ("11.8", "12.1", "12.4"), (), ("6.1", "6.2"), f"{RELEASE_MD_LIVE}; {PREVIOUS_VERSIONS_LIVE}", False,
       "CUDA set seen on previous-versions (conda commands); ROCm 6.1 wheels for 2.5 not confirmed, RELEASE.md names 6.2"),
    _R("2.4", ("11.8", "12.1"), ("12.4",), ("6.0", "6.1"), RELEASE_MD_LIVE, False,
       "ROCm 6.0 wheels for 2.4 not confirmed; RELEASE.md names 6.1"),
    _R("2.3", ("11.8",), ("12.1",), ("6.0",), f"{RELEASE_MD}; {PREVIOUS_VERSIONS_23}"),
    _R("2.2", ("11.8",), ("12.1",), ("5.6", "5.7"), f"{RELEASE_MD}; {PREVIOUS_VERSIONS_23}",
       note="previous-versions lists ROCm 5.6 for 2.2.0 and 5.7 for 2.2.1/2.2.2"),
    _R("2.1", ("11.8",), ("12.1",), ("5.6",), f"{RELEASE_MD}; {PREVIOUS_VERSIONS_23}"),
    _R("2.0", ("11.7",), ("11.8",), ("5.4.2",), f"{RELEASE_MD}; {PREVIOUS_VERSIONS}"),
    _R("1.13", ("11.6",), ("11.7",), ("5.2",), f"{RELEASE_MD}; {PREVIOUS_VERSIONS}"),
    _R("1.12", ("10.2", "11.3"), ("11.6",), ("5.1.1",), f"{RELEASE_MD}; {PREVIOUS_VERSIONS}",
       note="RELEASE.md names 11.3 stable and 11.6 experimental; the 10.2 wheels also shipped (and went to PyPI)"),
    _R("1.11", ("10.2", "11.3"), ("11.5",), ("4.5.2",), PREVIOUS_VERSIONS, False,
       "cu115 wheels (listed by download indexes, not by previous-versions) are filed as experimental"),
    _R("1.10", ("10.2", "11.1", "11.3"), (), ("4.0.1", "4.1", "4.2"), PREVIOUS_VERSIONS, False,
       "previous-versions shows cu111 pip wheels and conda cudatoolkit 11.3 for 1.10; the cu113 wheels are not on it"),
    _R("1.9", ("10.2", "11.1"), (), ("4.0.1", "4.1", "4.2"), PREVIOUS_VERSIONS),
    _R("1.8", ("10.1", "10.2", "11.1"), (), ("3.10", "4.0.1"), f"{PREVIOUS_VERSIONS}; {MATRIX_18}",
       note="cu101 and ROCm 3.10 wheels are listed for 1.8.1 only"),
    _R("1.7", ("9.2", "10.1", "10.2", "11.0"), (), (), PREVIOUS_VERSIONS),
    _R("1.6", ("9.2", "10.1", "10.2"), (), (), PREVIOUS_VERSIONS),
    _R("1.5", ("9.2", "10.1", "10.2"), (), (), PREVIOUS_VERSIONS),
    _R("1.4", ("9.2", "10.1"), (), (), PREVIOUS_VERSIONS,
       note="download indexes also carry torch-1.4.0+cu100 wheels; previous-versions does not list them"),
    _R("1.3", ("9.2", "10.0", "10.1"), (), (), "https://download.pytorch.org/whl/torch_stable.html", False,
       "1.3 is missing from the previous-versions page revision read; CUDA set from the wheel index names, not re-read"),
    _R("1.2", ("9.2", "10.0"), (), (), PREVIOUS_VERSIONS),
    _R("1.1", ("9.0", "10.0"), (), (), PREVIOUS_VERSIONS),
    _R("1.0", ("8.0", "9.0", "10.0"), (), (), PREVIOUS_VERSIONS, note="1.0.1 dropped the CUDA 8.0 wheels"),
)


# --- CUDA arch lists -------------------------------------------------------------------------------
@dataclass(frozen=True)
class CudaArchList:
    torch: tuple[str, ...]  # torch minors this list holds for
    cuda: str  # "12.8"
    arch_list: str  # TORCH_CUDA_ARCH_LIST as the Linux x86_64 wheel build set it
    source: str
    verified: bool = True
    note: str = ""


_A = CudaArchList
_K_OLD = "3.5;5.0+PTX"  # builder manywheel/build.sh 2018-2019: the base every CUDA version extended
_OLD_BUILDER = ("pytorch/builder manywheel/build.sh (2018-2019 revisions: TORCH_CUDA_ARCH_LIST=\"3.5;5.0+PTX\" plus "
                f"per-CUDA entries; commit not recorded); {BUILDER_HISTORY}")
_K37 = ("https://github.com/pytorch/builder/commit/2aac90bd723dfbb3dc7728152bf0e6877ec4da16 (2019-10-30: binaries "
        "build 3.7 instead of 3.5, see https://github.com/pytorch/pytorch/issues/24205)")
_BUILDER_17 = (f"pytorch/builder manywheel/build_cuda.sh revision with cases 11.* (+7.5;8.0), 10.* (+7.5), 9.* "
               f"(commit not recorded); {BUILDER_HISTORY}")
_PR587 = "https://github.com/pytorch/builder/pull/587 (diff context: 11.0 -> +7.5;8.0, 11.1 -> +7.5;8.0;8.6)"
_PR668 = "https://github.com/pytorch/builder/pull/668 (2021-02-26, 'manywheel: Drop 7.5 for CUDA 10.2')"
_BUILDER_111 = (f"pytorch/builder manywheel/build_cuda.sh revision with cases 11.[35] (+7.5;8.0;8.6), 10.* (base) "
                f"(commit not recorded); {BUILDER_HISTORY}")
_BUILDER_23 = (f"pytorch/builder manywheel/build_cuda.sh revision with base 5.0;6.0;7.0;7.5;8.0;8.6 and cases "
               f"12.4, 12.1 (+9.0), 11.8 (+3.7;9.0), 11.[67] (+3.7) (commit not recorded); {BUILDER_HISTORY}")
_OBS_19 = "https://github.com/lucasxlu/ComboLoss/issues/3 (torch.cuda.get_arch_list() of 1.9.0+cu111)"
_OBS_110 = "https://github.com/andreimargeloiu/WPFS/issues/3 (torch 1.10.1 from PyPI reports sm_37 sm_50 sm_60 sm_70)"
_OBS_27 = ("https://github.com/EutropicAI/vs-playground/pull/59 (2.7.1+cu128 has no sm_70; 2.8 brought it back, "
           "https://github.com/pytorch/pytorch/issues/157517)")
_THIRD_PARTY_TAGGED = "read through third-party copies of the tagged script; not checked against the tag itself"

_L10 = "3.7;5.0;6.0;7.0"  # 1.8-1.12: CUDA 10.x wheels (7.5 dropped by builder PR #668)
_L11 = "3.7;5.0;6.0;7.0;7.5;8.0;8.6"  # CUDA 11.1-11.7 wheels
_L118 = "5.0;6.0;7.0;7.5;8.0;8.6;3.7;9.0"  # CUDA 11.8 wheels from 2.1 on
_L12 = "5.0;6.0;7.0;7.5;8.0;8.6;9.0"  # CUDA 12.1-12.6 wheels

CUDA_ARCH_LISTS: tuple[CudaArchList, ...] = (
    # 1.0 - 1.2: Kepler 3.5 with Maxwell PTX
    _A(("1.0",), "8.0", f"{_K_OLD};6.0;6.1", _OLD_BUILDER, False, "torch 1.0.0 only"),
    _A(("1.0", "1.1"), "9.0", f"{_K_OLD};6.0;7.0", _OLD_BUILDER, False, "builder revision of the 1.0 era, commit not pinned"),
    _A(("1.2",), "9.2", f"{_K_OLD};6.0;6.1;7.0", _OLD_BUILDER, False, "builder revision of the 1.0 era, assumed for 1.2"),
    _A(("1.0", "1.1", "1.2"), "10.0", f"{_K_OLD};6.0;6.1;7.0;7.5", _OLD_BUILDER, False,
       "10.0 entry as in the conda recipe of the same builder revisions"),
    # 1.3 - 1.6: 3.7 replaces 3.5 (the exact 1.3/1.4 lists were not read)
    _A(("1.3", "1.4", "1.5", "1.6"), "9.2", "3.7;5.0;6.0;7.0", f"{_BUILDER_17}; {_K37}", False,
       "list of the 1.7-era script; 1.3 sits across the 3.5 -> 3.7 switch"),
    _A(("1.3",), "10.0", "3.7;5.0;6.0;7.0;7.5", f"{_BUILDER_17}; {_K37}", False,
       "list of the 1.7-era script; 1.3 sits across the 3.5 -> 3.7 switch"),
    _A(("1.3", "1.4", "1.5", "1.6"), "10.1", "3.7;5.0;6.0;7.0;7.5", f"{_BUILDER_17}; {_K37}", False,
       "list of the 1.7-era script, assumed for 1.3-1.6"),
    _A(("1.5", "1.6"), "10.2", "3.7;5.0;6.0;7.0;7.5", f"{_BUILDER_17}; {_PR668}", False,
       "list of the 1.7-era script, assumed for 1.5-1.6"),
    # 1.7: CUDA 11.0 arrives; 10.x still carries 7.5
    _A(("1.7",), "9.2", "3.7;5.0;6.0;7.0", _BUILDER_17),
    _A(("1.7",), "10.1", "3.7;5.0;6.0;7.0;7.5", _BUILDER_17),
    _A(("1.7",), "10.2", "3.7;5.0;6.0;7.0;7.5", f"{_BUILDER_17}; {_PR668}"),
    _A(("1.7",), "11.0", "3.7;5.0;6.0;7.0;7.5;8.0", f"{_BUILDER_17}; {_PR587}"),
    # 1.8 - 1.12: 7.5 dropped from the 10.x wheels (PyPI size limit); 11.x gets 8.6
    _A(("1.8",), "10.1", _L10, f"{_PR668}; {BUILDER_HISTORY}", False,
       "the 10.* case of the 1.8-era script (read through a copy), shared with 10.2"),
    _A(("1.8", "1.9", "1.10", "1.11", "1.12"), "10.2", _L10, f"{_PR668}; {_OBS_110}; {_BUILDER_111}"),
    _A(("1.8", "1.9", "1.10"), "11.1", _L11, f"{_PR587}; {_OBS_19}"),
    _A(("1.10", "1.11", "1.12"), "11.3", _L11, _BUILDER_111),
    _A(("1.11",), "11.5", _L11, _BUILDER_111),
    _A(("1.12", "1.13"), "11.6", _L11, f"{BUILDER_20} (11.[67] case); {BUILDER_HISTORY}", False,
       "from the 11.[3567] / 11.[67] cases of the 1.12-2.0 scripts (read through copies for 1.12/1.13)"),
    _A(("1.13", "2.0"), "11.7", _L11, f"{BUILDER_20} (11.[67] case)", True,
       "1.13 assumed from the same case as 2.0"),
    _A(("2.0",), "11.8", "3.7;5.0;6.0;7.0;7.5;8.0;8.6;9.0", BUILDER_20),
    # 2.1 - 2.7: Kepler only in the 11.8 wheels; CUDA 12 starts at Maxwell
    _A(("2.1", "2.2", "2.3", "2.4", "2.5", "2.6", "2.7"), "11.8", _L118, _BUILDER_23, False,
       "same set as 2.0 (3.7, 5.0-9.0), order from the 2.3-era script; 2.6/2.7 from third-party copies of the tags"),
    _A(("2.1", "2.2", "2.3", "2.4", "2.5"), "12.1", _L12, _BUILDER_23, False,
       "read from the 2.3-era script; 2.1/2.2/2.4/2.5 assumed"),
    _A(("2.4", "2.5", "2.6"), "12.4", _L12, f"{_BUILDER_23}; {PT_TAGGED.format('2.6.0')}", False,
       "one nightly-era revision read 12.4 as 9.0+PTX; third-party copies of the 2.5/2.6 tags read 9.0"),
    _A(("2.6", "2.7"), "12.6", _L12, PT_TAGGED.format("2.7.0"), False, _THIRD_PARTY_TAGGED),
    _A(("2.7",), "12.8", "7.5;8.0;8.6;9.0;10.0;12.0+PTX", f"{PT_TAGGED.format('2.7.0')}; {_OBS_27}", True,
       "get_arch_list of 2.7 cu128 observed as ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120', 'compute_120']"),
    # 2.8 - 2.10 (scripts read at their commits)
    _A(("2.8", "2.9", "2.10"), "12.6", _L12, f"{PT_28}; {PT_29}"),
    _A(("2.8", "2.9", "2.10"), "12.8", "7.0;7.5;8.0;8.6;9.0;10.0;12.0", f"{PT_28}; {PT_29}", True,
       "sm_70 kept for 12.8 (https://github.com/pytorch/pytorch/issues/157517); no PTX"),
    _A(("2.8",), "12.9", "7.0;7.5;8.0;8.6;9.0;10.0;12.0+PTX", PT_28),
    _A(("2.9", "2.10"), "13.0", "7.5;8.0;8.6;9.0;10.0;12.0+PTX", PT_29, True,
       "x86_64; the aarch64 wheel adds 11.0 and drops everything below 8.0 and 8.6"),
    # 2.11 - 2.13 (third-party readings of the tagged scripts)
    _A(("2.11", "2.12", "2.13"), "12.6", _L12, PT_TAGGED.format("2.11.0"), False, _THIRD_PARTY_TAGGED),
    _A(("2.11",), "12.8", "7.5;8.0;8.6;9.0;10.0;12.0", f"{PT_TAGGED.format('2.11.0')}; "
       "https://github.com/pytorch/pytorch/issues/172352", False, f"Volta dropped from cu128 in 2.11; {_THIRD_PARTY_TAGGED}"),
    _A(("2.11", "2.12"), "13.0", "7.5;8.0;8.6;9.0;10.0;12.0", PT_TAGGED.format("2.11.0"), False,
       "release wheels without PTX, as 2.13's; RELEASE.md's support table says '12.0+PTX (Linux only)' for cu130: "
       f"the sources disagree; {_THIRD_PARTY_TAGGED}"),
    _A(("2.13",), "13.0", "7.5;8.0;8.6;9.0;10.0;12.0",
       f"{PIP_DOWNLOAD.format('2.13.0')}; "
       "https://github.com/pytorch/pytorch/blob/v2.13.0/.ci/manywheel/build_env_setup.py", True,
       "observed: torch.cuda.get_arch_list() of PyPI's 2.13.0 (the cu130 build), installed in the cuda-13.0 lab "
       "image, is ['sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120']: no PTX (_ptx_arches() is empty for "
       "release builds), though RELEASE.md's support table says '12.0+PTX (Linux only)'"),
    _A(("2.12", "2.13"), "13.2", "7.5;8.0;8.6;9.0;10.0;12.0", RELEASE_MD_LIVE, False,
       "RELEASE.md support table gives cu132 the cu130 architectures; PTX as for cu130 (unconfirmed)"),
)


# --- ROCm gfx targets ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RocmTargets:
    rocm: str  # "6.2.4"
    gfx: tuple[str, ...]
    torch: tuple[str, ...]  # torch minors with wheels for this ROCm
    source: str
    verified: bool = True
    note: str = ""


_GFX_4 = ("gfx900", "gfx906", "gfx908")
_GFX_43 = _GFX_4 + ("gfx90a", "gfx1030")
_GFX_56 = _GFX_43 + ("gfx1100",)
_GFX_624 = ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1101", "gfx1102",
            "gfx1200", "gfx1201")
_ROCM_4 = (f"pytorch/builder manywheel/build_docker.sh revision: PYTORCH_ROCM_ARCH=\"gfx900;gfx906;gfx908\", plus "
           f"gfx90a;gfx1030 for ROCm >= 4.3 (commit not recorded); {ROCM_DOCKER_HISTORY}")
_ROCM_56 = (f"pytorch/builder manywheel/build_docker.sh revision: PYTORCH_ROCM_ARCH=\"gfx900;gfx906;gfx908;gfx90a;"
            f"gfx1030;gfx1100\", plus gfx942 for ROCm >= 6.0 (commit not recorded); {ROCM_DOCKER_HISTORY}")

ROCM_TARGETS: tuple[RocmTargets, ...] = (
    RocmTargets("7.2", _GFX_624[:5] + ("gfx950",) + _GFX_624[5:9] + ("gfx1150", "gfx1151") + _GFX_624[9:],
                ("2.11", "2.12", "2.13"), UV_AMD,
                note="the docker build script of release/2.13 also names gfx1103 in PYTORCH_ROCM_ARCH; the wheels' "
                     "get_arch_list (uv) does not show it"),
    RocmTargets("7.1", _GFX_624[:5] + ("gfx950",) + _GFX_624[5:], ("2.10",), UV_AMD),
    RocmTargets("7.0", _GFX_624[:5] + ("gfx950",) + _GFX_624[5:], ("2.10",), UV_AMD),
    RocmTargets("6.4", _GFX_624, ("2.8", "2.9"), UV_AMD),
    RocmTargets("6.3", _GFX_624, ("2.7", "2.8"), UV_AMD),
    RocmTargets("6.2.4", _GFX_624, ("2.6", "2.7"), UV_AMD),
    RocmTargets("6.2", ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"), ("2.5",), UV_AMD),
    RocmTargets("6.1", ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100", "gfx1101"),
                ("2.4", "2.5", "2.6"), UV_AMD),
    RocmTargets("6.0", ("gfx900", "gfx906", "gfx908", "gfx90a", "gfx942", "gfx1030", "gfx1100"), ("2.3", "2.4"),
                f"{UV_AMD}; {_ROCM_56}"),
    RocmTargets("5.7", _GFX_56, ("2.2",), _ROCM_56),
    RocmTargets("5.6", _GFX_56, ("2.1", "2.2"), _ROCM_56),
    RocmTargets("5.4.2", _GFX_43, ("2.0",), _ROCM_4, False,
                "gfx1100 arrived with the ROCm 5.5+ images; 5.4.2 assumed to have the 4.3-5.x list"),
    RocmTargets("5.2", _GFX_43, ("1.13",), _ROCM_4, False, "assumed from the ROCm >= 4.3 case"),
    RocmTargets("5.1.1", _GFX_43, ("1.12",), _ROCM_4, False, "assumed from the ROCm >= 4.3 case"),
    RocmTargets("4.5.2", _GFX_43, ("1.11",), _ROCM_4),
    RocmTargets("4.2", _GFX_4, ("1.9", "1.10"), _ROCM_4),
    RocmTargets("4.1", _GFX_4, ("1.9", "1.10"), _ROCM_4),
    RocmTargets("4.0.1", _GFX_4, ("1.8", "1.9", "1.10"), _ROCM_4),
    RocmTargets("3.10", _GFX_4, ("1.8",), _ROCM_4, False,
                "ROCm 3.x images may also have built gfx803; not read"),
)


# --- PyPI ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PypiBuild:
    torch: str  # torch minor
    cuda: str  # the CUDA version of the Linux x86_64 wheel on PyPI
    source: str
    verified: bool = True
    note: str = ""

    @property
    def index(self) -> str:
        return "cu" + self.cuda.replace(".", "")


_P = PypiBuild
PYPI_CUDA_BUILDS: tuple[PypiBuild, ...] = (
    _P("2.14", "13.0", PIP_DOWNLOAD.format("2.14.0"), True,
       "torch-2.14.0-cp311-cp311-manylinux_2_28_x86_64.whl: __version__ '2.14.0+cu130', cuda '13.0'; requires "
       "cuda-toolkit[...]==13.0.3 (an announced move to 13.2, pytorch/pytorch#190385, did not happen in 2.14.0)"),
    _P("2.13", "13.0", f"{PIP_DOWNLOAD.format('2.13.0')}; "
       "https://github.com/pytorch/pytorch/blob/v2.13.0/.github/scripts/generate_binary_build_matrix.py (CUDA_STABLE)",
       True, "torch-2.13.0-cp311-cp311-manylinux_2_28_x86_64.whl (sha256 60fcdcb2f3876e21...): __version__ "
       "'2.13.0+cu130', cuda '13.0'; requires cuda-toolkit[cublas,cudart,...]==13.0.3, nvidia-cudnn-cu13==9.20.0.48"),
    _P("2.12", "13.0", PIP_DOWNLOAD.format("2.12.0"), True,
       "__version__ '2.12.0+cu130', cuda '13.0'; requires cuda-toolkit[...]==13.0.2 and nvidia-cublas>=13.1.0.3"),
    _P("2.11", "13.0", f"{PIP_DOWNLOAD.format('2.11.0')}; https://github.com/pytorch/pytorch/releases/tag/v2.11.0", True,
       "__version__ '2.11.0+cu130', cuda '13.0'; the first CUDA-13 PyPI wheel (2.10's is cu128): CUDA-12-only "
       "drivers need the cu126/cu128 index"),
    _P("2.10", "12.8", f"{PIP_DOWNLOAD.format('2.10.0')}; {MATRIX_HISTORY}", True,
       "pip takes the re-uploaded build 3 (torch-2.10.0-3-cp311-...): __version__ '2.10.0+cu128', cuda '12.8'; "
       "requires nvidia-cuda-runtime-cu12==12.8.90"),
    _P("2.9", "12.8", f"{MATRIX_HISTORY}; https://pypi.org/project/torch/2.9.1/", True,
       "CUDA_STABLE = \"12.8\" in the 2.9-cycle matrix; torch 2.9.1 requires nvidia-cuda-runtime-cu12==12.8.90"),
    _P("2.8", "12.8", RELEASE_MD_LIVE, False, "not read; 2.8's default moved from 12.6 to 12.8"),
    _P("2.7", "12.6", MATRIX_27, True, "CUDA_STABLE = \"12.6\"; the 12.6 extra requirements pin nvidia-cuda-runtime-cu12==12.6.77"),
    _P("2.6", "12.4", MATRIX_HISTORY, False,
       "the 2.6-cycle matrix (CUDA 11.8/12.4/12.6) builds its Colab and aarch64 wheels from 12.4"),
    _P("2.5", "12.4", RELEASE_MD_LIVE, False, "not read from a 2.5 matrix"),
    _P("2.4", "12.1", "https://pypi.org/project/torch/2.4.1/", False,
       "nvidia-cuda-runtime-cu12==12.1.105 in 2.4.1's requirements (seen in a third-party test, not re-read)"),
    _P("2.3", "12.1", RELEASE_MD, False, "same 12.1 requirement set as 2.1/2.2 assumed"),
    _P("2.2", "12.1", "https://pypi.org/project/torch/2.2.0/", True,
       "pip reports 'torch 2.2.0 requires nvidia-cuda-runtime-cu12==12.1.105'"),
    _P("2.1", "12.1", f"https://pypi.org/project/torch/2.1.0/; {MATRIX_HISTORY}", True,
       "pip reports 'torch 2.1.0 requires nvidia-cuda-runtime-cu12==12.1.105'; the 2.1-cycle matrix pins the 12.1 set"),
    _P("2.0", "11.7", PREVIOUS_VERSIONS, True, "'Linux CUDA 11.7: pip install torch==2.0.1' (no index URL)"),
    _P("1.13", "11.7", PREVIOUS_VERSIONS, True, "'Linux CUDA 11.7: pip install torch==1.13.1' (no index URL)"),
    _P("1.12", "10.2", PREVIOUS_VERSIONS, False, "PyPI kept CUDA 10.2 until 1.13; not read from 1.12 metadata"),
    _P("1.11", "10.2", PREVIOUS_VERSIONS, False, "PyPI kept CUDA 10.2 until 1.13; not read from 1.11 metadata"),
    _P("1.10", "10.2", _OBS_110, True, "a plain torch==1.10.1 reports the cu102 arch list (sm_37 ... sm_70)"),
    _P("1.9", "10.2", _PR668, False, "'We currently only publish CUDA 10.2 on PyPI' (2021-03); not read for 1.9"),
    _P("1.8", "10.2", f"{PREVIOUS_VERSIONS}; {_PR668}", True, "'# CUDA 10.2: pip install torch==1.8.0'"),
    _P("1.7", "10.2", PREVIOUS_VERSIONS, True, "'# CUDA 10.2: pip install torch==1.7.1'"),
    _P("1.6", "10.2", PREVIOUS_VERSIONS, True, "'# CUDA 10.2: pip install torch==1.6.0'"),
    _P("1.5", "10.2", PREVIOUS_VERSIONS, True, "'# CUDA 10.2: pip install torch==1.5.1'"),
    _P("1.4", "10.1", PREVIOUS_VERSIONS, True, "'# CUDA 10.1: pip install torch==1.4.0'"),
    _P("1.3", "10.1", "https://pypi.org/project/torch/1.3.1/", False, "not read"),
    _P("1.2", "10.0", PREVIOUS_VERSIONS, True, "'# CUDA 10.0: pip install torch==1.2.0'"),
    _P("1.1", "10.0", "https://pypi.org/project/torch/1.1.0/", False,
       "previous-versions only points at download.pytorch.org for 1.1; not read"),
    _P("1.0", "9.0", "https://pypi.org/project/torch/1.0.1/", False,
       "previous-versions only points at download.pytorch.org for 1.0; not read"),
)


# --- lookups ---------------------------------------------------------------------------------------
def parse_torch_version(version: str) -> tuple[str, str | None]:
    """'2.6.0+cu126' -> ('2.6', 'cu126'); '1.5.0' -> ('1.5', None); '2.10.0a0+git1234' -> ('2.10', 'git1234')."""
    text = version.strip()
    base, _, local = text.partition("+")
    numbers = re.findall(r"\d+", base)[:2]
    minor = ".".join(str(int(n)) for n in numbers) if len(numbers) == 2 else ""
    return minor, (local.lower() or None)


def torch_release(torch_version: str) -> TorchRelease | None:
    minor, _ = parse_torch_version(torch_version)
    return next((release for release in TORCH_RELEASES if release.minor == minor), None)


def cuda_builds(torch_version: str) -> tuple[str, ...]:
    """All CUDA versions with Linux x86_64 wheels for the release ('2.6.0' -> ('11.8', '12.4', '12.6'))."""
    release = torch_release(torch_version)
    return release.cuda if release else ()


def pypi_cuda_build(torch_version: str) -> str | None:
    """The index tag of the CUDA build a plain `pip install torch==X` gets on Linux x86_64 ('2.13.0' -> 'cu130')."""
    minor, _ = parse_torch_version(torch_version)
    row = next((row for row in PYPI_CUDA_BUILDS if row.torch == minor), None)
    return row.index if row else None


def arch_list_row(torch_version: str, cuda: str | None = None) -> CudaArchList | None:
    """The arch-list row of a torch CUDA wheel. The CUDA version comes from `cuda` ('12.6', 'cu126', '12.6.3'),
    else from the version's local tag ('2.6.0+cu126'), else (a plain '1.5.0') from the PyPI build of that release.
    A '+cpu' or '+rocm...' version has no CUDA arch list: None."""
    minor, local = parse_torch_version(torch_version)
    if cuda:
        wanted = _major_minor(cuda)
    elif local and re.fullmatch(r"cu\d+", local):
        wanted = _major_minor(local)
    elif local and not local.startswith("git"):
        return None
    else:
        pypi = pypi_cuda_build(minor)
        wanted = _major_minor(pypi) if pypi else ""
    return next((row for row in CUDA_ARCH_LISTS if minor in row.torch and row.cuda == wanted), None)


def to_arch_list(torch_cuda_arch_list: str) -> tuple[str, ...]:
    """'7.5;8.0;12.0+PTX' -> ('sm_75', 'sm_80', 'sm_120', 'compute_120'): torch.cuda.get_arch_list()'s notation,
    the SASS targets in list order, then the PTX ones."""
    sass, ptx = [], []
    for entry in filter(None, (e.strip() for e in re.split(r"[;\s]+", torch_cuda_arch_list))):
        version, _, suffix = entry.partition("+")
        code = version.replace(".", "")
        sass.append(f"sm_{code}")
        if suffix.upper() == "PTX":
            ptx.append(f"compute_{code}")
    return tuple(sass + ptx)


def arch_list(torch_version: str, cuda: str | None = None) -> tuple[str, ...] | None:
    """What torch.cuda.get_arch_list() reports for the Linux x86_64 wheel, or None when not known.

    arch_list('2.7.0+cu128') -> ('sm_75', 'sm_80', 'sm_86', 'sm_90', 'sm_100', 'sm_120', 'compute_120');
    arch_list('1.8.1', '10.2') and arch_list('1.8.1+cu102') -> ('sm_37', 'sm_50', 'sm_60', 'sm_70')."""
    row = arch_list_row(torch_version, cuda)
    return to_arch_list(row.arch_list) if row else None


def _arch_number(arch: str) -> tuple[int, int]:
    code = arch.split("_", 1)[1]
    return int(code[:-1]), int(code[-1])


def sm_capabilities(arches: tuple[str, ...]) -> tuple[str, ...]:
    """('sm_75', 'sm_120', 'compute_120') -> ('7.5', '12.0')."""
    return tuple("{}.{}".format(*_arch_number(a)) for a in arches if a.startswith("sm_"))


def ptx_capabilities(arches: tuple[str, ...]) -> tuple[str, ...]:
    """('sm_75', 'sm_120', 'compute_120') -> ('12.0',)."""
    return tuple("{}.{}".format(*_arch_number(a)) for a in arches if a.startswith("compute_"))


def capability_supported(capability: str, arches: tuple[str, ...]) -> bool:
    """Whether a GPU of compute capability '8.9' runs a wheel with these arches: a SASS build of the same
    major and no higher minor runs (binary compatibility within a major), and PTX JIT-compiles for any
    GPU at or above its capability."""
    numbers = re.findall(r"\d+", capability)[:2]
    if len(numbers) != 2:
        return False
    cc = (int(numbers[0]), int(numbers[1]))
    for arch in arches:
        major, minor = _arch_number(arch)
        if arch.startswith("sm_") and major == cc[0] and minor <= cc[1]:
            return True
        if arch.startswith("compute_") and (major, minor) <= cc:
            return True
    return False


def rocm_gfx(rocm: str) -> tuple[str, ...] | None:
    """gfx targets of torch's ROCm wheels for a ROCm version: '6.2.4', 'rocm6.3', '6.3.42131' (HIP runtime
    version as collect_env prints it) -> the 6.3 row; None when not tabled."""
    numbers = [str(int(n)) for n in re.findall(r"\d+", rocm)[:3]]
    for key in (".".join(numbers[:3]), ".".join(numbers[:2])):
        row = next((row for row in ROCM_TARGETS if row.rocm == key), None)
        if row:
            return row.gfx
    return None

"""labs/_smoke/smoke_api.assert_close: torch.testing.assert_close's rule, on the edge of the tolerance."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import pytest

from conftest import need_module

sys.path.insert(0, str(Path(__file__).parent.parent / "labs" / "_smoke"))
from smoke_api import SmokeFailure, assert_close  # noqa: E402

need_module("torch", "pip install torch==2.13.0")
import torch  # noqa: E402


def test_a_difference_within_atol_plus_rtol_times_expected_passes_and_is_returned() -> None:
    want = torch.tensor([100.0, 0.0], dtype=torch.float64)
    got = want + torch.tensor([0.9 * (1e-5 + 1e-4 * 100.0), 0.9e-5], dtype=torch.float64)
    diff = assert_close(got, want, "inside", 1e-4, 1e-5)
    assert math.isclose(diff, 0.9 * (1e-5 + 1e-4 * 100.0), rel_tol=1e-6)


def test_a_difference_just_past_the_tolerance_fails_naming_what_and_the_worst_error() -> None:
    want = torch.tensor([100.0, 0.0])
    got = want + torch.tensor([0.0, 1.1e-5])
    with pytest.raises(SmokeFailure, match=r"outside: max abs diff 1\.1e-05 beyond rtol 0\.0001, atol 1e-05"):
        assert_close(got, want, "outside", 1e-4, 1e-5)


def test_the_tolerance_is_relative_to_the_expected_value_not_the_result() -> None:
    # 1.5 off 100 is past 1 % of the expected 100; 1.0 off 101 is within 1 % of the expected 101.
    with pytest.raises(SmokeFailure):
        assert_close(torch.tensor([101.5]), torch.tensor([100.0]), "relative", 1e-2, 0.0)
    assert_close(torch.tensor([100.0]), torch.tensor([101.0]), "relative", 1e-2, 0.0)


def test_nan_is_never_close_and_shapes_must_match() -> None:
    with pytest.raises(SmokeFailure):
        assert_close(torch.tensor([float("nan")]), torch.tensor([float("nan")]), "nan", 1.0, 1.0)
    with pytest.raises(SmokeFailure, match=r"shape \(2,\), expected \(1, 2\)"):
        assert_close(torch.zeros(2), torch.zeros(1, 2), "shape", 1.0, 1.0)


def test_it_agrees_with_torch_testing_on_random_pairs() -> None:
    generator = torch.Generator().manual_seed(0)
    for _ in range(200):
        want = torch.randn(5, generator=generator, dtype=torch.float64) * 10
        got = want + torch.randn(5, generator=generator, dtype=torch.float64) * 1e-3
        try:
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)
            agrees_close = True
        except AssertionError:
            agrees_close = False
        try:
            assert_close(got, want, "random", 1e-4, 1e-4)
            ours_close = True
        except SmokeFailure:
            ours_close = False
        assert ours_close == agrees_close

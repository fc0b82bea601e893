"""course.timing: the optional PyTorch cells work, and agree, with or without a GPU."""
import pytest
import torch

from course import timing


def test_device_matches_what_torch_sees():
    assert timing.device() == ("cuda" if torch.cuda.is_available() else "cpu")


def test_timing_table_compares_all_three_and_they_agree():
    table = timing.timing_table("filter_image", "max_pool2d", "avg_pool2d", budget_s=0.01)
    assert [r["name"] for r in table.rows] == ["filter_image", "max_pool2d", "avg_pool2d"]
    for row in table.rows:
        assert row["numpy_s"] > 0 and row["torch_cpu_s"] > 0
        assert row["max_diff"] < 1e-5, f"{row['name']}: NumPy and torch disagree"
        if torch.cuda.is_available():
            assert row["torch_gpu_s"] > 0 and row["gpu"] is None
        else:
            assert row["torch_gpu_s"] is None and row["gpu"] == "n/a (no GPU)"
    text, html = str(table), table._repr_html_()
    for needle in ("NumPy (course)", "torch CPU", "torch GPU", "filter_image"):
        assert needle in text and needle in html
    if not torch.cuda.is_available():
        assert "n/a (no GPU)" in text and "n/a (no GPU)" in html


def test_timing_table_conv_forward_backward_matches_autograd():
    [row] = timing.timing_table("conv2d_fwd_bwd", budget_s=0.01).rows
    assert row["max_diff"] < 1e-4


def test_unknown_case_names_the_choices():
    with pytest.raises(ValueError, match="unknown timing case.*choose from"):
        timing.timing_table("conv3d")


def test_timing_table_restores_tf32_settings():
    before = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    timing.timing_table("filter_image", budget_s=0.01)
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == before

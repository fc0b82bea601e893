"""What the lectures of Units 1-2 say, checked without running them (issue #15's review).

tests/test_notebooks.py executes every lecture; here we read the notebooks' text and
recompute the claims they make, so a wrong number or a lost fix shows up in a second.
"""
import contextlib
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from course import conv, exercises, nn
from course.autodiff import Value

LECTURES = Path(__file__).resolve().parent.parent / "lectures"
UNIT_1_2 = ["01_convolution_kernels", "02_padding_stride_pooling", "03_ml_recipe_and_sgd",
            "04_backprop_and_autodiff", "05_training_a_cnn"]


def cells(name):
    nb = json.loads((LECTURES / f"{name}.ipynb").read_text(encoding="utf-8"))
    return [(c["cell_type"], "".join(c["source"])) for c in nb["cells"]]


def markdown(name):
    return "\n\n".join(src for kind, src in cells(name) if kind == "markdown")


def check_yourself(name):
    found = [src for kind, src in cells(name) if kind == "markdown" and "## Check yourself" in src]
    assert len(found) == 1, f"{name}: expected one 'Check yourself' cell, found {len(found)}"
    return found[0].split("## Check yourself", 1)[1]


def test_units_1_2_keep_their_numbering():
    names = sorted(p.stem for p in LECTURES.glob("0[1-5]_*.ipynb"))
    assert names == UNIT_1_2


@pytest.mark.parametrize("name", UNIT_1_2)
def test_every_check_yourself_answer_is_collapsed(name):
    text = check_yourself(name)
    questions = re.findall(r"^\*\*(\d+)\.\*\*", text, flags=re.M)
    blocks = re.findall(r"<details><summary>Answer</summary>(.*?)</details>", text, flags=re.S)
    assert len(questions) >= 5 and questions == [str(i + 1) for i in range(len(questions))]
    assert len(blocks) == len(questions), f"{name}: {len(questions)} questions but {len(blocks)} <details> answers"
    assert all(b.strip() for b in blocks), f"{name}: an empty answer"
    outside = re.sub(r"<details>.*?</details>", "", text, flags=re.S)
    assert "*(" not in outside, f"{name}: an answer in *( ... )* outside a <details> block"
    # each question is followed by its own answer, before the next question
    for chunk in re.split(r"^\*\*\d+\.\*\*", text, flags=re.M)[1:]:
        assert chunk.count("<details>") == 1, f"{name}: a question without exactly one answer right after it"


def _your_turn(name):
    cs = cells(name)
    heads = [i for i, (kind, src) in enumerate(cs) if kind == "markdown" and "Your turn" in src]
    assert len(heads) == 1, f"{name}: expected one 'Your turn' exercise, found {len(heads)}"
    i = heads[0]
    (k1, edit), (k2, check) = cs[i + 1], cs[i + 2]
    assert k1 == k2 == "code"
    return edit, check


@pytest.mark.parametrize("name", UNIT_1_2)
def test_every_lecture_has_a_your_turn_cell_whose_placeholder_runs_and_says_not_done(name):
    edit, check = _your_turn(name)
    assert "YOUR CODE" in edit, f"{name}: the cell to edit is not marked YOUR CODE"
    assert "exercises.check_" in check, f"{name}: the self-check cell does not call course.exercises"
    namespace = {"np": np, "exercises": exercises}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(edit, namespace)          # the placeholder as shipped
        exec(check, namespace)         # the check must report, not raise
    assert out.getvalue().startswith(exercises.NOT_DONE), out.getvalue()


# ------------------------------------------------------------ lecture 1
def test_lecture_1_calls_the_centre_1_edge_kernel_emboss_not_sharpening():
    text = markdown("01_convolution_kernels")
    assert "that is how sharpening works" not in text
    assert "emboss" in text.lower() and "identity minus the Laplacian" in text
    w = conv.kernel("vertical_edge")
    w[1, 1] = 1.0
    lap = conv.kernel("laplacian")
    # identity + first derivative, not identity - Laplacian
    assert not np.allclose(w, conv.kernel("identity") - lap)
    np.testing.assert_array_equal(conv.kernel("sharpen"), conv.kernel("identity") - lap)


def test_lecture_1_q1_zero_border_only_top_and_left():
    w = np.zeros((3, 3))
    w[0, 0] = 1.0
    y = conv.filter_image(np.ones((6, 7)), w, padding="same")
    assert (y[0] == 0).all() and (y[:, 0] == 0).all()          # zeros on the top row and left column
    assert (y[1:, 1:] == 1).all()                               # nowhere else: not "all round"
    answer = check_yourself("01_convolution_kernels").split("**2.**")[0]
    assert "top row and the left column" in answer and "all round" not in answer


def test_lecture_1_introduces_the_classic_presets():
    text = "\n".join(src for _, src in cells("01_convolution_kernels"))
    for preset in ("sobel_x", "sobel_y", "gaussian_blur", "laplacian", "emboss"):
        assert preset in text


# ------------------------------------------------------------ lecture 2
def test_lecture_2_dilation_is_optional():
    cs = cells("02_padding_stride_pooling")
    optional = next(i for i, (k, s) in enumerate(cs) if k == "markdown" and "Optional: dilation" in s)
    for i, (kind, src) in enumerate(cs[:optional]):
        if kind == "code":
            assert "dilation" not in src, f"cell {i} uses dilation before the optional section"


def test_lecture_2_points_to_the_backward_passes():
    assert re.search(r"lecture 4 \(section 6\) derives the backward pass", markdown("02_padding_stride_pooling"))


# ------------------------------------------------------------ lecture 3
def test_lecture_3_perpendicular_claim_has_equal_axes():
    cs = cells("03_ml_recipe_and_sgd")
    i = next(i for i, (k, s) in enumerate(cs) if k == "markdown" and "perpendicular" in s)
    assert "always perpendicular" not in cs[i][1]
    assert 'set_aspect("equal")' in cs[i - 1][1], "the plot the claim is about must use equal axis scaling"


def test_lecture_3_teaches_a_decaying_learning_rate_with_sgd_path():
    code = "\n".join(s for k, s in cells("03_ml_recipe_and_sgd") if k == "code")
    assert "lr_schedule=" in code and "eta_t" in markdown("03_ml_recipe_and_sgd").replace("\\eta_t", "eta_t")


# ------------------------------------------------------------ lecture 4
def test_lecture_4_backprop_is_a_special_case_of_reverse_mode():
    text = markdown("04_backprop_and_autodiff")
    assert "are the same thing" not in text
    assert "special case" in text


def _a_grad_with_overwriting_mul(a0=3.0):
    """f = a*a + a with Value.__mul__'s first line `self.grad = ...` instead of `+=` (the question's change)."""
    class Broken(Value):
        def __mul__(self, other):
            other = other if isinstance(other, Value) else Value(other)
            out = Broken(self.data * other.data, (self, other), "*")

            def _backward():
                self.grad = other.data * out.grad       # the bug: = instead of +=
                other.grad += self.data * out.grad
            out._backward = _backward
            return out

    a = Broken(a0)
    f = a * a + a
    f.backward()
    return a.grad


def test_lecture_4_q2_answer_is_computed():
    assert _a_grad_with_overwriting_mul(3.0) == 6.0
    a = Value(3.0)
    (a * a + a).backward()
    assert a.grad == 7.0
    answer = check_yourself("04_backprop_and_autodiff").split("**2.**")[1].split("**3.**")[0]
    assert re.search(r"<summary>Answer</summary>\s*6 instead of 7", answer)


def test_lecture_4_forward_mode_is_optional_and_conv_pool_backward_is_taught():
    cs = cells("04_backprop_and_autodiff")
    optional = next(i for i, (k, s) in enumerate(cs) if k == "markdown" and "Optional: forward mode" in s)
    assert all("class Dual" not in s for _, s in cs[:optional])
    code = "\n".join(s for k, s in cs if k == "code")
    for needle in ("conv1d_backward_loops", "conv2d_backward_loops", "conv.conv2d_backward", "max_pool_backward_loops",
                   "pool.max_pool2d_backward", "to_torch", "draw_graph(ell"):
        assert needle in code, needle


# ------------------------------------------------------------ lecture 5
def test_lecture_5_tunes_on_validation_and_reports_test_once():
    cs = [s for k, s in cells("05_training_a_cnn") if k == "code"]
    assert "digits(val_size=" in cs[0]
    uses = [s for s in cs if re.search(r"\bX_test\b", s)]
    assert len(uses) == 2, "X_test may appear where it is defined and where it is reported, nowhere else"
    assert "train.evaluate(model, X_test, y_test)" in uses[1]


def test_lecture_5_kernel_baseline_is_the_course_statistic():
    init = np.concatenate([nn.Conv2d(1, 8, 3, padding=1, rng=s).weight.data[:, 0] for s in range(100, 300)])
    best = np.abs(conv.preset_similarity(init)[1])
    assert round(float(np.median(best)), 2) in (0.53, 0.54, 0.55)
    assert 0.11 < float(np.mean(best > 0.7)) < 0.17
    text = markdown("05_training_a_cnn")
    assert "untrained" in text and "0.54" in text
    code = "\n".join(s for k, s in cells("05_training_a_cnn") if k == "code")
    assert "conv.preset_similarity(initial)" in code and "np.quantile(best_untrained, 0.95)" in code


def test_lecture_5_trains_with_and_without_pooling():
    code = "\n".join(s for k, s in cells("05_training_a_cnn") if k == "code")
    assert "for pool in (True, False)" in code and "X_val" in code

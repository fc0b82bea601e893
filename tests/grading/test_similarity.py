"""`course grade similarity A`: near-copies between students and of the course's reference code."""
from __future__ import annotations

import grading_helpers
import grading_infra as infra

H1 = infra.H1

# out_len written four ways: one student copies another with the names changed, one copies the
# course's reference (course.conv.output_size, validation loop included), one writes it alone.
ORIGINAL = '''def out_len(n, kernel_size, padding=0, stride=1):
    total = n + 2 * padding
    span = total - kernel_size
    if span < 0:
        raise ValueError(f"kernel {kernel_size} larger than the padded input {total}")
    steps = span // stride
    return steps + 1
'''
RENAMED = '''def out_len(n, kernel_size, padding=0, stride=1):
    whole = n + 2 * padding
    reach = whole - kernel_size
    if reach < 0:
        raise ValueError(f"kernel {kernel_size} larger than the padded input {whole}")
    hops = reach // stride
    return hops + 1
'''
FROM_REFERENCE = '''def out_len(n, kernel_size, padding=0, stride=1, dilation=1):
    for v, name, low in ((n, "n", 0), (kernel_size, "kernel_size", 1),
                         (padding, "padding", 0), (stride, "stride", 1),
                         (dilation, "dilation", 1)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ValueError(f"output_size: {name} must be an int >= {low}, got {v!r}")
    return (n + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1
'''
OWN = '''def out_len(n, kernel_size, padding=0, stride=1):
    count, start = 0, 0
    while start + kernel_size <= n + padding * 2:
        count, start = count + 1, start + stride
    return count
'''


def test_similarity_finds_the_copies_and_not_the_independent_work(tmp_path):
    course = infra.tiny_course(tmp_path / "course")
    release, ws = tmp_path / "release", tmp_path / "ws"
    env = infra.env_for(course, release)
    grading_helpers.run_course("grade", "release", H1, "--workspace", ws, env=env)
    subs = {"alice": ORIGINAL, "bob": RENAMED, "carol": FROM_REFERENCE, "dave": OWN}
    infra.write_submissions(tmp_path / "subs", {s: infra.submission(release, out_len=code) for s, code in subs.items()})
    grading_helpers.run_course("grade", "collect", H1, tmp_path / "subs", "--workspace", ws, env=env)
    out = grading_helpers.run_course("grade", "similarity", H1, "--workspace", ws, "--html", tmp_path / "sim.html",
                                     env=env).stdout
    rows = [line.split() for line in out.splitlines() if line.startswith("out_len")]
    pairs = {(r[1], r[2]) for r in rows}
    assert ("alice", "bob") in pairs                                  # renaming does not hide a copy
    assert ("carol", "reference:course/conv.py") in pairs            # nor does copying the reference
    assert not [p for p in pairs if "dave" in p]                      # independent work is not listed
    assert not [p for p in pairs if p[1].startswith("reference:") and p[0] in ("alice", "bob", "dave")]
    page = (tmp_path / "sim.html").read_text()
    assert "<mark>" in page and "alice" in page and "not a verdict" in page

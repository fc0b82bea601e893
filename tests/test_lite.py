"""``%%needs``: a lecture cell that needs PyTorch (gensim, nbgrader) runs unchanged in
the full install and becomes one printed line where the module is missing (the
browser). Run in a real kernel, as the lectures are."""
import nbformat
from nbclient import NotebookClient

from course import lite


def _run(*sources: str) -> list[list[dict]]:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(s) for s in ("import course", *sources)]
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True).execute()
    return [c.outputs for c in nb.cells[1:]]


def _text(outputs: list[dict]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def test_a_cell_runs_as_written_when_its_modules_exist_and_prints_one_line_otherwise():
    present, absent, lineno, both = _run(
        "%%needs torch\nimport torch\nprint('torch', torch.tensor([1, 2]).sum().item())",
        "%%needs not_a_module_here\nprint('ran')",
        "%%needs json\nimport inspect\nprint(inspect.currentframe().f_lineno)",
        "%%needs json not_a_module_here\nprint('ran')",
    )
    assert _text(present) == "torch 3\n"
    assert _text(absent) == "not_a_module_here is not available here: this cell runs in the full install\n"
    assert _text(lineno) == "3\n"  # the magic line is blanked, not removed: tracebacks keep their lines
    assert "ran" not in _text(both) and "not_a_module_here is not available" in _text(both)
    assert not any(o.output_type == "error" for outs in (present, absent, lineno, both) for o in outs)


def test_the_browser_notes_are_data_and_name_where_the_cell_runs():
    for name, line in lite.MISSING.items():
        assert "not available in the browser" in line and "full install" in line, name
    assert lite.missing("json", "not_a_module_here") == ["not_a_module_here"]
    assert lite.IN_BROWSER is False


def test_a_bare_magic_is_a_clear_error():
    (out,) = _run("%%needs\nprint('ran')")
    errors = [o for o in out if o.output_type == "error"]
    assert errors and "%%needs takes the modules the cell needs" in errors[0].evalue


def test_the_browser_clock_is_this_process_cpu_time_on_the_desktop():
    import time

    assert lite.process_time is time.process_time   # the browser's stands still: perf_counter there


def test_every_lecture_marks_every_cell_that_needs_a_full_install():
    """Every lecture runs to the end in the Pyodide kernel of the JupyterLite site (make
    test-lite): a cell that needs PyTorch, gensim or nbgrader says so with %%needs."""
    import re
    from pathlib import Path

    lectures = sorted((Path(__file__).resolve().parents[1] / "lectures").glob("[0-9]*.ipynb"))
    assert len(lectures) >= 12
    for path in lectures:
        name = path.stem
        nb = nbformat.read(path, 4)
        for i, cell in enumerate(c for c in nb.cells if c.cell_type == "code"):
            uses = set(re.findall(r"\b(torch|gensim|nbgrader)\b", cell.source))
            if uses:
                first = cell.source.splitlines()[0]
                assert first.startswith("%%needs") and uses <= set(first.split()[1:]), (
                    f"{name} code cell {i} uses {sorted(uses)} but starts with {first!r}: "
                    f"begin it with '%%needs {' '.join(sorted(uses))}'")

"""``course.check()`` finds the notebook it runs in and never recurses into itself."""
from __future__ import annotations

import nbformat


def test_course_check_finds_its_notebook_and_never_recurses(tmp_path, monkeypatch, capsys):
    from course.selfcheck import check, current_notebook

    nb = tmp_path / "mine.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JPY_SESSION_NAME", str(nb))
    assert current_notebook() == nb.resolve()
    monkeypatch.setenv("JPY_SESSION_NAME", "some/server/path/mine.ipynb")   # relative to the server root
    assert current_notebook() == nb.resolve()
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    assert check() is None and "skipped" in capsys.readouterr().out

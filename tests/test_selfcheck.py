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


def test_course_check_asks_the_jupyter_server_which_notebook_runs_the_kernel(tmp_path, monkeypatch):
    """Headless, without JPY_SESSION_NAME: the kernel id -> a running server's /api/sessions -> the path."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    from course.selfcheck import current_notebook, notebook_of_kernel

    (tmp_path / "work").mkdir()
    nb = tmp_path / "work" / "a1_convolution.ipynb"
    nbformat.write(nbformat.v4.new_notebook(), nb)
    seen = {}

    class Sessions(BaseHTTPRequestHandler):
        def do_GET(self):                                   # noqa: N802
            seen["auth"] = self.headers.get("Authorization")
            body = json.dumps([{"kernel": {"id": "other"}, "path": "x.ipynb"},
                               {"kernel": {"id": "k-123"}, "path": "work/a1_convolution.ipynb"}]).encode()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Sessions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        servers = [{"url": "http://127.0.0.1:1/", "token": ""},              # unreachable: skipped
                   {"url": f"http://127.0.0.1:{server.server_port}/", "token": "t0k", "root_dir": str(tmp_path)}]
        assert notebook_of_kernel("k-123", servers) == str(nb)
        assert seen["auth"] == "token t0k"
        assert notebook_of_kernel("nobody", servers) is None
        from course import selfcheck

        monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
        monkeypatch.setattr(selfcheck, "kernel_id", lambda: "k-123")
        monkeypatch.setattr(selfcheck, "running_servers", lambda: servers)
        monkeypatch.chdir(tmp_path)
        assert current_notebook() == nb.resolve()
    finally:
        server.shutdown()


def test_course_check_says_how_when_it_cannot_tell(tmp_path, monkeypatch, capsys):
    from course import selfcheck

    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delenv("NBGRADER_EXECUTION", raising=False)
    monkeypatch.delenv("COURSE_CHECK_RUNNING", raising=False)
    monkeypatch.chdir(tmp_path)
    assert selfcheck.check() is None
    out = capsys.readouterr().out
    assert "JPY_SESSION_NAME" in out and "course.check('a1_convolution.ipynb')" in out
    assert "course check a1_convolution.ipynb" in out


def test_the_table_shows_the_whole_first_line_and_verbose_the_case():
    from course.selfcheck import CheckReport, TestResult

    long = ("conv2d: " + "stride applied only along height: step `stride[1]` columns too " * 3).strip()
    detail = long + "\n  case: x (2, 3, 5, 6)\n  expected shape (2, 4, 3, 3), got (2, 4, 3, 6)"
    report = CheckReport("a.ipynb", [TestResult("test_conv2d", 25, 0.0, long, detail),
                                     TestResult("test_pad2d", 10, 10.0)])
    table = report.table()
    assert long in table and "..." not in table and "--verbose" in table
    verbose = report.table(verbose=True)
    assert "--- test_conv2d ---" in verbose and "case: x (2, 3, 5, 6)" in verbose

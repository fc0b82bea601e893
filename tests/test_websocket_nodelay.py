"""The servers the course starts send each kernel message at once.

Jupyter Server leaves Nagle's algorithm on for the page's websocket, so the second
small message of a burst waits for the page's delayed ACK (45 ms against 5.6 ms
with ``NoDelayConnection``, ``make bench-browser``: kernel_websocket_burst). Every
browser test runs its server through ``tests/browser/labserver.py``, which uses the
class, so they exercise it; these tests pin where it is switched on.
"""
from pathlib import Path

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from traitlets.utils.importstring import import_item

from course.jupyter import websocket

REPO = Path(__file__).resolve().parents[1]


def test_the_option_names_the_class():
    cls = import_item(websocket.CLASS)
    assert cls is websocket.NoDelayConnection
    assert issubclass(cls, ZMQChannelsWebsocketConnection)
    assert websocket.LAB_OPTION.endswith("=" + websocket.CLASS)
    assert websocket.VOILA_OPTION.startswith("--Voila.kernel_websocket_connection_class=")


def test_make_lab_uses_it():
    lab = REPO.joinpath("Makefile").read_text().split("\nlab:", 1)[1].split("\n\n", 1)[0]
    assert f"--ServerApp.kernel_websocket_connection_class={websocket.CLASS}" in lab


def test_course_explore_uses_it():
    from course.explore import voila_argv

    assert websocket.VOILA_OPTION in voila_argv(Path("app.ipynb"), 8866)


def test_browser_test_servers_use_it(tmp_path):
    import sys

    sys.path.insert(0, str(REPO / "tests" / "browser"))
    from labserver import LabServer

    assert websocket.LAB_OPTION in LabServer(tmp_path, tmp_path / "w").command()
    assert websocket.LAB_OPTION not in LabServer(tmp_path, tmp_path / "w", nodelay=False).command()

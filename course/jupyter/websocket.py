"""A kernel websocket that sends each message at once (``TCP_NODELAY``).

Jupyter Server writes the kernel's messages to the page's websocket without
setting ``TCP_NODELAY``, so Nagle's algorithm holds a small message back until
the page has acknowledged the previous one, and the page's delayed ACK can hold
that for up to 40 ms. An explorer's step sends several small messages in a row
(status, echo, pixels, texts): measured here through the server, a kernel's
``execute_input`` arrived 44 ms after its ``busy`` status without this, 0.3 ms
with it (issue #14). The servers the course starts use it (``make lab``,
``course explore``, the browser tests and benchmark)::

    jupyter lab --ServerApp.kernel_websocket_connection_class=course.jupyter.websocket.NoDelayConnection
"""
from __future__ import annotations

from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection

#: the command-line option for ``jupyter lab`` (``ServerApp``); Voila takes ``Voila.`` instead
CLASS = "course.jupyter.websocket.NoDelayConnection"
LAB_OPTION = f"--ServerApp.kernel_websocket_connection_class={CLASS}"
VOILA_OPTION = f"--Voila.kernel_websocket_connection_class={CLASS}"


class NoDelayConnection(ZMQChannelsWebsocketConnection):
    """``ZMQChannelsWebsocketConnection`` with Nagle's algorithm off on its socket."""

    def connect(self):
        self.websocket_handler.set_nodelay(True)
        return super().connect()

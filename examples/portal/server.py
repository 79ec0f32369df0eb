"""The demo's HTTP server: werkzeug's threaded server on a socket bound before anything else
(so that a taken port is known before a URL is printed), with a request handler that closes a
response whose client went away.

The browser tests serve the demo with it too (``tests/browser/conftest.py``).
"""

from __future__ import annotations

import errno
import socket
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

#: Where the response of a request waits in its WSGI environ, for :class:`RequestHandler`.
_RESPONSE = "examples.portal.response"


class PortTaken(OSError):
    """Another program listens on the port the demo was asked to use."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(errno.EADDRINUSE, f"{host}:{port} is in use by another program")
        self.host, self.port = host, port


def listen(port: int, host: str = "127.0.0.1") -> socket.socket:
    """A listening socket on ``host:port`` (0: any free port); :class:`PortTaken` if taken."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # As werkzeug does: a restarted demo gets its port back at once (TIME_WAIT), but never
        # a port that another program is listening on.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise PortTaken(host, port) from exc
        raise
    return sock


class _Response:
    """A WSGI response that closes what it wraps once, whoever asks first."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.closed = inner, False

    def __iter__(self):
        return iter(self.inner)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if hasattr(self.inner, "close"):
                self.inner.close()


def _keep_response(app):
    def wsgi(environ, start_response):
        response = environ[_RESPONSE] = _Response(app(environ, start_response))
        return response

    return wsgi


class RequestHandler(WSGIRequestHandler):
    """werkzeug's handler, closing the response of a dropped connection.

    When a client resets the connection (a browser that navigates away while a script or
    style sheet is still loading), werkzeug's cleanup reads the reset socket before it closes
    the response, the read raises, and the response is never closed: a static file stays
    open until the garbage collector finds it, with a ``ResourceWarning`` (an error in the
    test suite) in whatever runs then."""

    def connection_dropped(self, error: BaseException, environ: Any = None) -> None:
        response = environ.get(_RESPONSE) if environ else None
        if response is not None:
            response.close()


def serve(app, sock: socket.socket) -> BaseWSGIServer:
    """A threaded werkzeug server for ``app`` on ``sock`` (from :func:`listen`), which it
    takes over. Run it with ``serve_forever()``; ``shutdown()`` stops it and closes it."""
    host, port = sock.getsockname()[:2]
    try:
        return make_server(
            host,
            port,
            _keep_response(app),
            threaded=True,
            request_handler=RequestHandler,
            fd=sock.fileno(),
        )
    finally:
        sock.close()  # the server listens on a duplicate of it

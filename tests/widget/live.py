"""A real ASGI server (uvicorn, websockets included) and a client's website on another origin.

The server runs in a thread of the test process, so the fake provider server and the `settings`
overrides pointing at it are shared with it, as pytest-django's live_server does for WSGI. The
client's website is a tiny http.server on another port: the widget is cross-origin there, exactly
as on a real client's site.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import uvicorn
from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class AppServer:
    def __init__(self) -> None:
        from chatdirect.asgi import application

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            ASGIStaticFilesHandler(application),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            ws="websockets-sansio",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self._run, name="uvicorn-test", daemon=True)

    def _run(self) -> None:
        asyncio.run(self.server.serve())

    def start(self) -> AppServer:
        self.thread.start()
        deadline = time.monotonic() + 15
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
        # A channel layer serves one event loop at a time; a receive that the stopped server's
        # loop left pending would refuse the next server's (a production process has one loop).
        from channels.layers import channel_layers

        channel_layers.backends.clear()


def host_page(*, app_url: str, widget_id: str, lang: str = "en", hostile_css: bool = False) -> str:
    """A client's page that pastes the widget snippet, optionally with CSS hostile to widgets."""
    hostile = (
        "<style>* { all: unset; font-size: 40px !important; display: block !important; "
        "color: #f0f !important; font-family: 'Comic Sans MS', cursive !important; "
        "line-height: 3 !important; box-sizing: content-box !important; "
        "padding: 7px !important; margin: 5px !important; } "
        "html { font-size: 40px !important; } div, button, textarea, p { "
        "width: 10px !important; height: 10px !important; position: static !important; "
        "background: yellow !important; border: 9px solid red !important; } "
        "chatdirect-widget { display: none !important; transform: scale(.2) !important; "
        "opacity: 0 !important; } style, script { display: none !important; }</style>"
        if hostile_css
        else ""
    )
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8"><title>Northwind Coffee</title>'
        f"{hostile}</head><body><h1>Northwind Coffee</h1><p>Fresh roasts, shipped daily.</p>"
        f'<script src="{app_url}/static/widget/chatdirect.js" data-widget-id="{widget_id}" '
        f"async></script></body></html>"
    )


class HostSite:
    """Serves named pages (path -> HTML) from its own origin."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                body = pages.get(self.path.split("?")[0])
                if body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # "localhost" rather than 127.0.0.1: a different host as well as a different port.
        self.origin = f"http://localhost:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> HostSite:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@contextlib.contextmanager
def running() -> Iterator[tuple[AppServer, HostSite]]:
    app, site = AppServer().start(), HostSite().start()
    try:
        yield app, site
    finally:
        site.stop()
        app.stop()

"""The playground's web server: Starlette routes (through FastAPI) from HTTP to :mod:`optimlab.playground.api`,
the static page, and uvicorn to serve them on 127.0.0.1.

Every endpoint is ``POST /api/<name>`` with a JSON object (``GET`` works too, for the ones that need no input);
a bad request gets ``400 {"error": "<the library's one-line message>"}`` and the server goes on serving.
``GET /api`` lists the endpoints with their documentation. Nothing is fetched from the internet: the page, its
script and the plotting library (Plotly, vendored under ``static/vendor``) are files of this package.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import socket
import threading
import webbrowser
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool

from optimlab import checks
from optimlab.playground import HOST, PORT, api

STATIC = Path(__file__).parent / "static"
MAX_BODY = 1 << 20  # 1 MiB: a page state is a few hundred bytes; anything near this size is not a request of ours

ENDPOINTS = {
    "registry": api.registry,
    "train": api.train,
    "view": api.view,
    "map": api.stability_map,
    "verdict": api.verdict,
    "taylor": api.taylor,
    "ema": api.ema,
}


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


def _endpoint(function):
    async def handle(request: Request):
        raw = await request.body()
        if len(raw) > MAX_BODY:
            return _error(413, f"the request body has {len(raw)} bytes; the playground takes at most {MAX_BODY}")
        try:
            body = json.loads(raw) if raw.strip() else {}
        except ValueError as e:
            return _error(400, f"the request body must be JSON: {e}")
        try:
            return JSONResponse(await run_in_threadpool(function, body))
        except ValueError as e:  # the library's one line, as the CLI prints it
            return _error(400, str(e))
    return handle


def create_app() -> FastAPI:
    # No /docs: FastAPI's documentation page loads its scripts from a CDN, and the playground fetches nothing.
    app = FastAPI(title="optimlab playground", docs_url=None, redoc_url=None, openapi_url=None)
    for name, function in ENDPOINTS.items():
        app.add_api_route(f"/api/{name}", _endpoint(function), methods=["GET", "POST"], include_in_schema=False)

    @app.get("/api")
    def index():
        return {"endpoints": {f"/api/{n}": inspect.getdoc(f) for n, f in ENDPOINTS.items()},
                "about": inspect.getdoc(api)}

    @app.get("/")
    def page():
        return FileResponse(STATIC / "index.html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _bind(host: str, port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    # a restart may reuse a port whose old connections linger in TIME_WAIT; a port that is listening stays refused
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Linux passes TCP_NODELAY on to accepted connections. Without it a response that uvicorn writes in two parts
    # (headers, then a body under one segment) waits for the client's delayed ACK: 40 ms on every small answer.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise OSError(f"cannot listen on {host}:{port}: {e.strerror}; choose another --port (0 = a free one)") from None
    return sock


def _server(host: str, port: int):
    import uvicorn

    sock = _bind(host, port)
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="warning", lifespan="off"))
    bound = sock.getsockname()[1]
    url = f"http://{'[' + host + ']' if ':' in host else host}:{bound}/"
    return server, sock, url


def serve(host: str = HOST, port: int = PORT, open_browser: bool = True, on_ready=None) -> None:
    """Serve until Ctrl-C (uvicorn's signal handling stops it cleanly). ``port`` 0 takes a free port;
    ``on_ready(url)`` is called once the server listens, then the browser is opened at ``url``."""
    port = checks.check_int("port", port, minimum=0, maximum=65535)
    server, sock, url = _server(host, port)

    def ready():
        while not server.started and not server.should_exit:
            threading.Event().wait(0.02)
        if server.started:
            if on_ready:
                on_ready(url)
            if open_browser:
                webbrowser.open(url)

    threading.Thread(target=ready, daemon=True).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn has shut down cleanly, then re-raises the Ctrl-C it caught: done
        pass
    finally:
        sock.close()


@contextlib.contextmanager
def running(host: str = HOST, port: int = 0):
    """A server in a background thread for tests and benchmarks: ``with running() as url: ...``."""
    server, sock, url = _server(host, port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the playground server did not start")
            threading.Event().wait(0.02)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()

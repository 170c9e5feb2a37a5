"""The playground: the lecture's mathematics in the browser, computed live by optimlab.

    optimlab playground              # starts a local server on 127.0.0.1 and opens the page

:mod:`~optimlab.playground.api` is the JSON API (plain functions over dicts, no web framework);
:mod:`~optimlab.playground.app` serves it and the static page with Starlette/FastAPI and uvicorn (the optional
extra ``optimlab[playground]``), imported only when the server starts so that ``import optimlab`` stays light.
"""

# Where `optimlab playground` listens unless told otherwise: this machine only, on a fixed port so that a URL
# copied from the page (the whole state is in it) opens the same picture after a restart.
HOST = "127.0.0.1"
PORT = 8765

"""``optimlab playground``: serve the browser playground on 127.0.0.1 and open it."""

from __future__ import annotations

import socket
import sys

from optimlab import playground


def register(commands) -> None:
    p = commands.add_parser("playground", help="the lecture's mathematics in the browser, computed live (local server)",
                            description="Start a local web server with the playground (sliders, valley, loss curves, "
                                        "stability map, the lecture's experiments), print its URL and open the "
                                        "browser. Stop it with Ctrl-C. Needs the extra: pip install "
                                        "\"optimlab[playground]\".")
    p.add_argument("--host", default=playground.HOST,
                   help=f"address to listen on (default {playground.HOST}: this machine only)")
    p.add_argument("--port", type=int, default=playground.PORT,
                   help=f"port to listen on (default {playground.PORT}; 0 = a free port)")
    p.add_argument("--no-browser", action="store_true", help="print the URL but do not open a browser")
    p.set_defaults(handler=run)


def run(args, out) -> int:
    try:
        from optimlab.playground import app
    except ImportError as e:
        print(f"optimlab: error: the playground needs the playground extra ({e.name} is missing): "
              f"pip install \"optimlab[playground]\"", file=sys.stderr)
        return 1
    _check_host(args.host)
    app.serve(args.host, args.port, open_browser=not args.no_browser,
              on_ready=lambda url: out(f"optimlab playground: {url}  (Ctrl-C to stop)"))
    out("optimlab playground: stopped")
    return 0


def _check_host(host: str) -> None:
    """Refuse, in one line and before the server starts, a host that is not an address of this machine: a name
    that does not resolve, or an address no interface here has (binding a throwaway socket to a free port tells)."""
    try:
        socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ValueError(f"--host {host!r} is not an address or a name this machine can resolve "
                         f"(default {playground.HOST}: this machine only)") from None
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        probe.bind((host, 0))
    except OSError:
        raise ValueError(f"--host {host!r} is not an address of this machine (default {playground.HOST}: this "
                         f"machine only)") from None
    finally:
        probe.close()

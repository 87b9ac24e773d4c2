"""The emulator's command line: python -m cch_emulator --host H --port P [--pid-file F]."""

from __future__ import annotations

import argparse
import os

import moto
from moto.server import MotoRequestHandler
from werkzeug.serving import run_simple

from .app import EmulatorApp


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="cargo-cloudfront-host local AWS emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", "5000")))
    parser.add_argument("--quiet", action="store_true", help="do not log every request")
    parser.add_argument("--pid-file", help="write the server's pid here once it is listening")
    args = parser.parse_args(argv)
    os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")
    os.environ.setdefault("MOTO_PORT", str(args.port))
    if args.quiet:
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = EmulatorApp()
    if args.pid_file:
        with open(args.pid_file, "w") as fh:
            fh.write(f"{os.getpid()}\n")
    print(f"emulator starting on http://{args.host}:{args.port} (moto {moto.__version__})", flush=True)
    run_simple(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()

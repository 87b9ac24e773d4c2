"""Fault injection (/_emulator/faults): matching, taking and answering faults."""

from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import parse_qs

from .state import LOCK, S
from .wire import Req


# =========================================================================== #
# test hooks and faults
# =========================================================================== #


def fault_matches(f: dict[str, Any], req: Req) -> bool:
    if f.get("method") and f["method"].upper() != req.method:
        return False
    if f.get("path") and not re.search(f["path"], req.raw_path):
        return False
    if f.get("query") and not re.search(f["query"], req.query):
        return False
    if f.get("target"):
        t = f["target"]
        if not (req.target == t or req.target.endswith("." + t)):
            return False
    if f.get("service") and f["service"] != req.sig_service:
        return False
    if f.get("access_key") and f["access_key"] != req.access_key:
        return False
    if f.get("action"):
        ct = req.headers.get("Content-Type", "") or ""
        action = req.q("Action")
        if not action and ct.startswith("application/x-www-form-urlencoded"):
            action = parse_qs(req.body().decode("utf-8", "replace")).get("Action", [None])[0]
        if action != f["action"]:
            return False
    return True


def take_fault(req: Req) -> dict[str, Any] | None:
    with LOCK:
        for f in list(S.faults):
            if fault_matches(f, req):
                # A probability below 1 lets a share of the matching requests through; a seed makes
                # the sequence of draws repeatable.
                if f["probability"] < 1.0 and f["_rng"].random() >= f["probability"]:
                    f["passed"] += 1
                    continue
                f["hits"] += 1
                if f["remaining"] > 0:
                    f["remaining"] -= 1
                    if f["remaining"] == 0:
                        S.faults.remove(f)
                return f
    return None


def broken_response(start_response: Callable) -> list[bytes]:
    """A response that promises a body it never sends: the server closes the connection (the dev
    server never keeps one alive), so the client sees the connection drop mid-response."""
    start_response("200 OK", [("Content-Type", "application/xml"), ("Content-Length", "4096")])
    return [b"<"]


def public_fault(f: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in f.items() if not k.startswith("_")}


# error: answer the error instead of performing the request; after: perform it (it takes effect),
# then answer the error (the response is lost); drop: perform it, then cut the response short so
# the client sees a broken connection; delay: wait delay_ms, then perform it normally.
FAULT_MODES = ("error", "after", "drop", "delay")

"""The request log (/_emulator/requests): what each request was and what it answered."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from .state import LOCK, S
from .wire import Req


READ_PREFIXES = ("Get", "List", "Describe", "BatchGet", "Head")
REQUEST_LOG_LIMIT = 100_000


def operation_of(req: Req) -> str:
    """The operation name where the protocol carries one (JSON target, query Action), else ''."""
    if req.target:
        return req.target.rpartition(".")[2]
    ct = req.headers.get("Content-Type", "") or ""
    action = req.q("Action")
    if not action and ct.startswith("application/x-www-form-urlencoded") and req.sig_service != "s3":
        action = parse_qs(req.body().decode("utf-8", "replace")).get("Action", [None])[0]
    return action or ""


def record_request(req: Req) -> dict[str, Any]:
    """Logs every AWS request (never a hook) so tests can count the write calls a command made.

    A call is a write when its operation (JSON target or query Action) is not a Get/List/
    Describe/BatchGet/Head, or, for REST protocols (S3, CloudFront, Route 53, the KVS data
    plane), when its method is not GET or HEAD. Entries carry the access key id so a test that
    runs the CLI with its own key sees only its own calls in the shared emulator."""
    op = operation_of(req)
    write = (not op.startswith(READ_PREFIXES)) if op else req.method not in ("GET", "HEAD")
    with LOCK:
        S.request_seq += 1
        entry = {"seq": S.request_seq, "method": req.method, "path": req.raw_path, "query": req.query,
                 "service": req.sig_service, "operation": op, "access_key": req.access_key,
                 "write": write, "status": None}
        S.requests.append(entry)
        if len(S.requests) > REQUEST_LOG_LIMIT:
            del S.requests[: len(S.requests) - REQUEST_LOG_LIMIT]
    return entry

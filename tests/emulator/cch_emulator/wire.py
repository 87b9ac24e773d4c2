"""Requests and responses: Req/Resp, the protocols, errors, time and escaping helpers."""

from __future__ import annotations

import html
import io
import json
import os
import re
import uuid
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote

from moto.core import DEFAULT_ACCOUNT_ID
from werkzeug.datastructures import EnvironHeaders


EMULATOR_VERSION = "1"
CF_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
CF_PREFIX = "/2020-05-31/"


# --------------------------------------------------------------------------- #
# small helpers
# --------------------------------------------------------------------------- #


def now_dt() -> datetime:
    return datetime.now(timezone.utc)


def iso(dt: datetime) -> str:
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def epoch(dt: datetime) -> float:
    return round(dt.timestamp(), 3)


def esc(s: Any) -> str:
    return html.escape(str(s), quote=False)


def unesc(s: str) -> str:
    return html.unescape(s)


def rand_id(prefix: str = "E", n: int = 13) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    raw = uuid.uuid4().int
    out = []
    for _ in range(n):
        raw, r = divmod(raw, len(alphabet))
        out.append(alphabet[r])
    return prefix + "".join(out)


def new_etag() -> str:
    return rand_id("E", 13)


def request_id() -> str:
    return str(uuid.uuid4())


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str = ""):
        super().__init__(f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message or code


# ---- XML: top-level children of an XML fragment, kept as raw text ---------- #


def xml_doc(root: str, inner: str, ns: str = CF_NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">{inner}</{root}>'.encode()


# --------------------------------------------------------------------------- #
# requests and responses
# --------------------------------------------------------------------------- #


class Req:
    def __init__(self, environ: dict[str, Any]):
        self.environ = environ
        self.method = environ.get("REQUEST_METHOD", "GET").upper()
        raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or ""
        if raw.startswith(("http://", "https://")):
            parts = raw.split("/", 3)
            raw = "/" + (parts[3] if len(parts) > 3 else "")
        if raw:
            self.raw_path = raw.split("?", 1)[0]
        else:
            self.raw_path = quote(environ.get("PATH_INFO", ""), safe="/:@!$&'()*+,;=-._~")
        self.path = unquote(self.raw_path)
        self.segments = [unquote(s) for s in self.raw_path.split("/")[1:]]
        self.query = environ.get("QUERY_STRING", "")
        self.qs = parse_qs(self.query, keep_blank_values=True)
        self.headers = EnvironHeaders(environ)
        self.target = self.headers.get("X-Amz-Target", "") or ""
        self.access_key = ""
        self.region = ""
        self.sig_service = ""
        auth = self.headers.get("Authorization", "") or ""
        m = re.search(r"Credential=([^,\s]+)", auth)
        if not m:
            cred = self.qs.get("X-Amz-Credential", [""])[0]
            m = re.match(r"(.+)", cred) if cred else None
        if m:
            parts = m.group(1).split("/")
            self.access_key = parts[0]
            if len(parts) >= 5:  # SigV4: key/date/region/service/aws4_request
                self.region, self.sig_service = parts[2], parts[3]
            elif len(parts) == 4:  # SigV4A: key/date/service/aws4_request
                self.sig_service = parts[2]
        if not self.region:
            self.region = self.headers.get("X-Amz-Region-Set", "") or "us-east-1"
            if "," in self.region or "*" in self.region:
                self.region = "us-east-1"
        self._body: bytes | None = None

    def q(self, name: str, default: str | None = None) -> str | None:
        v = self.qs.get(name)
        return v[0] if v else default

    def body(self) -> bytes:
        if self._body is None:
            env = self.environ
            inp = env.get("wsgi.input")
            length = env.get("CONTENT_LENGTH")
            data = b""
            if inp is not None:
                if length:
                    try:
                        data = inp.read(int(length))
                    except ValueError:
                        data = b""
                elif env.get("wsgi.input_terminated"):
                    data = inp.read()
            self._body = data
            env["wsgi.input"] = io.BytesIO(data)
            env["CONTENT_LENGTH"] = str(len(data))
        return self._body

    def json(self) -> dict[str, Any]:
        b = self.body()
        if not b.strip():
            return {}
        try:
            v = json.loads(b)
        except ValueError:
            raise ApiError(400, "SerializationException", "Request body is not valid JSON")
        if not isinstance(v, dict):
            raise ApiError(400, "SerializationException", "Request body must be a JSON object")
        return v

    @property
    def account(self) -> str:
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        hdr = self.headers.get("x-moto-account-id")
        if hdr:
            return hdr
        if self.access_key:
            try:
                from moto.iam.models import get_account_id_from

                return get_account_id_from(self.access_key)
            except Exception:  # pragma: no cover - defensive
                pass
        return DEFAULT_ACCOUNT_ID


class Resp:
    def __init__(self, status: int = 200, body: bytes | str = b"", headers: list[tuple[str, str]] | None = None,
                 content_type: str | None = None):
        self.status = status
        self.body = body.encode() if isinstance(body, str) else body
        self.headers = list(headers or [])
        if content_type:
            self.headers.append(("Content-Type", content_type))

    def __call__(self, start_response: Callable) -> list[bytes]:
        headers = [h for h in self.headers if h[0].lower() != "content-length"]
        names = {h[0].lower() for h in headers}
        if "x-amzn-requestid" not in names:
            rid = request_id()
            headers.append(("x-amzn-RequestId", rid))
            headers.append(("x-amz-request-id", rid))
        headers.append(("Content-Length", str(len(self.body))))
        try:
            phrase = HTTPStatus(self.status).phrase
        except ValueError:
            phrase = "Unknown"
        start_response(f"{self.status} {phrase}", headers)
        return [self.body]


def json_resp(obj: Any, status: int = 200, headers: list[tuple[str, str]] | None = None,
              content_type: str = "application/json") -> Resp:
    return Resp(status, json.dumps(obj).encode(), headers, content_type)


def xml_resp(root: str, inner: str, status: int = 200, headers: list[tuple[str, str]] | None = None) -> Resp:
    return Resp(status, xml_doc(root, inner), headers, "text/xml")


# ---- errors in each protocol ---------------------------------------------- #


def error_resp(proto: str, status: int, code: str, message: str) -> Resp:
    rid = request_id()
    hdrs = [("x-amzn-RequestId", rid), ("x-amz-request-id", rid)]
    if proto in ("cloudfront", "route53", "query"):
        ns = {"cloudfront": CF_NS, "route53": R53_NS}.get(proto)
        xmlns = f' xmlns="{ns}"' if ns else ""
        typ = "Sender" if status < 500 else "Receiver"
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse{xmlns}><Error><Type>{typ}</Type>'
                f"<Code>{esc(code)}</Code><Message>{esc(message)}</Message></Error>"
                f"<RequestId>{rid}</RequestId></ErrorResponse>")
        return Resp(status, body, hdrs, "text/xml")
    if proto == "s3":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{esc(code)}</Code>'
                f"<Message>{esc(message)}</Message><RequestId>{rid}</RequestId>"
                f"<HostId>{rid}</HostId></Error>")
        return Resp(status, body, hdrs, "application/xml")
    if proto == "restjson":
        hdrs.append(("x-amzn-ErrorType", code))
        return json_resp({"Message": message, "message": message}, status, hdrs)
    if proto.startswith("json"):
        ver = proto[4:] or "1.1"
        hdrs.append(("x-amzn-ErrorType", code))
        return json_resp({"__type": code, "message": message}, status, hdrs,
                         content_type=f"application/x-amz-json-{ver}")
    # the emulator's own hooks
    return json_resp({"error": code, "message": message}, status, hdrs)


QUERY_SERVICES = {"iam", "sts", "sns", "sqs", "ec2", "cloudformation", "elasticloadbalancing", "rds",
                  "autoscaling", "cloudwatch", "monitoring", "ses", "elasticache", "redshift", "sdb"}


def protocol_of(req: Req) -> str:
    if req.path.startswith("/_emulator/"):
        return "emulator"
    if is_kvs_request(req):
        return "restjson"
    if req.target:
        ct = req.headers.get("Content-Type", "") or ""
        return "json1.0" if "1.0" in ct else "json1.1"
    if req.path.startswith(CF_PREFIX) and req.sig_service in ("", "cloudfront"):
        return "cloudfront"
    if req.path.startswith("/2013-04-01/") and req.sig_service in ("", "route53"):
        return "route53"
    if req.sig_service in QUERY_SERVICES:
        return "query"
    ct = req.headers.get("Content-Type", "") or ""
    if ct.startswith("application/x-www-form-urlencoded") and req.sig_service != "s3":
        return "query"
    return "s3"


def is_kvs_request(req: Req) -> bool:
    if not req.raw_path.startswith("/key-value-stores/"):
        return False
    if req.sig_service and req.sig_service != "cloudfront-keyvaluestore":
        return False
    return len(req.segments) >= 2 and req.segments[1].startswith("arn:")


def check_if_match(req: Req, etag: str) -> None:
    if_match = req.headers.get("If-Match")
    if not if_match:
        raise ApiError(400, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")
    if if_match.strip('"') != etag:
        raise ApiError(412, "PreconditionFailed", "The precondition given in one or more of the request-header fields evaluated to false.")


def to_epoch(v: Any) -> Any:
    if isinstance(v, str):
        try:
            return epoch(datetime.fromisoformat(v.replace("Z", "+00:00")))
        except ValueError:
            try:
                return float(v)
            except ValueError:
                return v
    if isinstance(v, datetime):
        if v.tzinfo is None:
            v = v.replace(tzinfo=timezone.utc)
        return epoch(v)
    return v


# Request context every emulated S3 call carries: the SDK talks to AWS over TLS only; the

#!/usr/bin/env python3
"""Local AWS emulator for cargo-cloudfront-host's integration tests.

One process, one port: a WSGI app that wraps moto's server in-process and adds
what moto lacks (see README.md):

* CloudFront KeyValueStore data plane (restJson1, SigV4A: signatures are never checked)
* CloudFront cache policies and response-headers policies
* CloudFront Functions (create/describe/get/update/publish/delete/list, by stage)
* CloudFront distributions: the submitted DistributionConfig is kept and returned as
  CloudFront does (its method order, defaults filled in), ETags change on every write,
  If-Match is enforced, and what a deleted distribution used stays in use for a moment
* policy quotas per account
* CodeStar connections
* CodePipeline GetPipelineState (+ execution status kept consistent)
* CodeBuild CreateProject/UpdateProject/StartBuild/BatchGetBuilds fidelity
* S3 GetBucketVersioning with AWS's `VersioningConfiguration` root element
* test hooks and fault injection under /_emulator/

Everything else goes to moto unchanged (except that ISO-8601 timestamps in
moto's JSON responses are rewritten to epoch seconds, as the JSON protocols
require).
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import io
import json
import os
import random
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from datetime import datetime, timezone
from http import HTTPStatus
from typing import Any, Callable
from urllib.parse import parse_qs, quote, unquote

# moto reads its settings when it is imported: certificates are ISSUED at once unless told otherwise
os.environ.setdefault("MOTO_ACM_VALIDATION_WAIT", "0")

import moto  # noqa: E402
from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.server import DomainDispatcherApplication, MotoRequestHandler, create_backend_app  # noqa: E402
from werkzeug.datastructures import EnvironHeaders  # noqa: E402
from werkzeug.serving import run_simple  # noqa: E402

EMULATOR_VERSION = "1"
CF_NS = "http://cloudfront.amazonaws.com/doc/2020-05-31/"
R53_NS = "https://route53.amazonaws.com/doc/2013-04-01/"
CF_PREFIX = "/2020-05-31/"

LOCK = threading.RLock()
# Serialises S3 writes that carry `If-None-Match` (see EmulatorApp.conditional_s3_write).
S3_CONDITIONAL_LOCK = threading.Lock()


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

_TOKEN_RE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^>]*>"
    r"|<(/?)([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)((?:\s[^<>]*?)?)(/?)>",
    re.S,
)


def local(tag: str) -> str:
    return tag.split(":", 1)[-1]


def xml_children(xml: str) -> list[tuple[str, str, str]]:
    """Top-level elements of `xml` as (local name, inner raw text, full raw text)."""
    out: list[tuple[str, str, str]] = []
    depth = 0
    start = inner_start = 0
    name = ""
    for m in _TOKEN_RE.finditer(xml):
        if m.group(2) is None:
            continue
        closing, tag, _attrs, selfclose = m.group(1), m.group(2), m.group(3), m.group(4)
        if closing:
            depth -= 1
            if depth == 0:
                out.append((name, xml[inner_start : m.start()], xml[start : m.end()]))
        elif selfclose:
            if depth == 0:
                out.append((local(tag), "", m.group(0)))
        else:
            if depth == 0:
                start, inner_start, name = m.start(), m.end(), local(tag)
            depth += 1
    return out


def xml_child(xml: str, name: str) -> str | None:
    for n, inner, _full in xml_children(xml):
        if n == name:
            return inner
    return None


def xml_text(xml: str, name: str) -> str | None:
    inner = xml_child(xml, name)
    return None if inner is None else unesc(inner.strip())


def xml_path(xml: str, *names: str) -> list[str]:
    """All inner texts reached by following `names` (each level may repeat)."""
    level = [xml]
    for n in names:
        nxt = []
        for frag in level:
            nxt.extend(inner for cn, inner, _ in xml_children(frag) if cn == n)
        level = nxt
    return level


def xml_find_all_text(xml: str, name: str) -> list[str]:
    """Text of every element called `name` at any depth (simple, leaf elements)."""
    return [unesc(m.group(1).strip()) for m in re.finditer(rf"<(?:\w+:)?{name}>([^<]*)</(?:\w+:)?{name}>", xml)]


def parse_xml_payload(body: bytes, root: str) -> str:
    """Check that `body` is well-formed XML whose root is `root`; return the root's inner XML."""
    if not body.strip():
        raise ApiError(400, "MissingBody", "This operation requires a body. Ensure that the body is present.")
    text = body.decode("utf-8")
    try:
        ET.fromstring(body)
    except ET.ParseError as e:
        raise ApiError(400, "MalformedXML", f"The XML you provided was not well-formed: {e}")
    kids = xml_children(text)
    if len(kids) != 1 or kids[0][0] != root:
        raise ApiError(400, "MalformedInput", f"Expected a {root} element as the request body")
    return kids[0][1]


def xml_doc(root: str, inner: str, ns: str = CF_NS) -> bytes:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{ns}">{inner}</{root}>'.encode()


def el(name: str, value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{esc(value)}</{name}>"


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


# --------------------------------------------------------------------------- #
# wrapper state (cleared by /moto-api/reset)
# --------------------------------------------------------------------------- #


class State:
    def __init__(self) -> None:
        self.kvs: dict[str, dict[str, Any]] = {}  # KVS ARN -> data
        self.policies: dict[str, dict[str, dict[str, dict[str, Any]]]] = {"cache": {}, "rh": {}}  # kind->acct->id
        self.functions: dict[str, dict[str, dict[str, Any]]] = {}  # acct -> name -> function
        self.dists: dict[str, dict[str, dict[str, Any]]] = {}  # acct -> id -> state
        self.connections: dict[str, dict[str, Any]] = {}  # arn -> connection
        self.pipeline_exec: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}  # (acct, region, name) -> exec id -> stages
        self.builds: dict[str, dict[str, Any]] = {}  # build id -> override
        self.builds_completed: set[str] = set()
        self.faults: list[dict[str, Any]] = []
        self.held_certificates: set[str] = set()  # ARNs whose status a test set
        self.deleted_dists: dict[str, list[tuple[float, str, str]]] = {}  # acct -> (deleted at, id, config)
        self.quotas: dict[str, dict[str, int]] = {}  # acct -> policy kind -> quota (see POLICY_QUOTAS)
        self.requests: list[dict[str, Any]] = []  # the request log (see record_request)
        self.request_seq = 0


S = State()


def reset_state() -> None:
    global S
    with LOCK:
        S = State()


# --------------------------------------------------------------------------- #
# moto backends
# --------------------------------------------------------------------------- #


def cf_backend(account: str):
    from moto.cloudfront.models import cloudfront_backends

    return cloudfront_backends[account]["aws"]


def cb_backend(account: str, region: str):
    from moto.codebuild.models import codebuild_backends

    return codebuild_backends[account][region]


def cp_backend(account: str, region: str):
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[account][region]


def find_pipeline(account: str, name: str, region: str | None = None):
    from moto.codepipeline.models import codepipeline_backends

    regions = [region] if region else list(codepipeline_backends[account].keys())
    for r in regions:
        be = codepipeline_backends[account][r]
        if name in be.pipelines:
            return r, be.pipelines[name]
    return None, None


# =========================================================================== #
# CloudFront KeyValueStore data plane (restJson1)
# =========================================================================== #

KVS_KEY_MAX_CHARS = 512
KVS_VALUE_MAX_BYTES = 1024
KVS_STORE_MAX_BYTES = 5 * 1024 * 1024


def kvs_lookup(arn: str) -> dict[str, Any]:
    m = re.match(r"^arn:(aws[\w-]*):cloudfront::(\d{12}):key-value-store/([\w-]+)$", arn)
    if not m:
        raise ApiError(400, "ValidationException", f"Invalid KvsARN: {arn}")
    account = m.group(2)
    from moto.cloudfront.models import cloudfront_backends

    store = None
    try:
        be = cloudfront_backends[account][m.group(1)]
        store = next((s for s in be.key_value_stores.values() if s.arn == arn), None)
    except KeyError:
        store = None
    if store is None:
        S.kvs.pop(arn, None)
        raise ApiError(404, "ResourceNotFoundException", f"Key value store {arn} does not exist")
    data = S.kvs.get(arn)
    if data is None or data.get("store_id") != id(store):
        created = getattr(store, "last_modified_time", None) or now_dt()
        if isinstance(created, str):
            created = now_dt()
        if created.tzinfo is None:
            created = created.replace(tzinfo=timezone.utc)
        data = {"store_id": id(store), "items": {}, "etag": rand_id("KV", 12), "created": created,
                "modified": None}
        S.kvs[arn] = data
    return data


def kvs_size(items: dict[str, str]) -> int:
    return sum(len(k.encode()) + len(v.encode()) for k, v in items.items())


def kvs_check_key(key: Any) -> str:
    if not isinstance(key, str) or len(key) < 1:
        raise ApiError(400, "ValidationException", "Key must be a non-empty string")
    if len(key) > KVS_KEY_MAX_CHARS:
        raise ApiError(400, "ValidationException",
                       f"Key size exceeds the maximum of {KVS_KEY_MAX_CHARS} characters")
    return key


def kvs_check_value(value: Any) -> str:
    if not isinstance(value, str):
        raise ApiError(400, "ValidationException", "Value must be a string")
    if len(value.encode()) > KVS_VALUE_MAX_BYTES:
        raise ApiError(400, "ValidationException",
                       f"Value size exceeds the maximum of {KVS_VALUE_MAX_BYTES} bytes")
    return value


def kvs_write(data: dict[str, Any], req: Req, new_items: dict[str, str]) -> Resp:
    size = kvs_size(new_items)
    if size > KVS_STORE_MAX_BYTES:
        raise ApiError(402, "ServiceQuotaExceededException",
                       f"Total size of the key value store would exceed {KVS_STORE_MAX_BYTES} bytes")
    data["items"] = new_items
    data["etag"] = rand_id("KV", 12)
    data["modified"] = now_dt()
    return json_resp({"ItemCount": len(new_items), "TotalSizeInBytes": size}, headers=[("ETag", data["etag"])])


def kvs_if_match(data: dict[str, Any], req: Req) -> None:
    if_match = req.headers.get("If-Match")
    if not if_match:
        raise ApiError(400, "ValidationException", "The If-Match header is required")
    if if_match.strip('"') != data["etag"]:
        raise ApiError(409, "ConflictException",
                       "The provided If-Match does not match the current ETag of the key value store")


def handle_kvs(req: Req) -> Resp:
    segs = req.segments  # ["key-value-stores", arn, ("keys", (key))]
    arn = segs[1]
    rest = segs[2:]
    with LOCK:
        data = kvs_lookup(arn)
        items: dict[str, str] = data["items"]
        if not rest and req.method == "GET":  # DescribeKeyValueStore
            body = {"ItemCount": len(items), "TotalSizeInBytes": kvs_size(items), "KvsARN": arn,
                    "Created": epoch(data["created"]), "Status": "READY"}
            body["LastModified"] = epoch(data["modified"] or data["created"])
            return json_resp(body, headers=[("ETag", data["etag"])])
        if rest == ["keys"] and req.method == "GET":  # ListKeys
            max_results = req.q("MaxResults")
            try:
                limit = int(max_results) if max_results is not None else 10
            except ValueError:
                raise ApiError(400, "ValidationException", "MaxResults must be an integer")
            if not 1 <= limit <= 50:
                raise ApiError(400, "ValidationException", "MaxResults must be between 1 and 50")
            keys = sorted(items)
            start = 0
            token = req.q("NextToken")
            if token:
                try:
                    after = base64.urlsafe_b64decode(token.encode()).decode()
                except Exception:
                    raise ApiError(400, "ValidationException", "Invalid NextToken")
                start = next((i for i, k in enumerate(keys) if k > after), len(keys))
            page = keys[start : start + limit]
            out: dict[str, Any] = {"Items": [{"Key": k, "Value": items[k]} for k in page]}
            if start + limit < len(keys):
                out["NextToken"] = base64.urlsafe_b64encode(page[-1].encode()).decode()
            return json_resp(out)
        if rest == ["keys"] and req.method == "POST":  # UpdateKeys
            body = req.json()
            kvs_if_match(data, req)
            puts = body.get("Puts") or []
            deletes = body.get("Deletes") or []
            if not isinstance(puts, list) or not isinstance(deletes, list):
                raise ApiError(400, "ValidationException", "Puts and Deletes must be lists")
            new_items = dict(items)
            seen: set[str] = set()
            for d in deletes:
                k = kvs_check_key((d or {}).get("Key"))
                if k in seen:
                    raise ApiError(400, "ValidationException", f"Key {k} appears more than once")
                seen.add(k)
                new_items.pop(k, None)
            for p in puts:
                k = kvs_check_key((p or {}).get("Key"))
                v = kvs_check_value((p or {}).get("Value"))
                if k in seen:
                    raise ApiError(400, "ValidationException", f"Key {k} appears more than once")
                seen.add(k)
                new_items[k] = v
            return kvs_write(data, req, new_items)
        if len(rest) == 2 and rest[0] == "keys":
            key = rest[1]
            if req.method == "GET":  # GetKey
                if key not in items:
                    raise ApiError(404, "ResourceNotFoundException", f"Key {key} not found")
                return json_resp({"Key": key, "Value": items[key], "ItemCount": len(items),
                                  "TotalSizeInBytes": kvs_size(items)})
            if req.method == "PUT":  # PutKey
                body = req.json()
                kvs_check_key(key)
                if "Value" not in body:
                    raise ApiError(400, "ValidationException", "Value is required")
                value = kvs_check_value(body.get("Value"))
                kvs_if_match(data, req)
                new_items = dict(items)
                new_items[key] = value
                return kvs_write(data, req, new_items)
            if req.method == "DELETE":  # DeleteKey
                kvs_if_match(data, req)
                if key not in items:
                    raise ApiError(404, "ResourceNotFoundException", f"Key {key} not found")
                new_items = dict(items)
                del new_items[key]
                return kvs_write(data, req, new_items)
    raise ApiError(404, "UnknownOperationException", f"No KeyValueStore operation for {req.method} {req.raw_path}")


# =========================================================================== #
# CloudFront: cache policies and response-headers policies (restXml)
# =========================================================================== #

POLICY_KINDS = {
    "cache-policy": {
        "kind": "cache", "root": "CachePolicy", "config": "CachePolicyConfig", "list": "CachePolicyList",
        "summary": "CachePolicySummary", "nosuch": "NoSuchCachePolicy", "exists": "CachePolicyAlreadyExists",
        "inuse": "CachePolicyInUse", "ref": "CachePolicyId", "toomany": "TooManyCachePolicies",
    },
    "response-headers-policy": {
        "kind": "rh", "root": "ResponseHeadersPolicy", "config": "ResponseHeadersPolicyConfig",
        "list": "ResponseHeadersPolicyList", "summary": "ResponseHeadersPolicySummary",
        "nosuch": "NoSuchResponseHeadersPolicy", "exists": "ResponseHeadersPolicyAlreadyExists",
        "inuse": "ResponseHeadersPolicyInUse", "ref": "ResponseHeadersPolicyId",
        "toomany": "TooManyResponseHeadersPolicies",
    },
}


def _managed_cache_policy(pid: str, name: str, comment: str, ttl: tuple[int, int, int], compress: bool) -> dict[str, Any]:
    mn, df, mx = ttl
    c = "true" if compress else "false"
    inner = (f"<Comment>{esc(comment)}</Comment><Name>{name}</Name><DefaultTTL>{df}</DefaultTTL>"
             f"<MaxTTL>{mx}</MaxTTL><MinTTL>{mn}</MinTTL><ParametersInCacheKeyAndForwardedToOrigin>"
             f"<EnableAcceptEncodingGzip>{c}</EnableAcceptEncodingGzip>"
             f"<EnableAcceptEncodingBrotli>{c}</EnableAcceptEncodingBrotli>"
             "<HeadersConfig><HeaderBehavior>none</HeaderBehavior></HeadersConfig>"
             "<CookiesConfig><CookieBehavior>none</CookieBehavior></CookiesConfig>"
             "<QueryStringsConfig><QueryStringBehavior>none</QueryStringBehavior></QueryStringsConfig>"
             "</ParametersInCacheKeyAndForwardedToOrigin>")
    return {"id": pid, "name": name, "config": inner, "etag": "E23ZP02F085DFQ",
            "modified": datetime(2020, 10, 1, tzinfo=timezone.utc), "managed": True}


MANAGED_CACHE_POLICIES = {
    p["id"]: p
    for p in [
        _managed_cache_policy("658327ea-f89d-4fab-a63d-7e88639e58f6", "Managed-CachingOptimized",
                              "Policy with caching enabled. Supports Gzip and Brotli compression.",
                              (1, 86400, 31536000), True),
        _managed_cache_policy("4135ea2d-6df8-4b16-a52c-6f5efd6e4e6a", "Managed-CachingDisabled",
                              "Policy with caching disabled", (0, 0, 0), False),
        _managed_cache_policy("b2884449-e4de-46a7-ac36-70bc7f1ddd6d",
                              "Managed-CachingOptimizedForUncompressedObjects",
                              "Default policy when compression is disabled", (1, 86400, 31536000), False),
    ]
}


# Custom policies per account (AWS General Reference, "Amazon CloudFront endpoints and quotas":
# cache policies 20, not adjustable; response headers policies 20). POST /_emulator/quotas
# sets an account's own figure (a raised quota, or a small one for a test).
POLICY_QUOTAS = {"cache": 20, "rh": 20}


def policy_quota(kind: str, account: str) -> int:
    return S.quotas.get(account, {}).get(kind, POLICY_QUOTAS[kind])


def policy_store(kind: str, account: str) -> dict[str, dict[str, Any]]:
    return S.policies[kind].setdefault(account, {})


def policy_all(kind: str, account: str) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = dict(MANAGED_CACHE_POLICIES) if kind == "cache" else {}
    out.update(policy_store(kind, account))
    return out


def render_policy(spec: dict[str, str], p: dict[str, Any]) -> str:
    return (f"<Id>{p['id']}</Id><LastModifiedTime>{iso(p['modified'])}</LastModifiedTime>"
            f"<{spec['config']}>{p['config']}</{spec['config']}>")


def check_if_match(req: Req, etag: str) -> None:
    if_match = req.headers.get("If-Match")
    if not if_match:
        raise ApiError(400, "InvalidIfMatchVersion", "The If-Match version is missing or not valid for the resource.")
    if if_match.strip('"') != etag:
        raise ApiError(412, "PreconditionFailed", "The precondition given in one or more of the request-header fields evaluated to false.")


def handle_policy(req: Req, seg: str, rest: list[str]) -> Resp:
    spec = POLICY_KINDS[seg]
    kind = spec["kind"]
    account = req.account
    with LOCK:
        store = policy_store(kind, account)
        allp = policy_all(kind, account)
        if not rest:
            if req.method == "POST":  # Create
                inner = parse_xml_payload(req.body(), spec["config"])
                name = xml_text(inner, "Name")
                if not name:
                    raise ApiError(400, "InvalidArgument", "Name is required")
                if kind == "cache" and xml_text(inner, "MinTTL") is None:
                    raise ApiError(400, "InvalidArgument", "MinTTL is required")
                if any(p["name"] == name for p in allp.values()):
                    raise ApiError(409, spec["exists"], f"A policy with the name {name} already exists")
                if len(store) >= policy_quota(kind, account):
                    raise ApiError(400, spec["toomany"],
                                   f"You have reached the maximum number of {spec['root']} objects for this account "
                                   f"({policy_quota(kind, account)}).")
                pid = str(uuid.uuid4())
                p = {"id": pid, "name": name, "config": inner, "etag": new_etag(), "modified": now_dt(),
                     "managed": False}
                store[pid] = p
                loc = f"https://cloudfront.amazonaws.com/2020-05-31/{seg}/{pid}"
                return xml_resp(spec["root"], render_policy(spec, p), 201, [("ETag", p["etag"]), ("Location", loc)])
            if req.method == "GET":  # List
                typ = req.q("Type")
                if typ not in (None, "", "managed", "custom"):
                    raise ApiError(400, "InvalidArgument", "Type must be managed or custom")
                entries = [p for p in allp.values()
                           if not typ or (typ == "managed") == bool(p.get("managed"))]
                return list_page(req, entries, spec["list"], lambda p: (
                    f"<{spec['summary']}><Type>{'managed' if p.get('managed') else 'custom'}</Type>"
                    f"<{spec['root']}>{render_policy(spec, p)}</{spec['root']}></{spec['summary']}>"), key="id")
        pid = rest[0]
        p = allp.get(pid)
        if p is None:
            raise ApiError(404, spec["nosuch"], f"The {spec['root']} {pid} does not exist.")
        if rest[1:] == ["config"] and req.method == "GET":
            return xml_resp(spec["config"], p["config"], headers=[("ETag", p["etag"])])
        if len(rest) == 1 and req.method == "GET":
            return xml_resp(spec["root"], render_policy(spec, p), headers=[("ETag", p["etag"])])
        if len(rest) == 1 and req.method == "PUT":  # Update
            inner = parse_xml_payload(req.body(), spec["config"])
            if p.get("managed"):
                raise ApiError(400, "IllegalUpdate", "Managed policies cannot be updated")
            check_if_match(req, p["etag"])
            name = xml_text(inner, "Name")
            if not name:
                raise ApiError(400, "InvalidArgument", "Name is required")
            if any(o["name"] == name and o["id"] != pid for o in allp.values()):
                raise ApiError(409, spec["exists"], f"A policy with the name {name} already exists")
            p.update(config=inner, name=name, etag=new_etag(), modified=now_dt())
            return xml_resp(spec["root"], render_policy(spec, p), headers=[("ETag", p["etag"])])
        if len(rest) == 1 and req.method == "DELETE":
            if p.get("managed"):
                raise ApiError(400, "IllegalDelete", "Managed policies cannot be deleted")
            check_if_match(req, p["etag"])
            users = dists_referencing(account, spec["ref"], pid)
            if users:
                raise ApiError(409, spec["inuse"], f"The policy is in use by distribution(s) {', '.join(users)}")
            del store[pid]
            return Resp(204)
    raise ApiError(404, "NotFound", f"No CloudFront operation for {req.method} {req.raw_path}")


def list_page(req: Req, entries: list[Any], root: str, render: Callable[[Any], str], key: str,
              with_marker: bool = False) -> Resp:
    marker = req.q("Marker") or ""
    try:
        max_items = int(req.q("MaxItems") or 100)
    except ValueError:
        raise ApiError(400, "InvalidArgument", "MaxItems must be an integer")
    keys = [e[key] if isinstance(e, dict) else getattr(e, key) for e in entries]
    start = keys.index(marker) if marker in keys else 0
    page = entries[start : start + max_items]
    nxt = keys[start + max_items] if start + max_items < len(entries) else None
    inner = ""
    if with_marker:
        inner += el("Marker", marker)
    if nxt:
        inner += el("NextMarker", nxt)
    inner += el("MaxItems", max_items)
    if with_marker:
        inner += el("IsTruncated", nxt is not None)
    inner += el("Quantity", len(page))
    if page:
        inner += "<Items>" + "".join(render(e) for e in page) + "</Items>"
    return xml_resp(root, inner)


# =========================================================================== #
# CloudFront Functions
# =========================================================================== #

FUNCTION_CODE_MAX = 10240
FUNCTION_RUNTIMES = ("cloudfront-js-1.0", "cloudfront-js-2.0")


def function_arn(account: str, name: str) -> str:
    return f"arn:aws:cloudfront::{account}:function/{name}"


def validate_function_config(account: str, config: str) -> None:
    runtime = xml_text(config, "Runtime")
    if runtime not in FUNCTION_RUNTIMES:
        raise ApiError(400, "InvalidArgument", f"Runtime must be one of {', '.join(FUNCTION_RUNTIMES)}")
    if xml_child(config, "Comment") is None:
        raise ApiError(400, "InvalidArgument", "FunctionConfig.Comment is required")
    assoc = xml_child(config, "KeyValueStoreAssociations")
    if assoc is not None:
        arns = xml_find_all_text(assoc, "KeyValueStoreARN")
        qty = xml_text(assoc, "Quantity")
        if qty is None or not qty.isdigit() or int(qty) != len(arns):
            raise ApiError(400, "InvalidArgument", "KeyValueStoreAssociations.Quantity does not match the number of items")
        if len(arns) > 1:
            raise ApiError(400, "InvalidArgument", "A function can be associated with at most one key value store")
        if arns and runtime != "cloudfront-js-2.0":
            raise ApiError(400, "InvalidArgument", "Key value stores require runtime cloudfront-js-2.0")
        for arn in arns:
            try:
                kvs_lookup(arn)
            except ApiError:
                raise ApiError(400, "InvalidArgument", f"The key value store {arn} does not exist")


def decode_function_code(text: str | None) -> bytes:
    if text is None:
        raise ApiError(400, "InvalidArgument", "FunctionCode is required")
    try:
        code = base64.b64decode(text.strip().encode(), validate=False)
    except Exception:
        raise ApiError(400, "InvalidArgument", "FunctionCode must be base64 encoded")
    if not code:
        raise ApiError(400, "InvalidArgument", "FunctionCode must not be empty")
    if len(code) > FUNCTION_CODE_MAX:
        raise ApiError(413, "FunctionSizeLimitExceeded",
                       f"The function code is {len(code)} bytes; the maximum is {FUNCTION_CODE_MAX} bytes")
    return code


def function_status(account: str, f: dict[str, Any], stage: str) -> str:
    if stage == "DEVELOPMENT" and (f["live"] is None or f["dev_dirty"]):
        return "UNPUBLISHED"
    return "DEPLOYED" if dists_referencing(account, "FunctionARN", f["arn"], releasing=False) else "UNASSOCIATED"


def render_function_summary(account: str, f: dict[str, Any], stage: str) -> str:
    st = f["dev"] if stage == "DEVELOPMENT" else f["live"]
    return (f"<Name>{esc(f['name'])}</Name><Status>{function_status(account, f, stage)}</Status>"
            f"<FunctionConfig>{st['config']}</FunctionConfig>"
            f"<FunctionMetadata><FunctionARN>{esc(f['arn'])}</FunctionARN><Stage>{stage}</Stage>"
            f"<CreatedTime>{iso(f['created'])}</CreatedTime>"
            f"<LastModifiedTime>{iso(st['modified'])}</LastModifiedTime></FunctionMetadata>")


def get_function(account: str, name: str) -> dict[str, Any]:
    f = S.functions.setdefault(account, {}).get(name)
    if f is None:
        raise ApiError(404, "NoSuchFunctionExists", f"The function {name} does not exist.")
    return f


def stage_param(req: Req) -> str:
    stage = req.q("Stage") or "DEVELOPMENT"
    if stage not in ("DEVELOPMENT", "LIVE"):
        raise ApiError(400, "InvalidArgument", "Stage must be DEVELOPMENT or LIVE")
    return stage


def function_stage(f: dict[str, Any], stage: str) -> dict[str, Any]:
    st = f["dev"] if stage == "DEVELOPMENT" else f["live"]
    if st is None:
        raise ApiError(404, "NoSuchFunctionExists", f"The function {f['name']} has no {stage} stage.")
    return st


def handle_function(req: Req, rest: list[str]) -> Resp:
    account = req.account
    with LOCK:
        funcs = S.functions.setdefault(account, {})
        if not rest and req.method == "POST":  # CreateFunction
            inner = parse_xml_payload(req.body(), "CreateFunctionRequest")
            name = xml_text(inner, "Name") or ""
            if not re.fullmatch(r"[a-zA-Z0-9\-_]{1,64}", name):
                raise ApiError(400, "InvalidArgument", "Function name must match [a-zA-Z0-9-_]{1,64}")
            config = xml_child(inner, "FunctionConfig")
            if config is None:
                raise ApiError(400, "InvalidArgument", "FunctionConfig is required")
            validate_function_config(account, config)
            code = decode_function_code(xml_text(inner, "FunctionCode"))
            if name in funcs:
                raise ApiError(409, "FunctionAlreadyExists", f"A function with the name {name} already exists.")
            t = now_dt()
            f = {"name": name, "arn": function_arn(account, name), "created": t,
                 "dev": {"config": config, "code": code, "etag": new_etag(), "modified": t},
                 "live": None, "dev_dirty": True}
            funcs[name] = f
            tags = parse_tags_xml(xml_child(inner, "Tags") or "")
            if tags:
                cf_backend(account).tagger.tag_resource(f["arn"], tags)
            loc = f"https://cloudfront.amazonaws.com/2020-05-31/function/{f['arn']}"
            return xml_resp("FunctionSummary", render_function_summary(account, f, "DEVELOPMENT"), 201,
                            [("ETag", f["dev"]["etag"]), ("Location", loc)])
        if not rest and req.method == "GET":  # ListFunctions
            stage = req.q("Stage")
            if stage not in (None, "", "DEVELOPMENT", "LIVE"):
                raise ApiError(400, "InvalidArgument", "Stage must be DEVELOPMENT or LIVE")
            entries = []
            for f in funcs.values():
                for st in ("DEVELOPMENT", "LIVE"):
                    if stage and st != stage:
                        continue
                    if st == "LIVE" and f["live"] is None:
                        continue
                    entries.append({"key": f"{f['name']}:{st}", "f": f, "stage": st})
            return list_page(req, entries, "FunctionList", lambda e: (
                "<FunctionSummary>" + render_function_summary(account, e["f"], e["stage"]) + "</FunctionSummary>"),
                key="key")
        if not rest:
            raise ApiError(405, "MethodNotAllowed", "Unsupported method")
        name = rest[0]
        f = get_function(account, name)
        if len(rest) == 1 and req.method == "GET":  # GetFunction
            stage = stage_param(req)
            st = function_stage(f, stage)
            return Resp(200, st["code"], [("ETag", st["etag"])], "application/octet-stream")
        if rest[1:] == ["describe"] and req.method == "GET":  # DescribeFunction
            stage = stage_param(req)
            st = function_stage(f, stage)
            return xml_resp("FunctionSummary", render_function_summary(account, f, stage),
                            headers=[("ETag", st["etag"])])
        if len(rest) == 1 and req.method == "PUT":  # UpdateFunction
            inner = parse_xml_payload(req.body(), "UpdateFunctionRequest")
            check_if_match(req, f["dev"]["etag"])
            config = xml_child(inner, "FunctionConfig")
            if config is None:
                raise ApiError(400, "InvalidArgument", "FunctionConfig is required")
            validate_function_config(account, config)
            code = decode_function_code(xml_text(inner, "FunctionCode"))
            f["dev"] = {"config": config, "code": code, "etag": new_etag(), "modified": now_dt()}
            f["dev_dirty"] = True
            etag = f["dev"]["etag"]
            # The service model names UpdateFunction's ETag header "ETtag" (sic): send both.
            return xml_resp("FunctionSummary", render_function_summary(account, f, "DEVELOPMENT"),
                            headers=[("ETag", etag), ("ETtag", etag)])
        if rest[1:] == ["publish"] and req.method == "POST":  # PublishFunction
            check_if_match(req, f["dev"]["etag"])
            t = now_dt()
            f["live"] = {"config": f["dev"]["config"], "code": f["dev"]["code"], "etag": new_etag(), "modified": t}
            f["dev"] = dict(f["dev"], etag=new_etag())
            f["dev_dirty"] = False
            return xml_resp("FunctionSummary", render_function_summary(account, f, "LIVE"))
        if rest[1:] == ["test"] and req.method == "POST":
            raise ApiError(400, "UnsupportedOperation", "TestFunction is not emulated")
        if len(rest) == 1 and req.method == "DELETE":  # DeleteFunction
            check_if_match(req, f["dev"]["etag"])
            users = dists_referencing(account, "FunctionARN", f["arn"])
            if users:
                raise ApiError(409, "FunctionInUse", f"The function is associated with distribution(s) {', '.join(users)}")
            del funcs[name]
            try:
                cf_backend(account).tagger.delete_all_tags_for_resource(f["arn"])
            except Exception:
                pass
            return Resp(204)
    raise ApiError(404, "NotFound", f"No CloudFront operation for {req.method} {req.raw_path}")


def parse_tags_xml(tags_inner: str) -> list[dict[str, str]]:
    out = []
    for item in xml_path(tags_inner, "Items", "Tag"):
        k = xml_text(item, "Key")
        if k is not None:
            out.append({"Key": k, "Value": xml_text(item, "Value") or ""})
    return out


# =========================================================================== #
# CloudFront distributions: keep the submitted DistributionConfig verbatim
# =========================================================================== #


def dist_store(account: str) -> dict[str, dict[str, Any]]:
    return S.dists.setdefault(account, {})


# Deleting a distribution does not free what it used at once: for a while ACM answers
# ResourceInUseException for its certificate, and CloudFront's in-use errors persist
# (terraform-provider-aws retries ACM deletes for up to 10 minutes, issue #3866; CONFORMANCE.md).
# The emulator keeps a deleted distribution's references "in use" for this many seconds.
IN_USE_LAG_SECONDS = float(os.environ.get("EMULATOR_IN_USE_LAG_SECONDS", "2"))


def dists_referencing(account: str, element: str, value: str, exclude: str | None = None,
                      releasing: bool = True) -> list[str]:
    """Distributions whose config names `value` in `element`; with `releasing`, also those
    deleted less than IN_USE_LAG_SECONDS ago (what in-use checks see)."""
    users = []
    for did, st in dist_store(account).items():
        if did == exclude:
            continue
        if value in xml_find_all_text(st["config"], element):
            users.append(did)
    cutoff = time.time() - IN_USE_LAG_SECONDS
    for deleted_at, did, config in S.deleted_dists.get(account, []):
        if releasing and deleted_at > cutoff and value in xml_find_all_text(config, element):
            users.append(f"{did} (deleted, still releasing it)")
    return users


def handle_acm_delete_certificate(app: "EmulatorApp", req: Req) -> Resp:
    """ACM refuses to delete a certificate a CloudFront distribution uses (or used moments ago)."""
    arn = req.json().get("CertificateArn", "")
    with LOCK:
        users = dists_referencing(req.account, "ACMCertificateArn", arn)
        if users:
            raise ApiError(400, "ResourceInUseException",
                           f"Certificate {arn} is in use by CloudFront distribution(s) {', '.join(users)}.")
        status, headers, body = app.call_moto(req.environ)
        return Resp(status, body, headers)


def handle_oac_delete(app: "EmulatorApp", req: Req, oid: str) -> Resp:
    """CloudFront refuses to delete an origin access control a distribution uses."""
    with LOCK:
        users = dists_referencing(req.account, "OriginAccessControlId", oid)
        if users:
            raise ApiError(409, "OriginAccessControlInUse",
                           f"The origin access control is in use by distribution(s) {', '.join(users)}.")
        return app.passthrough_resp(req)


def validate_dist_config(account: str, config: str, dist_id: str | None) -> None:
    for pid in set(xml_find_all_text(config, "CachePolicyId")):
        if pid and pid not in policy_all("cache", account):
            raise ApiError(404, "NoSuchCachePolicy", f"The cache policy {pid} does not exist.")
    for pid in set(xml_find_all_text(config, "ResponseHeadersPolicyId")):
        if pid and pid not in policy_all("rh", account):
            raise ApiError(404, "NoSuchResponseHeadersPolicy", f"The response headers policy {pid} does not exist.")
    funcs = S.functions.get(account, {})
    for arn in set(xml_find_all_text(config, "FunctionARN")):
        name = arn.rsplit("/", 1)[-1]
        f = funcs.get(name)
        if f is None or f["arn"] != arn:
            raise ApiError(400, "InvalidFunctionAssociation", f"The function {arn} does not exist.")
        if f["live"] is None:
            raise ApiError(400, "InvalidFunctionAssociation",
                           f"The function {arn} has not been published (it has no LIVE stage).")
    oacs = cf_backend(account).origin_access_controls
    for oid in set(xml_find_all_text(config, "OriginAccessControlId")):
        if oid and oid not in oacs:
            raise ApiError(400, "InvalidOriginAccessControl", f"The origin access control {oid} does not exist.")
    aliases_inner = xml_child(config, "Aliases") or ""
    aliases = xml_find_all_text(aliases_inner, "CNAME")
    for other, st in dist_store(account).items():
        if other == dist_id:
            continue
        taken = set(xml_find_all_text(xml_child(st["config"], "Aliases") or "", "CNAME"))
        clash = taken.intersection(aliases)
        if clash:
            raise ApiError(409, "CNAMEAlreadyExists",
                           f"One or more aliases ({', '.join(sorted(clash))}) already exist on distribution {other}.")


# ---- DistributionConfig as CloudFront returns it ------------------------------ #
# GetDistribution(Config) does not echo the submitted XML: CloudFront returns lists in its own
# order and fills in the defaults of everything not sent. Sources (CONFORMANCE.md): the AWS
# CLI's documented outputs, awscli/examples/cloudfront/{get-distribution-config,
# get-distribution,create-distribution,update-distribution}.rst.

# The documented order of the one method set whose order the examples show.
METHOD_ORDER = {frozenset(("GET", "HEAD")): ["HEAD", "GET"]}

# Defaults per element, in the order the examples list them: (name, default as XML text or a
# builder of sub-elements). A default is added only when the element is absent.
_QTY0 = "<Quantity>0</Quantity>"
DIST_DEFAULTS = [
    ("Aliases", _QTY0),
    ("DefaultRootObject", ""),
    ("OriginGroups", _QTY0),
    ("CacheBehaviors", _QTY0),
    ("CustomErrorResponses", _QTY0),
    ("Comment", ""),
    ("Logging", "<Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix>"),
    ("PriceClass", "PriceClass_All"),
    ("Restrictions", "<GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction>"),
    ("WebACLId", ""),
    ("HttpVersion", "http2"),
]
ORIGIN_DEFAULTS = [
    ("OriginPath", ""),
    ("CustomHeaders", _QTY0),
    ("ConnectionAttempts", "3"),
    ("ConnectionTimeout", "10"),
    ("OriginShield", "<Enabled>false</Enabled>"),
    ("OriginAccessControlId", ""),
]
BEHAVIOR_DEFAULTS = [
    ("TrustedSigners", "<Enabled>false</Enabled><Quantity>0</Quantity>"),
    ("TrustedKeyGroups", "<Enabled>false</Enabled><Quantity>0</Quantity>"),
    ("SmoothStreaming", "false"),
    ("Compress", "false"),
    ("LambdaFunctionAssociations", _QTY0),
    ("FunctionAssociations", _QTY0),
    ("FieldLevelEncryptionId", ""),
    ("GrpcConfig", "<Enabled>false</Enabled>"),
]


def _et_default(parent: ET.Element, defaults: list[tuple[str, str]]) -> None:
    for name, inner in defaults:
        if parent.find(name) is None:
            child = ET.fromstring(f"<{name}>{inner}</{name}>")
            parent.append(child)


def _et_methods(methods: ET.Element | None) -> None:
    if methods is None:
        return
    items = methods.find("Items")
    if items is None:
        return
    got = [m.text or "" for m in items.findall("Method")]
    order = METHOD_ORDER.get(frozenset(got))
    if order is not None and len(order) == len(got):
        for m, name in zip(items.findall("Method"), order):
            m.text = name


def _et_behavior(b: ET.Element) -> None:
    allowed = b.find("AllowedMethods")
    _et_methods(allowed)
    if allowed is not None:
        _et_methods(allowed.find("CachedMethods"))
    _et_default(b, BEHAVIOR_DEFAULTS)


def _et_viewer_certificate(cfg: ET.Element) -> None:
    vc = cfg.find("ViewerCertificate")
    if vc is None:
        vc = ET.SubElement(cfg, "ViewerCertificate")
    acm = vc.findtext("ACMCertificateArn")
    iam = vc.findtext("IAMCertificateId")
    if acm or iam:
        # get/create-distribution examples with an ACM certificate: CloudFrontDefaultCertificate
        # false, the deprecated Certificate field repeating the ARN, CertificateSource acm.
        _et_default(vc, [("CloudFrontDefaultCertificate", "false")])
        _et_default(vc, [("Certificate", esc(acm or iam)), ("CertificateSource", "acm" if acm else "iam")])
    else:
        # The default certificate: CloudFrontDefaultCertificate true, TLSv1, source cloudfront;
        # the newest create-distribution example also shows SSLSupportMethod sni-only.
        _et_default(vc, [("CloudFrontDefaultCertificate", "true"), ("SSLSupportMethod", "sni-only"),
                         ("MinimumProtocolVersion", "TLSv1"), ("CertificateSource", "cloudfront")])


def canonical_dist_config(inner: str) -> str:
    """The DistributionConfig inner XML as CloudFront would return it after storing `inner`."""
    cfg = ET.fromstring(f"<DistributionConfig>{inner}</DistributionConfig>")
    for origin in cfg.findall("Origins/Items/Origin"):
        _et_default(origin, ORIGIN_DEFAULTS)
    for b in [cfg.find("DefaultCacheBehavior"), *cfg.findall("CacheBehaviors/Items/CacheBehavior")]:
        if b is not None:
            _et_behavior(b)
    _et_default(cfg, DIST_DEFAULTS)
    _et_viewer_certificate(cfg)
    # The get-distribution-config example returns IsIPV6Enabled true for a distribution
    # created without it.
    _et_default(cfg, [("IsIPV6Enabled", "true")])
    return "".join(ET.tostring(c, encoding="unicode", short_empty_elements=False) for c in cfg)


ACTIVE_NONE = ("<ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>"
               "<ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>")


def render_distribution(dist: Any, st: dict[str, Any]) -> str:
    return (f"<Id>{dist.distribution_id}</Id><ARN>{esc(dist.arn)}</ARN><Status>{esc(dist.status)}</Status>"
            f"<LastModifiedTime>{iso(st['modified'])}</LastModifiedTime>"
            f"<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
            f"<DomainName>{esc(dist.domain_name)}</DomainName>{ACTIVE_NONE}"
            f"<DistributionConfig>{st['config']}</DistributionConfig>")


SUMMARY_FIELDS = [
    ("Aliases", "<Quantity>0</Quantity>"),
    ("Origins", None),
    ("OriginGroups", "<Quantity>0</Quantity>"),
    ("DefaultCacheBehavior", None),
    ("CacheBehaviors", "<Quantity>0</Quantity>"),
    ("CustomErrorResponses", "<Quantity>0</Quantity>"),
    ("Comment", ""),
    ("PriceClass", "PriceClass_All"),
    ("Enabled", None),
    ("ViewerCertificate", "<CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate>"
                          "<MinimumProtocolVersion>TLSv1</MinimumProtocolVersion>"
                          "<CertificateSource>cloudfront</CertificateSource>"),
    ("Restrictions", "<GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity>"
                     "</GeoRestriction>"),
    ("WebACLId", ""),
    ("HttpVersion", "http2"),
    ("IsIPV6Enabled", "true"),
    ("Staging", "false"),
]


def render_dist_summary(dist: Any, st: dict[str, Any]) -> str:
    out = (f"<Id>{dist.distribution_id}</Id><ARN>{esc(dist.arn)}</ARN><ETag>{st['etag']}</ETag>"
           f"<Status>{esc(dist.status)}</Status><LastModifiedTime>{iso(st['modified'])}</LastModifiedTime>"
           f"<DomainName>{esc(dist.domain_name)}</DomainName>")
    cfg = st["config"]
    for name, default in SUMMARY_FIELDS:
        inner = xml_child(cfg, name)
        if inner is None:
            inner = default
        if inner is not None:
            out += f"<{name}>{inner}</{name}>"
    return out


def moto_dist(account: str, did: str):
    be = cf_backend(account)
    dist = be.distributions.get(did)
    if dist is None:
        raise ApiError(404, "NoSuchDistribution", "The specified distribution does not exist.")
    return dist


def handle_distribution(app: "EmulatorApp", req: Req, rest: list[str]) -> Resp:
    account = req.account
    with LOCK:
        store = dist_store(account)
        if not rest and req.method == "POST":  # CreateDistribution(WithTags)
            with_tags = "WithTags" in req.qs
            if with_tags:
                outer = parse_xml_payload(req.body(), "DistributionConfigWithTags")
                config = xml_child(outer, "DistributionConfig")
                if config is None:
                    raise ApiError(400, "MalformedInput", "DistributionConfig is required")
            else:
                config = parse_xml_payload(req.body(), "DistributionConfig")
            validate_dist_config(account, config, None)
            status, headers, body = app.call_moto(req.environ)
            if status >= 300:
                return Resp(status, body, headers)
            did = xml_text(xml_children(body.decode())[0][1], "Id")
            dist = moto_dist(account, did)
            st = {"config": canonical_dist_config(config), "etag": new_etag(), "modified": now_dt()}
            store[did] = st
            return xml_resp("Distribution", render_distribution(dist, st), 201,
                            [("ETag", st["etag"]), ("Location", dist.location)])
        if not rest and req.method == "GET":  # ListDistributions
            be = cf_backend(account)
            entries = []
            for did, dist in be.distributions.items():
                dist.advance()
                if did in store:
                    entries.append({"id": did, "dist": dist})
            return list_page(req, entries, "DistributionList",
                             lambda e: "<DistributionSummary>" + render_dist_summary(e["dist"], store[e["id"]])
                             + "</DistributionSummary>", key="id", with_marker=True)
        if not rest:
            raise ApiError(405, "MethodNotAllowed", "Unsupported method")
        did = rest[0]
        if len(rest) >= 2 and rest[1] == "invalidation":
            return app.passthrough_resp(req)
        dist = moto_dist(account, did)
        st = store.get(did)
        if st is None:  # created behind our back (should not happen): let moto answer
            return app.passthrough_resp(req)
        if len(rest) == 1 and req.method == "GET":  # GetDistribution
            dist.advance()
            return xml_resp("Distribution", render_distribution(dist, st), headers=[("ETag", st["etag"])])
        if rest[1:] == ["config"] and req.method == "GET":  # GetDistributionConfig
            dist.advance()
            return xml_resp("DistributionConfig", st["config"], headers=[("ETag", st["etag"])])
        if rest[1:] == ["config"] and req.method == "PUT":  # UpdateDistribution
            config = parse_xml_payload(req.body(), "DistributionConfig")
            check_if_match(req, st["etag"])
            if xml_text(config, "CallerReference") != xml_text(st["config"], "CallerReference"):
                raise ApiError(400, "IllegalUpdate", "The CallerReference of a distribution cannot be changed.")
            validate_dist_config(account, config, did)
            status, headers, body = app.call_moto(req.environ)
            if status >= 300:
                return Resp(status, body, headers)
            st.update(config=canonical_dist_config(config), etag=new_etag(), modified=now_dt())
            dist = moto_dist(account, did)
            dist.status = "InProgress"  # moto's state manager decides when it reads Deployed
            dist._tick = 0
            return xml_resp("Distribution", render_distribution(dist, st), headers=[("ETag", st["etag"])])
        if len(rest) == 1 and req.method == "DELETE":  # DeleteDistribution
            check_if_match(req, st["etag"])
            if (xml_text(st["config"], "Enabled") or "").lower() == "true":
                raise ApiError(409, "DistributionNotDisabled", "The distribution you are trying to delete has not been disabled.")
            if dist.status != "Deployed":
                raise ApiError(409, "DistributionNotDisabled",
                               "The distribution is still being deployed (Status is not Deployed yet).")
            status, headers, body = app.call_moto(req.environ)
            if status < 300:
                gone = store.pop(did, None)
                if gone is not None:
                    S.deleted_dists.setdefault(account, []).append((time.time(), did, gone["config"]))
                try:
                    cf_backend(account).tagger.delete_all_tags_for_resource(dist.arn)
                except Exception:
                    pass
            return Resp(status, body, headers)
    return app.passthrough_resp(req)


def handle_distributions_by(req: Req, element: str, kind: str, pid: str) -> Resp:
    account = req.account
    with LOCK:
        if pid not in policy_all(kind, account):
            code = "NoSuchCachePolicy" if kind == "cache" else "NoSuchResponseHeadersPolicy"
            raise ApiError(404, code, f"The policy {pid} does not exist.")
        ids = [{"id": d} for d in dists_referencing(account, element, pid, releasing=False)]
        return list_page(req, ids, "DistributionIdList", lambda e: el("DistributionId", e["id"]), key="id",
                         with_marker=True)


def handle_kvs_control(app: "EmulatorApp", req: Req, rest: list[str]) -> Resp:
    """If-Match on UpdateKeyValueStore/DeleteKeyValueStore; deleting drops the data."""
    account = req.account
    with LOCK:
        if len(rest) == 1 and req.method in ("PUT", "DELETE"):
            be = cf_backend(account)
            store = be.key_value_stores.get(rest[0])
            if store is None:
                return app.passthrough_resp(req)
            check_if_match(req, store.etag)
            if req.method == "DELETE":
                for f in S.functions.get(account, {}).values():
                    for stage in (f["dev"], f["live"]):
                        if stage and store.arn in xml_find_all_text(stage["config"], "KeyValueStoreARN"):
                            raise ApiError(409, "CannotDeleteEntityWhileInUse",
                                           f"The key value store is associated with function {f['name']}.")
            status, headers, body = app.call_moto(req.environ)
            if status < 300 and req.method == "DELETE":
                S.kvs.pop(store.arn, None)
            return Resp(status, body, headers)
    return app.passthrough_resp(req)


def handle_cloudfront(app: "EmulatorApp", req: Req) -> Resp | None:
    segs = req.segments[1:]  # after "2020-05-31"
    if not segs:
        return None
    head, rest = segs[0], [s for s in segs[1:]]
    if rest and rest[-1] == "":
        rest = rest[:-1]
    if head in POLICY_KINDS:
        return handle_policy(req, head, rest)
    if head == "function":
        return handle_function(req, rest)
    if head == "distribution":
        return handle_distribution(app, req, rest)
    if head == "distributionsByCachePolicyId" and rest:
        return handle_distributions_by(req, "CachePolicyId", "cache", rest[0])
    if head == "distributionsByResponseHeadersPolicyId" and rest:
        return handle_distributions_by(req, "ResponseHeadersPolicyId", "rh", rest[0])
    if head == "key-value-store" and rest:
        return handle_kvs_control(app, req, rest)
    if head == "origin-access-control" and len(rest) == 1 and req.method == "DELETE":
        return handle_oac_delete(app, req, rest[0])
    return None


# =========================================================================== #
# CodeStar connections (awsJson1_0)
# =========================================================================== #

PROVIDER_TYPES = ("Bitbucket", "GitHub", "GitHubEnterpriseServer", "GitLab", "GitLabSelfManaged")


def connection_public(c: dict[str, Any]) -> dict[str, Any]:
    out = {k: c[k] for k in ("ConnectionName", "ConnectionArn", "ProviderType", "OwnerAccountId",
                             "ConnectionStatus") if c.get(k) is not None}
    if c.get("HostArn"):
        out["HostArn"] = c["HostArn"]
    return out


def get_connection(arn: Any) -> dict[str, Any]:
    if not isinstance(arn, str) or not arn:
        raise ApiError(400, "ValidationException", "ConnectionArn is required")
    c = S.connections.get(arn)
    if c is None:
        raise ApiError(400, "ResourceNotFoundException", f"Connection {arn} does not exist")
    return c


def check_tags(tags: Any) -> list[dict[str, str]]:
    if tags is None:
        return []
    if not isinstance(tags, list):
        raise ApiError(400, "ValidationException", "Tags must be a list")
    for t in tags:
        if not isinstance(t, dict) or not isinstance(t.get("Key"), str) or not isinstance(t.get("Value"), str):
            raise ApiError(400, "ValidationException", "Each tag needs a Key and a Value")
        if not 1 <= len(t["Key"]) <= 128 or len(t["Value"]) > 256:
            raise ApiError(400, "ValidationException", "Tag key or value too long")
    return [{"Key": t["Key"], "Value": t["Value"]} for t in tags]


def merge_tags(old: list[dict[str, str]], new: list[dict[str, str]]) -> list[dict[str, str]]:
    d = {t["Key"]: t["Value"] for t in old}
    d.update({t["Key"]: t["Value"] for t in new})
    if len(d) > 50:
        raise ApiError(400, "LimitExceededException", "A resource can have at most 50 tags")
    return [{"Key": k, "Value": v} for k, v in d.items()]


def handle_connections(req: Req, op: str, service: str = "codestar-connections") -> Resp:
    """Both APIs, CodeStar Connections (2019-12-01) and its renamed successor CodeConnections
    (2023-12-01), over one store: a connection's ARN carries the prefix of the API that created
    it (Developer Tools console guide, "Connections rename")."""
    body = req.json()
    account = req.account
    with LOCK:
        if op == "CreateConnection":
            name = body.get("ConnectionName")
            if not isinstance(name, str) or not 1 <= len(name) <= 32:
                raise ApiError(400, "ValidationException", "ConnectionName must be 1 to 32 characters")
            provider = body.get("ProviderType")
            host = body.get("HostArn")
            if provider is None and host is None:
                raise ApiError(400, "ValidationException", "Either ProviderType or HostArn is required")
            if provider is not None and provider not in PROVIDER_TYPES:
                raise ApiError(400, "ValidationException", f"Invalid ProviderType {provider}")
            if host is not None and provider is None:
                provider = "GitHubEnterpriseServer"
            tags = check_tags(body.get("Tags"))
            arn = f"arn:aws:{service}:{req.region}:{account}:connection/{uuid.uuid4()}"
            S.connections[arn] = {"ConnectionName": name, "ConnectionArn": arn, "ProviderType": provider,
                                  "OwnerAccountId": account, "ConnectionStatus": "PENDING", "HostArn": host,
                                  "Tags": tags, "account": account, "region": req.region}
            out: dict[str, Any] = {"ConnectionArn": arn}
            if tags:
                out["Tags"] = tags
            return json_resp(out, content_type="application/x-amz-json-1.0")
        if op == "GetConnection":
            c = get_connection(body.get("ConnectionArn"))
            return json_resp({"Connection": connection_public(c)}, content_type="application/x-amz-json-1.0")
        if op == "ListConnections":
            pf, hf = body.get("ProviderTypeFilter"), body.get("HostArnFilter")
            mr = body.get("MaxResults")
            if mr is not None and (not isinstance(mr, int) or not 0 <= mr <= 100):
                raise ApiError(400, "ValidationException", "MaxResults must be between 0 and 100")
            limit = mr or 50
            conns = [c for c in S.connections.values()
                     if c["account"] == account and c["region"] == req.region
                     and (not pf or c["ProviderType"] == pf) and (not hf or c.get("HostArn") == hf)]
            start = 0
            tok = body.get("NextToken")
            if tok:
                try:
                    start = int(base64.b64decode(tok).decode())
                except Exception:
                    raise ApiError(400, "ValidationException", "Invalid NextToken")
            page = conns[start : start + limit]
            out = {"Connections": [connection_public(c) for c in page]}
            if start + limit < len(conns):
                out["NextToken"] = base64.b64encode(str(start + limit).encode()).decode()
            return json_resp(out, content_type="application/x-amz-json-1.0")
        if op == "DeleteConnection":
            c = get_connection(body.get("ConnectionArn"))
            del S.connections[c["ConnectionArn"]]
            return json_resp({}, content_type="application/x-amz-json-1.0")
        if op in ("TagResource", "UntagResource", "ListTagsForResource"):
            arn = body.get("ResourceArn")
            if not isinstance(arn, str) or arn not in S.connections:
                raise ApiError(400, "ResourceNotFoundException", f"Resource {arn} does not exist")
            c = S.connections[arn]
            if op == "TagResource":
                c["Tags"] = merge_tags(c["Tags"], check_tags(body.get("Tags")))
                return json_resp({}, content_type="application/x-amz-json-1.0")
            if op == "UntagResource":
                keys = body.get("TagKeys") or []
                c["Tags"] = [t for t in c["Tags"] if t["Key"] not in keys]
                return json_resp({}, content_type="application/x-amz-json-1.0")
            return json_resp({"Tags": c["Tags"]}, content_type="application/x-amz-json-1.0")
    raise ApiError(400, "UnknownOperationException", f"Operation {op} is not emulated")


# =========================================================================== #
# CodePipeline: GetPipelineState and execution status
# =========================================================================== #

STAGE_STATUSES = ("InProgress", "Succeeded", "Failed", "Stopped", "Stopping", "Cancelled")
EXEC_FROM_STAGE = {"InProgress": "InProgress", "Succeeded": "Succeeded", "Failed": "Failed",
                   "Stopped": "Stopped", "Stopping": "Stopping", "Cancelled": "Cancelled"}
ACTION_FROM_STAGE = {"InProgress": "InProgress", "Succeeded": "Succeeded", "Failed": "Failed",
                     "Stopped": "Abandoned", "Stopping": "InProgress", "Cancelled": "Abandoned"}


def pipeline_stage_names(pipeline: Any) -> list[str]:
    return [s["name"] for s in pipeline.pipeline.get("stages", [])]


def on_execution_started(account: str, region: str, name: str, exec_id: str) -> None:
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    ex = pipeline.executions.get(exec_id)
    stages = pipeline_stage_names(pipeline)
    execs = S.pipeline_exec.setdefault((account, region, name), {})
    t = now_dt()
    execs[exec_id] = {s: None for s in stages}
    if stages:
        execs[exec_id][stages[0]] = {"status": "InProgress", "error": None, "changed": t,
                                     "action_id": str(uuid.uuid4())}
    if ex is not None:
        ex.status = "InProgress"
        ex.last_update_time = t
    link_builds(account, region, name, exec_id)


def link_builds(account: str, region: str, name: str, exec_id: str) -> None:
    """A CodeBuild action that runs starts a build of its project (initiator
    `codepipeline/<pipeline>`); its id is the action execution's `externalExecutionId` in
    ListActionExecutions (CLI example awscli/examples/codepipeline/list-action-executions.rst;
    CodePipeline action reference, "AWS CodeBuild build and test action")."""
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    states = S.pipeline_exec.get((account, region, name), {}).get(exec_id, {})
    ex = pipeline.executions.get(exec_id)
    variables = {v["name"]: v["value"] for v in (getattr(ex, "variables", None) or [])}
    for stage in pipeline.pipeline.get("stages", []):
        info = states.get(stage["name"])
        if info is None or info.get("external_id"):
            continue
        for action in stage.get("actions", []):
            if (action.get("actionTypeId") or {}).get("provider") != "CodeBuild":
                continue
            cfg = action.get("configuration") or {}
            be = cb_backend(account, region)
            project = cfg.get("ProjectName")
            if project not in be.codebuild_projects:
                continue
            overrides = []
            try:
                for v in json.loads(cfg.get("EnvironmentVariables") or "[]"):
                    value = re.sub(r"#\{variables\.([A-Za-z0-9@_-]+)\}",
                                   lambda m: variables.get(m.group(1), m.group(0)), str(v.get("value", "")))
                    overrides.append({"name": v.get("name"), "value": value, "type": v.get("type", "PLAINTEXT")})
            except ValueError:
                pass
            meta = be.start_build(project)
            build = find_build(account, region, meta["id"])
            enrich_build(account, region, project, build, {
                "initiator": f"codepipeline/{name}", "environmentVariablesOverride": overrides})
            info["external_id"] = meta["id"]


def handle_list_action_executions(req: Req) -> Resp:
    body = req.json()
    name = body.get("pipelineName")
    account, region = req.account, req.region
    with LOCK:
        pipeline = cp_backend(account, region).pipelines.get(name)
        if pipeline is None:
            raise ApiError(400, "PipelineNotFoundException",
                           f"Account '{account}' does not have a pipeline with name '{name}'")
        wanted = (body.get("filter") or {}).get("pipelineExecutionId")
        execs = S.pipeline_exec.get((account, region, name), {})
        details = []
        for eid in reversed([e for e in pipeline.executions if e in execs]):  # newest first
            if wanted and eid != wanted:
                continue
            for stage in reversed(pipeline.pipeline.get("stages", [])):
                info = execs[eid].get(stage["name"])
                if info is None:
                    continue
                for action in stage.get("actions", []):
                    d: dict[str, Any] = {
                        "pipelineExecutionId": eid, "actionExecutionId": info["action_id"],
                        "pipelineVersion": pipeline.pipeline.get("version", 1),
                        "stageName": stage["name"], "actionName": action["name"],
                        "startTime": epoch(info["changed"]), "lastUpdateTime": epoch(info["changed"]),
                        "status": ACTION_FROM_STAGE[info["status"]],
                        "input": {"actionTypeId": action.get("actionTypeId"),
                                  "configuration": action.get("configuration") or {},
                                  "resolvedConfiguration": action.get("configuration") or {},
                                  "region": region},
                        "output": {"outputArtifacts": [], "outputVariables": {}},
                    }
                    if info.get("external_id"):
                        bid = info["external_id"]
                        d["output"]["executionResult"] = {
                            "externalExecutionId": bid,
                            "externalExecutionUrl": (f"https://console.aws.amazon.com/codebuild/home?region={region}"
                                                     f"#/builds/{quote(bid, safe='')}/view/new")}
                    if info.get("error"):
                        d["output"]["executionResult"] = dict(d["output"].get("executionResult") or {},
                                                              externalExecutionSummary=info["error"])
                    details.append(d)
        limit = body.get("maxResults") or 100
        return json_resp({"actionExecutionDetails": details[:limit]}, content_type="application/x-amz-json-1.1")


def set_stage_status(account: str, region: str, name: str, exec_id: str, stage: str, status: str,
                     error: str | None) -> None:
    _, pipeline = find_pipeline(account, name, region)
    stages = pipeline_stage_names(pipeline)
    execs = S.pipeline_exec.setdefault((account, region, name), {})
    ex_state = execs.setdefault(exec_id, {s: None for s in stages})
    t = now_dt()
    idx = stages.index(stage)
    for earlier in stages[:idx]:  # a later stage can only run after the earlier ones succeeded
        cur = ex_state.get(earlier)
        if cur is None or cur["status"] in ("InProgress", "Stopping"):
            ex_state[earlier] = {"status": "Succeeded", "error": None, "changed": t, "action_id": str(uuid.uuid4())}
    prev = ex_state.get(stage)
    ex_state[stage] = {"status": status, "error": error, "changed": t,
                       "action_id": prev["action_id"] if prev else str(uuid.uuid4())}
    if prev and prev.get("external_id"):  # the same action execution, the same build
        ex_state[stage]["external_id"] = prev["external_id"]
    if status == "Succeeded" and idx + 1 < len(stages) and ex_state.get(stages[idx + 1]) is None:
        ex_state[stages[idx + 1]] = {"status": "InProgress", "error": None, "changed": t,
                                     "action_id": str(uuid.uuid4())}
    if status == "Succeeded":
        overall = "Succeeded" if idx + 1 == len(stages) else "InProgress"
    else:
        overall = EXEC_FROM_STAGE[status]
    ex = pipeline.executions.get(exec_id)
    if ex is not None:
        ex.status = overall
        ex.status_summary = error if status == "Failed" else None
        ex.last_update_time = t
    link_builds(account, region, name, exec_id)
    # The CodeBuild action's status is its build's: a finished stage finishes the build it
    # started, unless a test set that build's status itself (hook builds/status).
    bid = ex_state[stage].get("external_id")
    build_status = {"Succeeded": "SUCCEEDED", "Failed": "FAILED", "Stopped": "STOPPED"}.get(status)
    if bid and build_status and bid not in S.builds:
        S.builds[bid] = {"status": build_status, "phase": None if build_status == "SUCCEEDED" else "BUILD",
                         "message": error, "applied": False}


def connection_for(arn: Any) -> dict[str, Any] | None:
    """A connection by ARN, whichever service prefix it carries (AWS renamed CodeStar
    Connections to CodeConnections in 2024; both prefixes name connections of one service)."""
    return S.connections.get(arn) if isinstance(arn, str) else None


def source_failure(account: str, pipeline: Any) -> str | None:
    """Why the pipeline's Source stage cannot fetch, as AWS's Source action would fail, or None.

    S3 source: the object must exist (the execution reads it; CodePipeline user guide, "Amazon
    S3 source action"). CodeStarSourceConnection: the connection must be AVAILABLE (a PENDING
    connection "cannot be used until it is updated"; Developer Tools console guide, "Update a
    pending connection"). The wording of the messages is the emulator's."""
    stages = pipeline.pipeline.get("stages", [])
    if not stages:
        return None
    for action in stages[0].get("actions", []):
        tid, cfg = action.get("actionTypeId", {}), action.get("configuration", {}) or {}
        if tid.get("category") != "Source":
            continue
        if tid.get("provider") == "S3":
            from moto.s3.models import s3_backends

            bucket, key = cfg.get("S3Bucket"), cfg.get("S3ObjectKey")
            try:
                obj = s3_backends[account]["aws"].get_object(bucket, key)
            except Exception:
                obj = None
            if obj is None:
                return (f"The object with key '{key}' does not exist in bucket '{bucket}' "
                        f"(action {action.get('name')})")
        if tid.get("provider") == "CodeStarSourceConnection":
            arn = cfg.get("ConnectionArn")
            c = connection_for(arn)
            if c is None:
                return f"Connection {arn} does not exist"
            if c["ConnectionStatus"] != "AVAILABLE":
                return (f"Unable to use Connection: {arn}. The provided connection is in "
                        f"{c['ConnectionStatus']} state, not AVAILABLE")
            # The pipeline's service role must be allowed to use the connection, with the action
            # of the ARN's own service prefix (CodePipeline user guide, "Add permissions to the
            # CodePipeline service role": codestar-connections:UseConnection; Developer Tools
            # console guide, "Connections rename": the prefix must match the resource's).
            action_name = f"{arn.split(':')[2]}:UseConnection"
            if not role_allows(account, pipeline.pipeline.get("roleArn", ""), action_name, arn):
                return (f"Insufficient permissions: the service role {pipeline.pipeline.get('roleArn')} "
                        f"is not allowed {action_name} on {arn}")
    return None


def role_allows(account: str, role_arn: str, action: str, resource: str) -> bool:
    """IAM's evaluation, reduced to what a service role's identity policies say: an explicit
    Deny wins, else some Allow must match the action and the resource (wildcards as IAM reads
    them: case-insensitive actions, `*` and `?` in both)."""
    from fnmatch import fnmatchcase
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return False
    docs = list(role.policies.values())
    for mp in role.managed_policies.values():
        try:
            docs.append(mp.default_version.document if hasattr(mp, "default_version") else mp.document)
        except Exception:
            continue
    allowed = False
    for doc in docs:
        try:
            d = json.loads(unquote(doc)) if isinstance(doc, str) else doc
        except ValueError:
            continue
        stmts = d.get("Statement", [])
        for st in stmts if isinstance(stmts, list) else [stmts]:
            acts = st.get("Action", [])
            ress = st.get("Resource", [])
            acts = [acts] if isinstance(acts, str) else acts
            ress = [ress] if isinstance(ress, str) else ress
            hit = (any(fnmatchcase(action.lower(), a.lower()) for a in acts)
                   and any(fnmatchcase(resource, r) for r in ress))
            if hit and st.get("Effect") == "Deny":
                return False
            if hit and st.get("Effect") == "Allow":
                allowed = True
    return allowed


def start_execution(account: str, region: str, name: str, exec_id: str, trigger_type: str,
                    trigger_detail: str = "") -> None:
    """An execution starts: record its trigger (ExecutionTrigger in ListPipelineExecutions /
    GetPipelineExecution), put its first stage InProgress, and fail that stage at once when the
    source cannot be fetched."""
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    ex = pipeline.executions.get(exec_id)
    if ex is not None:
        ex.trigger = {"triggerType": trigger_type, "triggerDetail": trigger_detail}
    on_execution_started(account, region, name, exec_id)
    stages = pipeline_stage_names(pipeline)
    why = source_failure(account, pipeline)
    if why and stages:
        set_stage_status(account, region, name, exec_id, stages[0], "Failed", why)


def validate_pipeline_declaration(decl: Any) -> None:
    """The service model's bounds on a declaration's triggers and variables (botocore
    codepipeline service-2.json: GitFilePathPatternList / GitBranchPatternList 1-8 patterns of
    1-255 characters, GitPushFilterList 1-3, PipelineVariableDeclarationList <= 50,
    ExecutionMode QUEUED|SUPERSEDED|PARALLEL), answered as AWS answers model violations."""
    if not isinstance(decl, dict):
        return

    def bad(path: str, what: str) -> ApiError:
        return ApiError(400, "ValidationException",
                        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {what}")

    mode = decl.get("executionMode")
    if mode is not None and mode not in ("QUEUED", "SUPERSEDED", "PARALLEL"):
        raise bad("pipeline.executionMode", "Member must satisfy enum value set: [QUEUED, SUPERSEDED, PARALLEL]")
    if len(decl.get("variables") or []) > 50:
        raise bad("pipeline.variables", "Member must have length less than or equal to 50")
    for ti, t in enumerate(decl.get("triggers") or [], 1):
        git = (t or {}).get("gitConfiguration") or {}
        for kind in ("push", "pullRequest"):
            filters = git.get(kind) or []
            if len(filters) > 3:
                raise bad(f"pipeline.triggers.{ti}.member.gitConfiguration.{kind}",
                          "Member must have length less than or equal to 3")
            for fi, f in enumerate(filters, 1):
                for crit in ("branches", "filePaths", "tags"):
                    for side in ("includes", "excludes"):
                        pats = ((f or {}).get(crit) or {}).get(side)
                        if pats is None:
                            continue
                        path = f"pipeline.triggers.{ti}.member.gitConfiguration.{kind}.{fi}.member.{crit}.{side}"
                        if not 1 <= len(pats) <= 8:
                            raise bad(path, "Member must have length less than or equal to 8")
                        if any(not isinstance(x, str) or not 1 <= len(x) <= 255 for x in pats):
                            raise bad(path, "Member must have length less than or equal to 255")


def fill_pipeline_defaults(pipeline: Any) -> None:
    """GetPipeline returns the declaration with AWS's defaults: a V2 pipeline's executionMode is
    SUPERSEDED unless set (API reference, PipelineDeclaration.executionMode)."""
    if pipeline is not None and pipeline.pipeline.get("pipelineType") == "V2":
        pipeline.pipeline.setdefault("executionMode", "SUPERSEDED")


def fix_execution_trigger() -> None:
    """moto reports every execution as triggered by StartPipelineExecution; report the trigger
    the emulator recorded (CreatePipeline for the automatic first run)."""
    from moto.codepipeline import models as cpm

    cls = cpm.PipelineExecution
    if getattr(cls, "_emulator_patched", False):
        return
    orig_dict, orig_summary = cls.to_dict, cls.to_summary_dict

    def to_dict(self):  # type: ignore[no-untyped-def]
        out = orig_dict(self)
        out["trigger"] = getattr(self, "trigger", out.get("trigger"))
        return out

    def to_summary_dict(self):  # type: ignore[no-untyped-def]
        out = orig_summary(self)
        out["trigger"] = getattr(self, "trigger", out.get("trigger"))
        return out

    cls.to_dict, cls.to_summary_dict = to_dict, to_summary_dict
    cls._emulator_patched = True  # type: ignore[attr-defined]


def handle_get_pipeline_state(req: Req) -> Resp:
    body = req.json()
    name = body.get("name")
    account, region = req.account, req.region
    with LOCK:
        be = cp_backend(account, region)
        pipeline = be.pipelines.get(name)
        if pipeline is None:
            raise ApiError(400, "PipelineNotFoundException",
                           f"Account '{account}' does not have a pipeline with name '{name}'")
        execs = S.pipeline_exec.get((account, region, name), {})
        order = [e for e in pipeline.executions.keys() if e in execs]  # chronological
        states = []
        for stage in pipeline.pipeline.get("stages", []):
            sname = stage["name"]
            latest = None
            for eid in reversed(order):
                if execs[eid].get(sname) is not None:
                    latest = (eid, execs[eid][sname])
                    break
            actions = []
            for action in stage.get("actions", []):
                a: dict[str, Any] = {"actionName": action["name"]}
                if latest:
                    eid, info = latest
                    ae: dict[str, Any] = {"actionExecutionId": info["action_id"],
                                          "status": ACTION_FROM_STAGE[info["status"]],
                                          "lastStatusChange": epoch(info["changed"])}
                    if info.get("error"):
                        ae["errorDetails"] = {"code": "JobFailed", "message": info["error"]}
                        ae["summary"] = info["error"]
                    a["latestExecution"] = ae
                actions.append(a)
            s: dict[str, Any] = {"stageName": sname, "inboundTransitionState": {"enabled": True},
                                 "actionStates": actions}
            if latest:
                s["latestExecution"] = {"pipelineExecutionId": latest[0], "status": latest[1]["status"]}
            states.append(s)
        meta = pipeline.metadata
        out = {"pipelineName": name, "pipelineVersion": pipeline.pipeline.get("version", 1),
               "stageStates": states, "created": to_epoch(meta["created"]), "updated": to_epoch(meta["updated"])}
        return json_resp(out, content_type="application/x-amz-json-1.1")


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
# emulator listens on plain HTTP on 127.0.0.1 purely for convenience.
S3_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def evaluate_bucket_policy(policy: str, action: str, resource: str) -> Any:
    """AWS semantics for the statements moto evaluates (principal `*`): a statement applies only
    when all its conditions hold against the request context; an explicit Deny wins, then an
    Allow, else neutral. moto 5.2.5 instead denies whenever a condition cannot be evaluated,
    which turns every `Deny unless TLS` statement into `deny everything`."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    doc = json.loads(policy)
    statements = doc.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    permitted = False
    for st in statements:
        check = IAMPolicyStatement(st)
        if st.get("Principal") not in ("*", {"AWS": "*"}):
            continue  # service and account principals are not the caller here
        if "NotAction" in st:
            concerned = not check._check_element_matches("NotAction", action)
        else:
            concerned = check._check_element_matches("Action", action)
        if not concerned or not check._check_element_matches("Resource", resource):
            continue
        if not condition_holds(st.get("Condition") or {}):
            continue
        if st.get("Effect") == "Deny":
            return PermissionResult.DENIED
        permitted = True
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


def condition_holds(conditions: dict[str, Any]) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = S3_REQUEST_CONTEXT.get(key)
            if actual is None:
                return False  # a key the request does not carry never matches
            if operator == "Bool" or operator == "StringEquals":
                if str(actual).lower() not in [str(v).lower() for v in values]:
                    return False
            elif operator == "StringNotEquals":
                if str(actual).lower() in [str(v).lower() for v in values]:
                    return False
            else:
                return False
    return True


def fix_bucket_policy_conditions() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_emulator_patched", False):
        return

    def get_permission(self, action: str, resource: str) -> Any:  # type: ignore[no-untyped-def]
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        return evaluate_bucket_policy(policy, action, resource)

    get_permission._emulator_patched = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def fix_acm_held_status() -> None:
    """A certificate a test put in a status keeps it (see /_emulator/certificates/status)."""
    from moto.acm.models import CertBundle

    orig = CertBundle.check
    if getattr(orig, "_emulator_patched", False):
        return

    def check(self) -> None:  # type: ignore[no-untyped-def]
        if self.arn in S.held_certificates:
            return
        orig(self)

    check._emulator_patched = True  # type: ignore[attr-defined]
    CertBundle.check = check  # type: ignore[method-assign]


def fix_create_pipeline_role_check() -> None:
    """moto only accepts a role whose trust policy names codepipeline.amazonaws.com as a plain
    string; AWS also accepts a list of principals. Normalise the check."""
    from moto.codepipeline import models as cpm

    orig = cpm.CodePipelineBackend.create_pipeline
    if getattr(orig, "_emulator_patched", False):
        return

    def create_pipeline(self, pipeline, tags):  # type: ignore[no-untyped-def]
        try:
            role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
            doc = json.loads(role.assume_role_policy_document)
            stmts = doc.get("Statement", [])
            if isinstance(stmts, dict):
                stmts = [stmts]
            services: list[str] = []
            for s in stmts:
                svc = (s.get("Principal") or {}).get("Service") if isinstance(s.get("Principal"), dict) else None
                services.extend(svc if isinstance(svc, list) else [svc])
            if "codepipeline.amazonaws.com" in services:
                role.assume_role_policy_document = json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                        "Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                try:
                    return orig(self, pipeline, tags)
                finally:
                    role.assume_role_policy_document = json.dumps(doc)
        except Exception:
            pass
        return orig(self, pipeline, tags)

    create_pipeline._emulator_patched = True  # type: ignore[attr-defined]
    cpm.CodePipelineBackend.create_pipeline = create_pipeline


# =========================================================================== #
# CodeBuild
# =========================================================================== #

SOURCE_TYPES = ("BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB",
                "GITLAB_SELF_MANAGED", "NO_SOURCE", "S3")
ARTIFACT_TYPES = ("CODEPIPELINE", "S3", "NO_ARTIFACTS")
PHASES = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
          "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
BUILD_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "IN_PROGRESS", "STOPPED")


def validate_project_fields(body: dict[str, Any], account: str, region: str, create: bool) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{1,254}", name):
        raise ApiError(400, "InvalidInputException", "Invalid project name")
    src = body.get("source")
    if create or src is not None:
        if not isinstance(src, dict) or src.get("type") not in SOURCE_TYPES:
            raise ApiError(400, "InvalidInputException", "Invalid type provided: Project source type")
        if src["type"] not in ("CODEPIPELINE", "NO_SOURCE") and not src.get("location"):
            raise ApiError(400, "InvalidInputException", "Project source location is required")
        if src["type"] == "NO_SOURCE" and not src.get("buildspec"):
            raise ApiError(400, "InvalidInputException", "Project source buildspec is required for NO_SOURCE")
    art = body.get("artifacts")
    if create or art is not None:
        if not isinstance(art, dict) or art.get("type") not in ARTIFACT_TYPES:
            raise ApiError(400, "InvalidInputException", "Invalid type provided: Artifact type")
        if art["type"] == "S3" and not art.get("location"):
            raise ApiError(400, "InvalidInputException", "Artifacts location is required for S3 artifacts")
    env = body.get("environment")
    if create or env is not None:
        if not isinstance(env, dict) or not env.get("type") or not env.get("image") or not env.get("computeType"):
            raise ApiError(400, "InvalidInputException", "environment needs type, image and computeType")
        for v in env.get("environmentVariables") or []:
            if not isinstance(v, dict) or not v.get("name") or "value" not in v:
                raise ApiError(400, "InvalidInputException", "Each environment variable needs a name and a value")
    role = body.get("serviceRole")
    if create or role is not None:
        if not isinstance(role, str) or not role:
            raise ApiError(400, "InvalidInputException", "serviceRole is required")
        if role.startswith("arn:") and not role.startswith(f"arn:aws:iam::{account}:role/"):
            raise ApiError(400, "InvalidInputException",
                           "Invalid service role: Service role account ID does not match caller's account")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or len(tags) > 50):
        raise ApiError(400, "InvalidInputException", "tags must be a list of at most 50 entries")


def normalise_project_parts(meta: dict[str, Any]) -> None:
    env = meta.get("environment")
    if isinstance(env, dict):
        env.setdefault("environmentVariables", [])
        for v in env["environmentVariables"]:
            v.setdefault("type", "PLAINTEXT")
        env.setdefault("privilegedMode", False)
        env.setdefault("imagePullCredentialsType", "CODEBUILD")
    src = meta.get("source")
    if isinstance(src, dict):
        src.setdefault("insecureSsl", False)
    meta.setdefault("cache", {"type": "NO_CACHE"})
    logs = meta.setdefault("logsConfig", {})
    logs.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    logs.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})


PROJECT_FIELDS = ("description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions",
                  "artifacts", "secondaryArtifacts", "cache", "environment", "serviceRole", "timeoutInMinutes",
                  "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "logsConfig",
                  "fileSystemLocations", "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit")


def enrich_build(account: str, region: str, project_name: Any, build: dict[str, Any] | None,
                 body: dict[str, Any]) -> None:
    """What AWS's StartBuild copies into the build: the project's source, environment (with
    overrides), artifacts, cache, timeouts, key, and where its logs go."""
    project = cb_backend(account, region).codebuild_projects.get(project_name)
    if build is None or project is None:
        return
    build_id = build["id"]
    pm = project.project_metadata
    build["source"] = copy.deepcopy(pm.get("source", {}))
    if body.get("buildspecOverride"):
        build["source"]["buildspec"] = body["buildspecOverride"]
    build["sourceVersion"] = body.get("sourceVersion") or pm.get("sourceVersion") or build.get("sourceVersion")
    env = copy.deepcopy(pm.get("environment", {}))
    overrides = body.get("environmentVariablesOverride") or []
    if overrides:
        names = {v["name"] for v in overrides}
        env["environmentVariables"] = [v for v in env.get("environmentVariables", [])
                                       if v["name"] not in names] + copy.deepcopy(overrides)
    build["environment"] = env
    build["artifacts"] = {"location": ""} if pm.get("artifacts", {}).get("type") != "S3" else {
        "location": f"arn:aws:s3:::{pm['artifacts'].get('location', '')}"}
    build["cache"] = copy.deepcopy(pm.get("cache", {"type": "NO_CACHE"}))
    build["timeoutInMinutes"] = body.get("timeoutInMinutesOverride") or pm.get("timeoutInMinutes", 60)
    build["queuedTimeoutInMinutes"] = pm.get("queuedTimeoutInMinutes", 480)
    build["encryptionKey"] = pm.get("encryptionKey")
    build["initiator"] = body.get("initiator", "emulator")
    # AWS: the build logs to the project's group (default /aws/codebuild/<project>)
    # in a stream named after the build id's UUID (prefixed by a configured stream name).
    lc = (pm.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    if lc.get("status", "ENABLED") == "ENABLED":
        group = lc.get("groupName") or f"/aws/codebuild/{pm['name']}"
        stream = build_id.split(":", 1)[-1]
        if lc.get("streamName"):
            stream = f"{lc['streamName']}/{stream}"
        build["logs"] = {
            "groupName": group, "streamName": stream,
            "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                         f"#logsV2:log-groups/log-group/{quote(group, safe='')}"
                         f"/log-events/{quote(stream, safe='')}"),
            "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
            "cloudWatchLogs": copy.deepcopy(lc),
        }


def handle_codebuild(app: "EmulatorApp", req: Req, op: str) -> Resp | None:
    account, region = req.account, req.region
    if op == "CreateProject":
        body = req.json()
        with LOCK:
            validate_project_fields(body, account, region, create=True)
            be = cb_backend(account, region)
            name = body["name"]
            if name in be.codebuild_projects:
                raise ApiError(400, "ResourceAlreadyExistsException",
                               f"Project already exists: arn:aws:codebuild:{region}:{account}:project/{name}")
            role = body["serviceRole"]
            be.create_project(project_name=name, description=body.get("description"),
                              project_source=copy.deepcopy(body["source"]),
                              artifacts=copy.deepcopy(body["artifacts"]),
                              environment=copy.deepcopy(body["environment"]), service_role=role,
                              tags=body.get("tags"), cache=body.get("cache"),
                              timeout=body.get("timeoutInMinutes"),
                              queued_timeout=body.get("queuedTimeoutInMinutes"),
                              source_version=body.get("sourceVersion"), logs_config=body.get("logsConfig"),
                              vpc_config=body.get("vpcConfig"))
            project = be.codebuild_projects[name]
            t = time.time()
            meta: dict[str, Any] = {"name": name, "arn": project.arn}
            for k in PROJECT_FIELDS:
                if body.get(k) is not None:
                    meta[k] = copy.deepcopy(body[k])
            meta["serviceRole"] = project.project_metadata["serviceRole"]
            meta.setdefault("timeoutInMinutes", 60)
            meta.setdefault("queuedTimeoutInMinutes", 480)
            meta.setdefault("encryptionKey", f"arn:aws:kms:{region}:{account}:alias/aws/s3")
            meta.setdefault("tags", [])
            meta["created"] = t
            meta["lastModified"] = t
            meta["badge"] = {"badgeEnabled": bool(body.get("badgeEnabled", False))}
            meta["projectVisibility"] = "PRIVATE"
            normalise_project_parts(meta)
            project.project_metadata = meta
            project.service_role = meta["serviceRole"]
            return json_resp({"project": meta}, content_type="application/x-amz-json-1.1")
    if op == "UpdateProject":
        body = req.json()
        with LOCK:
            name = body.get("name")
            be = cb_backend(account, region)
            project = be.codebuild_projects.get(name) if isinstance(name, str) else None
            if project is None and isinstance(name, str) and name.startswith("arn:"):
                project = next((p for p in be.codebuild_projects.values() if p.arn == name), None)
            if project is None:
                raise ApiError(400, "ResourceNotFoundException",
                               f"Project cannot be found: arn:aws:codebuild:{region}:{account}:project/{name}")
            validate_project_fields(dict(body, name=project.project_metadata["name"]), account, region,
                                    create=False)
            meta = project.project_metadata
            for k in PROJECT_FIELDS:
                if k in body and body[k] is not None:
                    meta[k] = copy.deepcopy(body[k])
            if "serviceRole" in body and not body["serviceRole"].startswith("arn:"):
                meta["serviceRole"] = f"arn:aws:iam::{account}:role/service-role/{body['serviceRole']}"
            if "badgeEnabled" in body:
                meta["badge"] = {"badgeEnabled": bool(body["badgeEnabled"])}
            meta["lastModified"] = time.time()
            normalise_project_parts(meta)
            project.service_role = meta["serviceRole"]
            return json_resp({"project": meta}, content_type="application/x-amz-json-1.1")
    if op == "StartBuild":
        body = req.json()
        with LOCK:
            status, headers, raw = app.call_moto(req.environ)
            if status >= 300:
                return Resp(status, raw, headers)
            build_id = json.loads(raw)["build"]["id"]
            build = find_build(account, region, build_id)
            enrich_build(account, region, body.get("projectName"), build, body)
            return json_resp({"build": to_json_build(build or json.loads(raw)["build"])},
                             content_type="application/x-amz-json-1.1")
    if op == "BatchGetBuilds":
        body = req.json()
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            raise ApiError(400, "InvalidInputException", "ids must be a list of 1 to 100 build ids")
        with LOCK:
            builds, missing = [], []
            for bid in ids:
                build = find_build(account, region, bid)
                if build is None:
                    missing.append(bid)
                    continue
                apply_build_state(bid, build)
                builds.append(to_json_build(build))
            out: dict[str, Any] = {"builds": builds}
            if missing:
                out["buildsNotFound"] = missing
            return json_resp(out, content_type="application/x-amz-json-1.1")
    if op == "StopBuild":
        body = req.json()
        with LOCK:
            bid = body.get("id")
            build = find_build(account, region, bid or "")
            if build is None:
                raise ApiError(400, "ResourceNotFoundException", f"Build {bid} does not exist")
            apply_build_state(bid, build) if bid in S.builds else None
            if not build.get("buildComplete"):
                phase = build.get("currentPhase") if build.get("currentPhase") in PHASES[2:-1] else "PROVISIONING"
                write_build_phases(build, "STOPPED", phase, "Build stopped")
                S.builds[bid] = {"status": "STOPPED", "phase": phase, "message": "Build stopped", "applied": True}
            return json_resp({"build": to_json_build(build)}, content_type="application/x-amz-json-1.1")
    if op == "ListBuildsForProject":
        body = req.json()
        with LOCK:
            be = cb_backend(account, region)
            name = body.get("projectName")
            if name not in be.codebuild_projects:
                raise ApiError(400, "ResourceNotFoundException",
                               f"The provided project arn:aws:codebuild:{region}:{account}:project/{name} does not exist")
            ids = list(be.build_history.get(name, []))
            if body.get("sortOrder", "DESCENDING") != "ASCENDING":
                ids.reverse()
            return json_resp({"ids": ids}, content_type="application/x-amz-json-1.1")
    return None


def find_build(account: str, region: str, build_id: str) -> dict[str, Any] | None:
    be = cb_backend(account, region)
    for builds in be.build_metadata_history.values():
        for b in builds:
            if b["id"] == build_id:
                return b
    return None


def to_json_build(build: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(build)
    for k in ("startTime", "endTime"):
        if k in out:
            out[k] = to_epoch(out[k])
    for p in out.get("phases", []) or []:
        for k in ("startTime", "endTime"):
            if k in p:
                p[k] = to_epoch(p[k])
    if out.get("artifacts") is None:
        out.pop("artifacts", None)
    return out


def write_build_phases(build: dict[str, Any], status: str, phase: str | None, message: str | None) -> None:
    t = time.time()
    start = to_epoch(build.get("startTime")) or t
    if status == "IN_PROGRESS":
        upto = phase or "BUILD"
    elif status == "SUCCEEDED":
        upto = "COMPLETED"
    else:
        upto = phase or "BUILD"
    if upto not in PHASES:
        raise ApiError(400, "InvalidInput", f"phase must be one of {', '.join(PHASES)}")
    phases = []
    idx = PHASES.index(upto)
    for i, p in enumerate(PHASES):
        entry: dict[str, Any] = {"phaseType": p, "startTime": start}
        if status == "IN_PROGRESS":
            if i < idx:
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif i > idx:
                break
        elif status == "SUCCEEDED":
            if p != "COMPLETED":
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
        else:
            if i < idx:
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif i == idx:
                entry.update(phaseStatus=status, endTime=t, durationInSeconds=1)
                entry["contexts"] = [{"statusCode": "COMMAND_EXECUTION_ERROR" if status == "FAILED" else status,
                                      "message": message or f"Phase {p} finished with status {status}"}]
            elif p in ("FINALIZING",):
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif p != "COMPLETED":
                continue
        phases.append(entry)
    build["phases"] = phases
    build["buildStatus"] = status
    if status == "IN_PROGRESS":
        build["currentPhase"] = upto
        build["buildComplete"] = False
        build.pop("endTime", None)
    else:
        build["currentPhase"] = "COMPLETED"
        build["buildComplete"] = True
        build["endTime"] = t


def apply_build_state(build_id: str, build: dict[str, Any]) -> None:
    ov = S.builds.get(build_id)
    if ov is not None:
        if not ov.get("applied"):
            write_build_phases(build, ov["status"], ov.get("phase"), ov.get("message"))
            ov["applied"] = True
        return
    if build_id not in S.builds_completed:  # moto's behaviour: a build succeeds when first read, once
        write_build_phases(build, "SUCCEEDED", None, None)
        S.builds_completed.add(build_id)


# CloudWatch Logs PutRetentionPolicy accepts only these (API reference, retentionInDays: "Possible
# values are: 1, 3, 5, ... 3288, and 3653"); moto stores any integer.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557,
                      2922, 3288, 3653)


# =========================================================================== #
# JSON timestamps in moto's responses (ISO strings -> epoch seconds)
# =========================================================================== #

TARGET_SERVICES = {
    "CertificateManager": "acm",
    "CodeBuild_20161006": "codebuild",
    "CodePipeline_20150709": "codepipeline",
    "Logs_20140328": "logs",
    "TrentService": "kms",
    "AmazonSSM": "ssm",
    "secretsmanager": "secretsmanager",
}
_MODELS: dict[str, Any] = {}
_SESSION: Any = None


def service_model(name: str) -> Any:
    global _SESSION
    if name not in _MODELS:
        import botocore.session

        if _SESSION is None:
            _SESSION = botocore.session.get_session()
        _MODELS[name] = _SESSION.get_service_model(name)
    return _MODELS[name]


def fix_timestamps(value: Any, shape: Any) -> Any:
    if shape is None or value is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        for k, v in list(value.items()):
            if k in shape.members:
                value[k] = fix_timestamps(v, shape.members[k])
    elif t == "list" and isinstance(value, list):
        return [fix_timestamps(v, shape.member) for v in value]
    elif t == "map" and isinstance(value, dict):
        return {k: fix_timestamps(v, shape.value) for k, v in value.items()}
    elif t == "timestamp" and isinstance(value, str):
        return to_epoch(value)
    return value


def normalise_json_response(req: Req, status: int, headers: list[tuple[str, str]], body: bytes) -> bytes:
    if status >= 300 or not body:
        return body
    prefix, _, op = req.target.rpartition(".")
    svc = TARGET_SERVICES.get(prefix.rsplit(".", 1)[-1])
    if not svc:
        return body
    try:
        model = service_model(svc)
        shape = model.operation_model(op).output_shape
        data = json.loads(body)
        if isinstance(data, dict):
            for k in [k for k, v in data.items() if v is None]:
                del data[k]
        return json.dumps(fix_timestamps(data, shape)).encode()
    except Exception:
        return body


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


def handle_hooks(app: "EmulatorApp", req: Req) -> Resp:
    path = req.path.rstrip("/")
    method = req.method
    if path == "/_emulator/health":
        return json_resp({"status": "ok", "emulator": EMULATOR_VERSION, "moto": moto.__version__,
                          "account": DEFAULT_ACCOUNT_ID, "pid": os.getpid()})
    if path == "/_emulator/reset" and method == "POST":
        from moto.moto_api._internal.models import moto_api_backend

        moto_api_backend.reset()
        reset_state()
        return json_resp({"status": "reset"})
    if path == "/_emulator/requests":
        with LOCK:
            if method == "DELETE":
                n = len(S.requests)
                S.requests.clear()
                return json_resp({"cleared": n})
            if method == "GET":
                key, since = req.q("access_key"), int(req.q("since") or 0)
                return json_resp({"requests": [dict(r) for r in S.requests
                                               if r["seq"] > since and (key is None or r["access_key"] == key)]})
    body = req.json() if method in ("POST", "PUT") else {}
    account = body.get("account") or DEFAULT_ACCOUNT_ID
    with LOCK:
        if path == "/_emulator/quotas" and method == "POST":
            q = S.quotas.setdefault(account, {})
            for key, kind in (("cache-policy", "cache"), ("response-headers-policy", "rh")):
                if key in body:
                    q[kind] = int(body[key])
            return json_resp({"account": account, "cache-policy": policy_quota("cache", account),
                              "response-headers-policy": policy_quota("rh", account)})
        if path.startswith("/_emulator/faults/") and method == "DELETE":
            # One fault by id: tests running side by side clear only their own.
            fid = path.rsplit("/", 1)[1]
            n = len(S.faults)
            S.faults[:] = [f for f in S.faults if f["id"] != fid]
            if len(S.faults) == n:
                raise ApiError(404, "NotFound", f"No fault {fid}")
            return json_resp({"cleared": 1})
        if path == "/_emulator/faults":
            if method == "GET":
                return json_resp({"faults": [public_fault(f) for f in S.faults]})
            if method == "DELETE":
                n = len(S.faults)
                S.faults.clear()
                return json_resp({"cleared": n})
            if method == "POST":
                f: dict[str, Any] = {"id": str(uuid.uuid4())}
                for k in ("method", "path", "target", "query", "service", "action", "access_key"):
                    if body.get(k) is not None:
                        if not isinstance(body[k], str):
                            raise ApiError(400, "InvalidInput", f"{k} must be a string")
                        f[k] = body[k]
                for k in ("path", "query"):
                    if k in f:
                        try:
                            re.compile(f[k])
                        except re.error as e:
                            raise ApiError(400, "InvalidInput", f"{k} is not a valid regex: {e}")
                try:
                    f["status"] = int(body.get("status", 500))
                    count = int(body.get("count", 1))
                except (TypeError, ValueError):
                    raise ApiError(400, "InvalidInput", "status and count must be integers")
                if not 100 <= f["status"] <= 599:
                    raise ApiError(400, "InvalidInput", "status must be an HTTP status code")
                f["code"] = str(body.get("code") or ("InternalError" if f["status"] >= 500 else "InvalidRequest"))
                f["message"] = str(body.get("message") or "Injected fault")
                f["count"] = count
                f["remaining"] = count if count > 0 else -1
                f["hits"] = 0
                f["passed"] = 0
                try:
                    f["probability"] = float(body.get("probability", 1.0))
                    f["delay_ms"] = int(body.get("delay_ms", 0))
                except (TypeError, ValueError):
                    raise ApiError(400, "InvalidInput", "probability must be a number, delay_ms an integer")
                if not 0.0 < f["probability"] <= 1.0:
                    raise ApiError(400, "InvalidInput", "probability must be in (0, 1]")
                if not 0 <= f["delay_ms"] <= 60_000:
                    raise ApiError(400, "InvalidInput", "delay_ms must be 0 to 60000")
                f["mode"] = str(body.get("mode") or "error")
                if f["mode"] not in FAULT_MODES:
                    raise ApiError(400, "InvalidInput", f"mode must be one of {', '.join(FAULT_MODES)}")
                seed = body.get("seed")
                if seed is not None and not isinstance(seed, int):
                    raise ApiError(400, "InvalidInput", "seed must be an integer")
                f["seed"] = seed
                f["_rng"] = random.Random(seed)
                S.faults.append(f)
                return json_resp(public_fault(f), 201)
        if path == "/_emulator/connections/status" and method == "POST":
            c = S.connections.get(body.get("ConnectionArn"))
            if c is None:
                raise ApiError(404, "NotFound", f"No connection {body.get('ConnectionArn')}")
            st = body.get("ConnectionStatus")
            if st not in ("PENDING", "AVAILABLE", "ERROR"):
                raise ApiError(400, "InvalidInput", "ConnectionStatus must be PENDING, AVAILABLE or ERROR")
            c["ConnectionStatus"] = st
            return json_resp(connection_public(c))
        if path == "/_emulator/pipelines/state" and method == "POST":
            name, stage, status = body.get("name"), body.get("stage"), body.get("status")
            region, pipeline = find_pipeline(account, name or "", body.get("region"))
            if pipeline is None:
                raise ApiError(404, "NotFound", f"No pipeline {name}")
            if stage not in pipeline_stage_names(pipeline):
                raise ApiError(400, "InvalidInput", f"Pipeline {name} has no stage {stage}")
            if status not in STAGE_STATUSES:
                raise ApiError(400, "InvalidInput", f"status must be one of {', '.join(STAGE_STATUSES)}")
            exec_id = body.get("pipelineExecutionId") or (list(pipeline.executions)[-1] if pipeline.executions else None)
            if exec_id is None or exec_id not in pipeline.executions:
                raise ApiError(409, "NoExecution",
                               f"Pipeline {name} has no execution {exec_id or ''}; call StartPipelineExecution first")
            if exec_id not in S.pipeline_exec.get((account, region, name), {}):
                on_execution_started(account, region, name, exec_id)
            set_stage_status(account, region, name, exec_id, stage, status, body.get("errorMessage"))
            ex = pipeline.executions[exec_id]
            return json_resp({"pipelineExecutionId": exec_id, "pipelineStatus": ex.status,
                              "stages": {s: (v or {}).get("status") for s, v in
                                         S.pipeline_exec[(account, region, name)][exec_id].items()}})
        if path == "/_emulator/certificates/status" and method == "POST":
            # Holds an ACM certificate in a status (PENDING_VALIDATION, FAILED, EXPIRED, ...)
            # until set again; moto otherwise issues every certificate after a fixed wait.
            from moto.acm.models import acm_backends

            arn = body.get("CertificateArn") or ""
            status = body.get("Status") or ""
            if status not in ("PENDING_VALIDATION", "ISSUED", "INACTIVE", "EXPIRED", "VALIDATION_TIMED_OUT",
                              "REVOKED", "FAILED"):
                raise ApiError(400, "InvalidInput", f"unknown certificate status {status!r}")
            region = arn.split(":")[3] if arn.count(":") >= 5 else "us-east-1"
            cert = acm_backends[account][region]._certificates.get(arn)
            if cert is None:
                raise ApiError(404, "ResourceNotFoundException", f"No certificate {arn}")
            cert.status = status
            if status == "ISSUED":
                S.held_certificates.discard(arn)
            else:
                S.held_certificates.add(arn)
            return json_resp({"CertificateArn": arn, "Status": status})
        if path == "/_emulator/builds/status" and method == "POST":
            bid, status = body.get("id"), body.get("status")
            if status not in BUILD_STATUSES:
                raise ApiError(400, "InvalidInput", f"status must be one of {', '.join(BUILD_STATUSES)}")
            from moto.codebuild.models import codebuild_backends

            build = None
            for region in list(codebuild_backends[account].keys()):
                build = find_build(account, region, bid or "")
                if build is not None:
                    break
            if build is None:
                raise ApiError(404, "NotFound", f"No build {bid}")
            phase = body.get("phase")
            if phase is not None and phase not in PHASES:
                raise ApiError(400, "InvalidInput", f"phase must be one of {', '.join(PHASES)}")
            S.builds[bid] = {"status": status, "phase": phase, "message": body.get("message"), "applied": False}
            apply_build_state(bid, build)
            return json_resp(to_json_build(build))
    raise ApiError(404, "NotFound", f"No emulator hook {method} {path}")


# =========================================================================== #
# the WSGI application
# =========================================================================== #


class EmulatorApp:
    def __init__(self) -> None:
        self.moto = DomainDispatcherApplication(create_backend_app)
        fix_create_pipeline_role_check()
        fix_execution_trigger()
        fix_bucket_policy_conditions()
        fix_acm_held_status()

    def call_moto(self, environ: dict[str, Any]) -> tuple[int, list[tuple[str, str]], bytes]:
        captured: dict[str, Any] = {}
        chunks: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
            captured["status"], captured["headers"] = status, headers
            return chunks.append

        it = self.moto(environ, start_response)
        try:
            for c in it:
                chunks.append(c)
        finally:
            close = getattr(it, "close", None)
            if close:
                close()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        return int(captured["status"].split()[0]), headers, b"".join(chunks)

    def passthrough_resp(self, req: Req) -> Resp:
        status, headers, body = self.call_moto(req.environ)
        return Resp(status, body, headers)

    def route(self, req: Req) -> Resp | None:
        """Our own handlers; None means: hand the request to moto unchanged."""
        if is_kvs_request(req):
            return handle_kvs(req)
        target = req.target
        if target:
            prefix, _, op = target.rpartition(".")
            prefix = prefix.rsplit(".", 1)[-1]
            if prefix == "CertificateManager" and op == "DeleteCertificate":
                return handle_acm_delete_certificate(self, req)
            if prefix == "CodeStar_connections_20191201":
                return handle_connections(req, op)
            if prefix == "CodeConnections_20231201":
                return handle_connections(req, op, "codeconnections")
            if prefix == "CodePipeline_20150709":
                if op == "GetPipelineState":
                    return handle_get_pipeline_state(req)
                if op == "ListActionExecutions":
                    return handle_list_action_executions(req)
                if op == "StartPipelineExecution":
                    req.body()
                    with LOCK:
                        status, headers, body = self.call_moto(req.environ)
                        if status < 300:
                            name = json.loads(req.body() or b"{}").get("name")
                            start_execution(req.account, req.region, name, json.loads(body)["pipelineExecutionId"],
                                            "StartPipelineExecution")
                        return Resp(status, body, headers)
                if op in ("CreatePipeline", "UpdatePipeline"):
                    validate_pipeline_declaration(req.json().get("pipeline"))
                    with LOCK:
                        status, headers, body = self.call_moto(req.environ)
                        if status < 300:
                            out = json.loads(body)
                            name = out["pipeline"]["name"]
                            _, pipeline = find_pipeline(req.account, name, req.region)
                            fill_pipeline_defaults(pipeline)
                            out["pipeline"] = pipeline.pipeline
                            body = json.dumps(out).encode()
                            if op == "CreatePipeline":
                                # AWS starts an execution by itself when a pipeline is created
                                # (trigger type CreatePipeline; CodePipeline user guide, "Start a
                                # pipeline execution").
                                exec_id = cp_backend(req.account, req.region).start_pipeline_execution(name, None)
                                start_execution(req.account, req.region, name, exec_id, "CreatePipeline")
                        return Resp(status, normalise_json_response(req, status, headers, body), headers)
                if op == "DeletePipeline":
                    name = req.json().get("name")
                    S.pipeline_exec.pop((req.account, req.region, name), None)
                return None
            if prefix == "CodeBuild_20161006":
                return handle_codebuild(self, req, op)
            if prefix == "Logs_20140328" and op == "PutRetentionPolicy":
                days = req.json().get("retentionInDays")
                if days not in LOG_RETENTION_DAYS:
                    raise ApiError(400, "InvalidParameterException",
                                   f"1 validation error detected: Value '{days}' at 'retentionInDays' failed to "
                                   f"satisfy constraint: Member must satisfy enum value set: "
                                   f"[{', '.join(str(d) for d in LOG_RETENTION_DAYS)}]")
                return None
            return None
        if req.path.startswith(CF_PREFIX) and req.sig_service in ("", "cloudfront"):
            return handle_cloudfront(self, req)
        if req.sig_service == "s3" and req.method == "GET" and "versioning" in req.qs:
            return self.get_bucket_versioning(req)
        if req.sig_service == "s3" and req.method in ("PUT", "POST") and req.headers.get("If-None-Match"):
            return self.conditional_s3_write(req)
        if protocol_of(req) == "route53" and req.method == "GET" and req.path.endswith("/rrset"):
            return self.list_resource_record_sets(req)
        return None

    def perform(self, req: Req) -> Resp:
        """Carries the request out exactly as it would be without a fault, keeping the answer in
        memory (for faults that lose the response after the request took effect)."""
        try:
            resp = self.route(req)
            if resp is not None:
                return resp
            status, headers, body = self.call_moto(req.environ)
            if req.target and req.target.rpartition(".")[0].rsplit(".", 1)[-1] in TARGET_SERVICES:
                body = normalise_json_response(req, status, headers, body)
            return Resp(status, body, headers)
        except ApiError as e:
            return error_resp(protocol_of(req), e.status, e.code, e.message)

    def conditional_s3_write(self, req: Req) -> Resp:
        """PutObject / CompleteMultipartUpload / CopyObject with `If-None-Match: *`: S3 checks
        that the key does not exist during the write, atomically ("if multiple conditional writes
        occur for the same object name, the first write operation to finish succeeds"). moto checks
        then writes in two steps, so two racing requests could both pass; one lock makes the check
        and the write one step."""
        with S3_CONDITIONAL_LOCK:
            return self.passthrough_resp(req)

    def list_resource_record_sets(self, req: Req) -> Resp:
        """AWS lists a `*` in a record name as the octal escape `\\052` (Route 53 developer
        guide, "DNS domain name format"); moto echoes the `*` it was given."""
        status, headers, body = self.call_moto(req.environ)
        if status < 300:
            body = re.sub(rb"<Name>\*", rb"<Name>\\052", body)
        return Resp(status, body, headers)

    def get_bucket_versioning(self, req: Req) -> Resp:
        """moto answers GetBucketVersioning of a versioned bucket with a
        `<GetBucketVersioningResponse>` root; AWS (and the SDKs' parsers) use
        `<VersioningConfiguration>`."""
        status, headers, body = self.call_moto(req.environ)
        if status < 300:
            body = re.sub(rb"<(/?)GetBucketVersioningResponse\b", rb"<\1VersioningConfiguration", body)
        return Resp(status, body, headers)

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Any:
        req = Req(environ)
        respond = start_response
        try:
            if req.path.startswith("/_emulator/"):
                return handle_hooks(self, req)(start_response)
            if req.path.startswith("/moto-api/reset"):
                with LOCK:
                    status, headers, body = self.call_moto(environ)
                    reset_state()
                return Resp(status, body, headers)(start_response)
            if req.path.startswith("/moto-api") or req.path == "/favicon.ico":
                return self.moto(environ, start_response)
            entry = record_request(req)

            def logged(status: str, headers: list[tuple[str, str]], exc_info: Any = None):
                entry["status"] = int(status.split()[0])
                return start_response(status, headers, exc_info)

            respond = logged
            if S.faults:
                f = take_fault(req)
                if f is not None:
                    if f["delay_ms"]:
                        time.sleep(f["delay_ms"] / 1000)
                    if f["mode"] == "error":
                        return error_resp(protocol_of(req), f["status"], f["code"], f["message"])(respond)
                    if f["mode"] in ("after", "drop"):
                        done = self.perform(req)
                        entry["performed_status"] = done.status
                        if f["mode"] == "drop":
                            return broken_response(respond)
                        return error_resp(protocol_of(req), f["status"], f["code"], f["message"])(respond)
            resp = self.route(req)
            if resp is not None:
                return resp(respond)
            if req.target and req.target.rpartition(".")[0].rsplit(".", 1)[-1] in TARGET_SERVICES:
                status, headers, body = self.call_moto(environ)
                return Resp(status, normalise_json_response(req, status, headers, body), headers)(respond)
            return self.moto(environ, respond)
        except ApiError as e:
            return error_resp(protocol_of(req), e.status, e.code, e.message)(respond)
        except Exception as e:  # an emulator bug: answer 500 in the request's protocol, log it
            import traceback

            traceback.print_exc()
            return error_resp(protocol_of(req), 500, "InternalError", f"emulator error: {e!r}")(respond)


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

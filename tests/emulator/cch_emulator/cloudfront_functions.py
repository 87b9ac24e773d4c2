"""CloudFront Functions (restXml), by stage."""

from __future__ import annotations

import base64
import re
from typing import Any

from .cloudfront_in_use import dists_referencing
from .kvs import kvs_lookup
from .state import LOCK, S, cf_backend
from .wire import ApiError, Req, Resp, check_if_match, esc, iso, new_etag, now_dt, xml_resp
from .xmlutil import list_page, parse_xml_payload, xml_child, xml_find_all_text, xml_path, xml_text


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

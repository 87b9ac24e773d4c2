"""Routing of CloudFront's restXml API (/2020-05-31/...), KVS control plane in-use checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cloudfront_distributions import handle_distribution, handle_distributions_by
from .cloudfront_functions import handle_function
from .cloudfront_in_use import handle_oac_delete
from .cloudfront_policies import POLICY_KINDS, handle_policy
from .state import LOCK, S, cf_backend
from .wire import ApiError, Req, Resp, check_if_match
from .xmlutil import xml_find_all_text

if TYPE_CHECKING:
    from .app import EmulatorApp


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

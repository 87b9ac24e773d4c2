"""CloudFront cache policies and response-headers policies (restXml), with quotas."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import Any

from .cloudfront_in_use import dists_referencing
from .state import LOCK, S
from .wire import ApiError, Req, Resp, check_if_match, esc, iso, new_etag, now_dt, xml_resp
from .xmlutil import list_page, parse_xml_payload, xml_text


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

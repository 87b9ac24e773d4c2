"""CloudFront distributions (restXml): the submitted DistributionConfig kept verbatim."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from .cloudfront_dist_config import canonical_dist_config, render_dist_summary, render_distribution
from .cloudfront_in_use import dist_store, dists_referencing
from .cloudfront_policies import policy_all
from .state import LOCK, S, cf_backend
from .wire import ApiError, Req, Resp, check_if_match, new_etag, now_dt, xml_resp
from .xmlutil import el, list_page, parse_xml_payload, xml_child, xml_children, xml_find_all_text, xml_text

if TYPE_CHECKING:
    from .app import EmulatorApp


# =========================================================================== #
# CloudFront distributions: keep the submitted DistributionConfig verbatim
# =========================================================================== #


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

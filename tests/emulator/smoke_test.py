#!/usr/bin/env python3
"""Smoke test for the emulator: exercises every addition over the wire.

Run with the venv's python against a running emulator:

    eval "$(tests/emulator/start | tail -n 1)"; export AWS_ENDPOINT_URL
    tests/emulator/.venv/bin/python tests/emulator/smoke_test.py

It resets the emulator first (POST /moto-api/reset): do not point it at an emulator that tests
are using (start a separate one with EMULATOR_STATE_DIR=/tmp/emu-smoke tests/emulator/start). Exit status is non-zero on any failure;
the last line is a one-line summary.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
import uuid
from typing import Any, Callable
from urllib.parse import quote

import boto3
import requests
from botocore.config import Config
from botocore.exceptions import ClientError

EP = os.environ.get("AWS_ENDPOINT_URL", "").rstrip("/")
ACCOUNT = "123456789012"
REGION = "eu-west-1"
CFG = Config(retries={"total_max_attempts": 1, "mode": "standard"})
S = requests.Session()


def client(service: str, region: str = "us-east-1") -> Any:
    return boto3.client(service, endpoint_url=EP, region_name=region, aws_access_key_id="AKIAEXAMPLEEXAMPLE",
                        aws_secret_access_key="secret", config=CFG)


def check(cond: Any, msg: str) -> None:
    if not cond:
        raise AssertionError(msg)


def eq(actual: Any, expected: Any, msg: str) -> None:
    if actual != expected:
        raise AssertionError(f"{msg}: expected {expected!r}, got {actual!r}")


def raises(code: str, fn: Callable[[], Any], status: int | None = None) -> ClientError:
    try:
        fn()
    except ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            raise AssertionError(f"expected error {code}, got {got}: {e}")
        if status is not None:
            eq(e.response["ResponseMetadata"]["HTTPStatusCode"], status, f"HTTP status of {code}")
        return e
    raise AssertionError(f"expected error {code}, but the call succeeded")


def hook(method: str, path: str, body: Any = None, status: int = 200) -> Any:
    r = S.request(method, EP + path, json=body)
    if r.status_code != status:
        raise AssertionError(f"{method} {path}: HTTP {r.status_code} (wanted {status}): {r.text}")
    return r.json()


# ---- KVS data plane: raw HTTP requests shaped like the Rust SDK's (SigV4A header, %-encoded ARN) ----


def kvs(method: str, arn: str, suffix: str = "", body: Any = None, if_match: str | None = None,
        params: dict[str, Any] | None = None) -> requests.Response:
    headers = {
        "Authorization": "AWS4-ECDSA-P256-SHA256 Credential=AKIAEXAMPLEEXAMPLE/20250101/cloudfront-keyvaluestore/"
                         "aws4_request, SignedHeaders=host;x-amz-date;x-amz-region-set, Signature=3045022100ab",
        "X-Amz-Region-Set": "*",
        "X-Amz-Date": "20250101T000000Z",
    }
    if if_match is not None:
        headers["If-Match"] = if_match
    data = None
    if body is not None:
        data = json.dumps(body)
        headers["Content-Type"] = "application/json"
    url = f"{EP}/key-value-stores/{quote(arn, safe='')}{suffix}"
    return S.request(method, url, data=data, headers=headers, params=params)


def kvs_key(key: str) -> str:
    return "/keys/" + quote(key, safe="")


def kvs_err(r: requests.Response, status: int, code: str) -> None:
    eq(r.status_code, status, f"HTTP status ({r.text})")
    eq(r.headers.get("x-amzn-ErrorType"), code, "x-amzn-ErrorType")
    check(r.json().get("Message"), "error body has a Message")


MODULE_MAX_LINES = 350


def test_module_sizes() -> None:
    """The emulator stays a package of small modules, one per AWS area (issue 14): none may grow
    past MODULE_MAX_LINES lines."""
    pkg = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cch_emulator")
    sizes = {}
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py"):
            with open(os.path.join(pkg, name), encoding="utf-8") as fh:
                sizes[name] = sum(1 for _ in fh)
    check("app.py" in sizes and "__main__.py" in sizes, f"the package's modules are in {pkg}: {sorted(sizes)}")
    big = {n: c for n, c in sizes.items() if c > MODULE_MAX_LINES}
    eq(big, {}, f"modules over {MODULE_MAX_LINES} lines (split them by AWS area)")


def test_health() -> None:
    doc = hook("GET", "/_emulator/health")
    eq(doc["status"], "ok", "health status")
    check(doc["moto"].startswith("5."), "moto version reported")


def test_kvs_data_plane() -> None:
    cf = client("cloudfront")
    store = cf.create_key_value_store(Name=f"kvs-{uuid.uuid4().hex[:8]}", Comment="smoke")["KeyValueStore"]
    arn = store["ARN"]
    r = kvs("GET", arn)
    eq(r.status_code, 200, "DescribeKeyValueStore")
    d = r.json()
    eq((d["ItemCount"], d["TotalSizeInBytes"], d["KvsARN"]), (0, 0, arn), "empty store")
    check(isinstance(d["Created"], (int, float)), "Created is epoch seconds")
    etag0 = r.headers["ETag"]
    check(etag0, "Describe returns an ETag")

    kvs_err(kvs("PUT", arn, kvs_key("live"), {"Value": "v1"}), 400, "ValidationException")  # no If-Match
    kvs_err(kvs("PUT", arn, kvs_key("live"), {"Value": "v1"}, if_match="stale"), 409, "ConflictException")
    r = kvs("PUT", arn, kvs_key("live"), {"Value": "v1"}, if_match=etag0)
    eq(r.status_code, 200, f"PutKey ({r.text})")
    eq(r.json(), {"ItemCount": 1, "TotalSizeInBytes": len("live") + len("v1")}, "PutKey body")
    etag1 = r.headers["ETag"]
    check(etag1 and etag1 != etag0, "PutKey changes the ETag")
    kvs_err(kvs("PUT", arn, kvs_key("live"), {"Value": "v2"}, if_match=etag0), 409, "ConflictException")
    eq(kvs("GET", arn).headers["ETag"], etag1, "Describe shows the new ETag")

    r = kvs("GET", arn, kvs_key("live"))
    eq(r.json(), {"Key": "live", "Value": "v1", "ItemCount": 1, "TotalSizeInBytes": 6}, "GetKey")
    kvs_err(kvs("GET", arn, kvs_key("missing")), 404, "ResourceNotFoundException")

    # keys with characters that need encoding
    odd = "path/with spaces+%/ü"
    r = kvs("PUT", arn, kvs_key(odd), {"Value": "ö"}, if_match=etag1)
    eq(r.status_code, 200, f"PutKey odd key ({r.text})")
    etag2 = r.headers["ETag"]
    eq(kvs("GET", arn, kvs_key(odd)).json()["Value"], "ö", "odd key round trip")

    # UpdateKeys + pagination
    puts = [{"Key": f"k{i:02d}", "Value": f"value-{i}"} for i in range(25)]
    r = kvs("POST", arn, "/keys", {"Puts": puts, "Deletes": [{"Key": odd}]}, if_match=etag2)
    eq(r.status_code, 200, f"UpdateKeys ({r.text})")
    eq(r.json()["ItemCount"], 26, "ItemCount after UpdateKeys")
    etag3 = r.headers["ETag"]
    seen, token, pages = [], None, 0
    while True:
        params = {"MaxResults": 10}
        if token:
            params["NextToken"] = token
        page = kvs("GET", arn, "/keys", params=params).json()
        pages += 1
        seen += [i["Key"] for i in page["Items"]]
        token = page.get("NextToken")
        if not token:
            break
    eq(pages, 3, "ListKeys pages of 10")
    eq(seen, sorted([p["Key"] for p in puts] + ["live"]), "ListKeys returns every key once, sorted")
    kvs_err(kvs("GET", arn, "/keys", params={"MaxResults": 51}), 400, "ValidationException")

    # all-or-nothing: one bad value rejects the whole batch
    bad = [{"Key": "ok", "Value": "x"}, {"Key": "big", "Value": "x" * 1025}]
    kvs_err(kvs("POST", arn, "/keys", {"Puts": bad}, if_match=etag3), 400, "ValidationException")
    eq(kvs("GET", arn).headers["ETag"], etag3, "failed UpdateKeys leaves the ETag")
    kvs_err(kvs("GET", arn, kvs_key("ok")), 404, "ResourceNotFoundException")
    kvs_err(kvs("PUT", arn, kvs_key("k" * 513), {"Value": "x"}, if_match=etag3), 400, "ValidationException")
    r = kvs("PUT", arn, kvs_key("k" * 512), {"Value": "x" * 1024}, if_match=etag3)
    eq(r.status_code, 200, "512-char key and 1024-byte value are accepted")
    etag4 = r.headers["ETag"]

    # 5 MB per store
    many = [{"Key": f"fill-{i:05d}", "Value": "v" * 1024} for i in range(5200)]
    kvs_err(kvs("POST", arn, "/keys", {"Puts": many}, if_match=etag4), 402, "ServiceQuotaExceededException")

    # DeleteKey
    kvs_err(kvs("DELETE", arn, kvs_key("live")), 400, "ValidationException")
    r = kvs("DELETE", arn, kvs_key("live"), if_match=etag4)
    eq(r.status_code, 200, f"DeleteKey ({r.text})")
    eq(r.json()["ItemCount"], 26, "ItemCount after DeleteKey")
    d = kvs("GET", arn).json()
    eq(d["ItemCount"], 26, "Describe ItemCount")
    eq(d["TotalSizeInBytes"], sum(len(p["Key"]) + len(p["Value"]) for p in puts) + 512 + 1024, "TotalSizeInBytes")

    # unknown store, deleted store
    kvs_err(kvs("GET", arn.rsplit("/", 1)[0] + "/" + str(uuid.uuid4())), 404, "ResourceNotFoundException")
    cp_etag = cf.describe_key_value_store(Name=store["Name"])["ETag"]
    raises("PreconditionFailed", lambda: cf.delete_key_value_store(Name=store["Name"], IfMatch="stale"), 412)
    cf.delete_key_value_store(Name=store["Name"], IfMatch=cp_etag)
    kvs_err(kvs("GET", arn), 404, "ResourceNotFoundException")
    store2 = cf.create_key_value_store(Name=store["Name"])["KeyValueStore"]
    eq(kvs("GET", store2["ARN"]).json()["ItemCount"], 0, "re-created store starts empty")


CACHE_CONFIG = {
    "Comment": "smoke cache policy",
    "Name": "smoke-cache",
    "DefaultTTL": 86400,
    "MaxTTL": 31536000,
    "MinTTL": 0,
    "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": True,
        "EnableAcceptEncodingBrotli": True,
        "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"},
        "QueryStringsConfig": {"QueryStringBehavior": "whitelist",
                               "QueryStrings": {"Quantity": 2, "Items": ["v", "lang"]}},
    },
}

RH_CONFIG = {
    "Comment": "smoke headers",
    "Name": "smoke-headers",
    "SecurityHeadersConfig": {
        "ContentTypeOptions": {"Override": True},
        "StrictTransportSecurity": {"Override": True, "IncludeSubdomains": True, "Preload": False,
                                    "AccessControlMaxAgeSec": 63072000},
        "ContentSecurityPolicy": {"Override": True,
                                  "ContentSecurityPolicy": "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'"},
    },
    "CustomHeadersConfig": {"Quantity": 2, "Items": [
        {"Header": "Cross-Origin-Opener-Policy", "Value": "same-origin", "Override": True},
        {"Header": "Cross-Origin-Embedder-Policy", "Value": "require-corp", "Override": True},
    ]},
    "RemoveHeadersConfig": {"Quantity": 1, "Items": [{"Header": "Server"}]},
}

CTX: dict[str, Any] = {}


def test_cache_policies() -> None:
    cf = client("cloudfront")
    r = cf.create_cache_policy(CachePolicyConfig=CACHE_CONFIG)
    eq(r["ResponseMetadata"]["HTTPStatusCode"], 201, "CreateCachePolicy status")
    pid, etag = r["CachePolicy"]["Id"], r["ETag"]
    check(r["Location"].endswith(pid), "Location")
    eq(r["CachePolicy"]["CachePolicyConfig"], CACHE_CONFIG, "Create echoes the config")
    g = cf.get_cache_policy(Id=pid)
    eq(g["CachePolicy"]["CachePolicyConfig"], CACHE_CONFIG, "GetCachePolicy round trip")
    eq(g["ETag"], etag, "ETag stable")
    eq(cf.get_cache_policy_config(Id=pid)["CachePolicyConfig"], CACHE_CONFIG, "GetCachePolicyConfig")
    raises("CachePolicyAlreadyExists", lambda: cf.create_cache_policy(CachePolicyConfig=CACHE_CONFIG), 409)
    new = dict(CACHE_CONFIG, Comment="updated", DefaultTTL=3600)
    raises("InvalidIfMatchVersion", lambda: cf.update_cache_policy(Id=pid, CachePolicyConfig=new), 400)
    raises("PreconditionFailed", lambda: cf.update_cache_policy(Id=pid, CachePolicyConfig=new, IfMatch="x"), 412)
    u = cf.update_cache_policy(Id=pid, CachePolicyConfig=new, IfMatch=etag)
    check(u["ETag"] != etag, "Update changes the ETag")
    eq(cf.get_cache_policy(Id=pid)["CachePolicy"]["CachePolicyConfig"], new, "updated config")
    custom = cf.list_cache_policies(Type="custom")["CachePolicyList"]
    eq([i["CachePolicy"]["Id"] for i in custom["Items"]], [pid], "ListCachePolicies custom")
    managed = cf.list_cache_policies(Type="managed")["CachePolicyList"]["Items"]
    check(any(i["CachePolicy"]["CachePolicyConfig"]["Name"] == "Managed-CachingOptimized" for i in managed),
          "managed CachingOptimized listed")
    raises("NoSuchCachePolicy", lambda: cf.get_cache_policy(Id="nope"), 404)
    raises("IllegalDelete", lambda: cf.delete_cache_policy(Id="658327ea-f89d-4fab-a63d-7e88639e58f6", IfMatch="x"))
    CTX["cache_policy"] = pid


def test_response_headers_policies() -> None:
    cf = client("cloudfront")
    r = cf.create_response_headers_policy(ResponseHeadersPolicyConfig=RH_CONFIG)
    pid, etag = r["ResponseHeadersPolicy"]["Id"], r["ETag"]
    eq(cf.get_response_headers_policy(Id=pid)["ResponseHeadersPolicy"]["ResponseHeadersPolicyConfig"], RH_CONFIG,
       "GetResponseHeadersPolicy round trip")
    eq(cf.get_response_headers_policy_config(Id=pid)["ResponseHeadersPolicyConfig"], RH_CONFIG, "config round trip")
    raises("ResponseHeadersPolicyAlreadyExists",
           lambda: cf.create_response_headers_policy(ResponseHeadersPolicyConfig=RH_CONFIG), 409)
    raises("PreconditionFailed", lambda: cf.update_response_headers_policy(
        Id=pid, ResponseHeadersPolicyConfig=RH_CONFIG, IfMatch="stale"), 412)
    u = cf.update_response_headers_policy(Id=pid, ResponseHeadersPolicyConfig=RH_CONFIG, IfMatch=etag)
    check(u["ETag"] != etag, "Update changes the ETag")
    items = cf.list_response_headers_policies()["ResponseHeadersPolicyList"]["Items"]
    eq([i["ResponseHeadersPolicy"]["Id"] for i in items], [pid], "ListResponseHeadersPolicies")
    # throwaway policy: delete with and without If-Match
    other = cf.create_response_headers_policy(ResponseHeadersPolicyConfig=dict(RH_CONFIG, Name="tmp"))
    oid = other["ResponseHeadersPolicy"]["Id"]
    raises("InvalidIfMatchVersion", lambda: cf.delete_response_headers_policy(Id=oid))
    cf.delete_response_headers_policy(Id=oid, IfMatch=other["ETag"])
    raises("NoSuchResponseHeadersPolicy", lambda: cf.get_response_headers_policy(Id=oid), 404)
    CTX["rh_policy"] = pid


FUNCTION_CODE = b"""import cf from 'cloudfront';
const kvs = cf.kvs();
async function handler(event) {
  const v = await kvs.get('live');
  event.request.uri = '/' + v + event.request.uri;
  return event.request;
}
"""


def test_functions() -> None:
    cf = client("cloudfront")
    store = cf.create_key_value_store(Name=f"fn-kvs-{uuid.uuid4().hex[:6]}")["KeyValueStore"]
    config = {"Comment": "viewer request", "Runtime": "cloudfront-js-2.0",
              "KeyValueStoreAssociations": {"Quantity": 1, "Items": [{"KeyValueStoreARN": store["ARN"]}]}}
    name = f"smoke-fn-{uuid.uuid4().hex[:6]}"
    r = cf.create_function(Name=name, FunctionConfig=config, FunctionCode=FUNCTION_CODE,
                           Tags={"Items": [{"Key": "cloudfront-host:project", "Value": "smoke"}]})
    eq(r["ResponseMetadata"]["HTTPStatusCode"], 201, "CreateFunction status")
    summ = r["FunctionSummary"]
    eq(summ["FunctionConfig"], config, "FunctionConfig kept")
    eq(summ["FunctionMetadata"]["Stage"], "DEVELOPMENT", "stage")
    arn = f"arn:aws:cloudfront::{ACCOUNT}:function/{name}"
    eq(summ["FunctionMetadata"]["FunctionARN"], arn, "FunctionARN")
    eq(summ["Status"], "UNPUBLISHED", "Status after create")
    etag = r["ETag"]
    d = cf.describe_function(Name=name, Stage="DEVELOPMENT")
    eq(d["ETag"], etag, "Describe DEVELOPMENT ETag")
    raises("NoSuchFunctionExists", lambda: cf.describe_function(Name=name, Stage="LIVE"), 404)
    raises("NoSuchFunctionExists", lambda: cf.get_function(Name=name, Stage="LIVE"), 404)
    g = cf.get_function(Name=name)
    eq(g["FunctionCode"].read() if hasattr(g["FunctionCode"], "read") else g["FunctionCode"], FUNCTION_CODE,
       "GetFunction code")
    eq(g["ETag"], etag, "GetFunction ETag")

    code2 = FUNCTION_CODE.replace(b"live", b"current")
    raises("PreconditionFailed", lambda: cf.update_function(Name=name, IfMatch="stale", FunctionConfig=config,
                                                            FunctionCode=code2), 412)
    # raw check of the (misspelt) ETtag header the service model uses for UpdateFunction
    u = cf.update_function(Name=name, IfMatch=etag, FunctionConfig=config, FunctionCode=code2)
    raw_headers = u["ResponseMetadata"]["HTTPHeaders"]
    check(raw_headers.get("etag") and raw_headers.get("ettag") == raw_headers.get("etag"), "ETag and ETtag headers")
    etag2 = raw_headers["etag"]
    check(etag2 != etag, "UpdateFunction changes the ETag")
    raises("FunctionSizeLimitExceeded", lambda: cf.update_function(
        Name=name, IfMatch=etag2, FunctionConfig=config, FunctionCode=b"x" * 10241), 413)
    raises("PreconditionFailed", lambda: cf.publish_function(Name=name, IfMatch=etag), 412)
    p = cf.publish_function(Name=name, IfMatch=etag2)
    eq(p["FunctionSummary"]["FunctionMetadata"]["Stage"], "LIVE", "publish returns the LIVE summary")
    live = cf.describe_function(Name=name, Stage="LIVE")
    eq(live["FunctionSummary"]["FunctionConfig"], config, "LIVE config")
    gl = cf.get_function(Name=name, Stage="LIVE")
    eq(gl["FunctionCode"].read() if hasattr(gl["FunctionCode"], "read") else gl["FunctionCode"], code2, "LIVE code")
    eq(cf.list_functions(Stage="LIVE")["FunctionList"]["Quantity"], 1, "ListFunctions LIVE")
    eq(cf.list_functions(Stage="DEVELOPMENT")["FunctionList"]["Quantity"], 1, "ListFunctions DEVELOPMENT")
    tags = cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"]
    eq(tags, [{"Key": "cloudfront-host:project", "Value": "smoke"}], "function tags")
    raises("FunctionSizeLimitExceeded", lambda: cf.create_function(
        Name=name + "-big", FunctionConfig=config, FunctionCode=b"x" * 10241), 413)
    raises("FunctionAlreadyExists", lambda: cf.create_function(Name=name, FunctionConfig=config,
                                                               FunctionCode=FUNCTION_CODE), 409)
    # the KVS cannot be deleted while a function uses it
    kvs_etag = cf.describe_key_value_store(Name=store["Name"])["ETag"]
    raises("CannotDeleteEntityWhileInUse", lambda: cf.delete_key_value_store(Name=store["Name"], IfMatch=kvs_etag))
    CTX["function"] = (name, arn)
    # delete a second function outright
    tmp = cf.create_function(Name=name + "-tmp", FunctionConfig={"Comment": "", "Runtime": "cloudfront-js-1.0"},
                             FunctionCode=b"function handler(e){return e.request}")
    raises("InvalidIfMatchVersion", lambda: client("cloudfront").delete_function(Name=name + "-tmp", IfMatch=""))
    cf.delete_function(Name=name + "-tmp", IfMatch=tmp["ETag"])
    raises("NoSuchFunctionExists", lambda: cf.describe_function(Name=name + "-tmp"), 404)


def dist_config(caller: str, oac: str, fn_arn: str, cache_policy: str, rh_policy: str, enabled: bool = True,
                comment: str = "smoke") -> dict[str, Any]:
    return {
        "CallerReference": caller,
        "Aliases": {"Quantity": 1, "Items": [f"{caller}.example.com"]},
        "DefaultRootObject": "index.html",
        "Origins": {"Quantity": 1, "Items": [{
            "Id": "site-bucket",
            "DomainName": "site-bucket.s3.us-east-1.amazonaws.com",
            "OriginPath": "",
            "CustomHeaders": {"Quantity": 0},
            "S3OriginConfig": {"OriginAccessIdentity": ""},
            "ConnectionAttempts": 3,
            "ConnectionTimeout": 10,
            "OriginShield": {"Enabled": False},
            "OriginAccessControlId": oac,
        }]},
        "DefaultCacheBehavior": {
            "TargetOriginId": "site-bucket",
            "ViewerProtocolPolicy": "redirect-to-https",
            "AllowedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"],
                               "CachedMethods": {"Quantity": 2, "Items": ["GET", "HEAD"]}},
            "Compress": True,
            "CachePolicyId": cache_policy,
            "ResponseHeadersPolicyId": rh_policy,
            "FunctionAssociations": {"Quantity": 1, "Items": [
                {"FunctionARN": fn_arn, "EventType": "viewer-request"}]},
        },
        "CacheBehaviors": {"Quantity": 1, "Items": [{
            "PathPattern": "_immutable/*",
            "TargetOriginId": "site-bucket",
            "ViewerProtocolPolicy": "https-only",
            "AllowedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"],
                               "CachedMethods": {"Quantity": 2, "Items": ["HEAD", "GET"]}},
            "Compress": True,
            "CachePolicyId": cache_policy,
            "FunctionAssociations": {"Quantity": 0},
        }]},
        "CustomErrorResponses": {"Quantity": 1, "Items": [
            {"ErrorCode": 403, "ResponsePagePath": "/index.html", "ResponseCode": "200", "ErrorCachingMinTTL": 10}]},
        "Comment": comment,
        "PriceClass": "PriceClass_100",
        "Enabled": enabled,
        "ViewerCertificate": {"CloudFrontDefaultCertificate": True, "MinimumProtocolVersion": "TLSv1.2_2021",
                              "SSLSupportMethod": "sni-only"},
        "HttpVersion": "http2and3",
        "IsIPV6Enabled": True,
    }


def test_distributions() -> None:
    cf = client("cloudfront")
    oac = cf.create_origin_access_control(OriginAccessControlConfig={
        "Name": f"oac-{uuid.uuid4().hex[:6]}", "Description": "", "SigningProtocol": "sigv4",
        "SigningBehavior": "always", "OriginAccessControlOriginType": "s3"})["OriginAccessControl"]["Id"]
    fn_name, fn_arn = CTX["function"]
    caller = f"smoke-{uuid.uuid4().hex[:8]}"
    cfg = dist_config(caller, oac, fn_arn, CTX["cache_policy"], CTX["rh_policy"])
    r = cf.create_distribution_with_tags(DistributionConfigWithTags={
        "DistributionConfig": cfg, "Tags": {"Items": [{"Key": "cloudfront-host:project", "Value": "smoke"}]}})
    eq(r["ResponseMetadata"]["HTTPStatusCode"], 201, "CreateDistributionWithTags status")
    dist = r["Distribution"]
    did, etag = dist["Id"], r["ETag"]
    got = dist["DistributionConfig"]
    eq(got["Origins"]["Items"][0]["OriginAccessControlId"], oac, "OriginAccessControlId kept")
    eq(got["DefaultCacheBehavior"]["FunctionAssociations"], cfg["DefaultCacheBehavior"]["FunctionAssociations"],
       "FunctionAssociations kept")
    # CloudFront's own method order and its defaults (awscli examples get-distribution-config,
    # create-distribution): not the submitted XML verbatim.
    b = got["DefaultCacheBehavior"]
    eq(b["AllowedMethods"]["Items"], ["HEAD", "GET"], "AllowedMethods in CloudFront's order")
    eq(b["AllowedMethods"]["CachedMethods"]["Items"], ["HEAD", "GET"], "CachedMethods in CloudFront's order")
    eq(b["TrustedSigners"], {"Enabled": False, "Quantity": 0}, "TrustedSigners default")
    eq(b["LambdaFunctionAssociations"], {"Quantity": 0}, "LambdaFunctionAssociations default")
    eq(b["FieldLevelEncryptionId"], "", "FieldLevelEncryptionId default")
    eq(got["ViewerCertificate"], dict(cfg["ViewerCertificate"], CertificateSource="cloudfront"),
       "ViewerCertificate with CertificateSource")
    eq(got["Logging"], {"Enabled": False, "IncludeCookies": False, "Bucket": "", "Prefix": ""}, "Logging default")
    eq(got["WebACLId"], "", "WebACLId default")
    eq(got["Restrictions"], {"GeoRestriction": {"RestrictionType": "none", "Quantity": 0}}, "Restrictions default")
    eq(got["OriginGroups"], {"Quantity": 0}, "OriginGroups default")
    bare = cf.create_distribution(DistributionConfig={
        "CallerReference": caller + "-bare", "Comment": "", "Enabled": False,
        "Origins": cfg["Origins"], "DefaultCacheBehavior": {
            "TargetOriginId": "site-bucket", "ViewerProtocolPolicy": "allow-all",
            "CachePolicyId": CTX["cache_policy"]}})["Distribution"]
    eq(bare["DistributionConfig"]["ViewerCertificate"],
       {"CloudFrontDefaultCertificate": True, "SSLSupportMethod": "sni-only", "MinimumProtocolVersion": "TLSv1",
        "CertificateSource": "cloudfront"}, "default certificate filled in")
    eq((bare["DistributionConfig"]["HttpVersion"], bare["DistributionConfig"]["PriceClass"]),
       ("http2", "PriceClass_All"), "HttpVersion and PriceClass defaults")
    cf.get_distribution(Id=bare["Id"])  # Deployed
    cf.delete_distribution(Id=bare["Id"], IfMatch=cf.get_distribution(Id=bare["Id"])["ETag"])
    check(dist["DomainName"].endswith(".cloudfront.net"), "DomainName")
    eq(dist["Status"], "InProgress", "Status right after create")

    g = cf.get_distribution(Id=did)
    eq(g["Distribution"]["Status"], "Deployed", "Status on the next read (moto: manual transition, 1 read)")
    eq(g["ETag"], etag, "GetDistribution ETag stable")
    eq(g["Distribution"]["DistributionConfig"], got, "GetDistribution round trip")
    gc = cf.get_distribution_config(Id=did)
    eq(gc["DistributionConfig"], got, "GetDistributionConfig round trip")
    eq(gc["ETag"], etag, "GetDistributionConfig ETag")

    summaries = cf.list_distributions()["DistributionList"]["Items"]
    s = next(x for x in summaries if x["Id"] == did)
    eq(s["DefaultCacheBehavior"]["FunctionAssociations"]["Quantity"], 1, "summary has FunctionAssociations")
    eq(s["Origins"]["Items"][0]["OriginAccessControlId"], oac, "summary has OriginAccessControlId")
    eq(s["HttpVersion"], "http2and3", "summary HttpVersion")
    eq(s["ETag"], etag, "summary ETag")

    arn = dist["ARN"]
    eq(cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"],
       [{"Key": "cloudfront-host:project", "Value": "smoke"}], "tags from CreateDistributionWithTags")
    cf.tag_resource(Resource=arn, Tags={"Items": [{"Key": "extra", "Value": "1"}]})
    cf.untag_resource(Resource=arn, TagKeys={"Items": ["extra"]})
    eq(len(cf.list_tags_for_resource(Resource=arn)["Tags"]["Items"]), 1, "tag/untag")

    eq(cf.list_distributions_by_cache_policy_id(CachePolicyId=CTX["cache_policy"])["DistributionIdList"]["Items"],
       [did], "ListDistributionsByCachePolicyId")
    # the policies and the function are in use now
    cp = cf.get_cache_policy(Id=CTX["cache_policy"])
    raises("CachePolicyInUse", lambda: cf.delete_cache_policy(Id=CTX["cache_policy"], IfMatch=cp["ETag"]), 409)
    rh = cf.get_response_headers_policy(Id=CTX["rh_policy"])
    raises("ResponseHeadersPolicyInUse",
           lambda: cf.delete_response_headers_policy(Id=CTX["rh_policy"], IfMatch=rh["ETag"]), 409)
    fe = cf.describe_function(Name=fn_name)["ETag"]
    raises("FunctionInUse", lambda: cf.delete_function(Name=fn_name, IfMatch=fe), 409)
    eq(cf.describe_function(Name=fn_name, Stage="LIVE")["FunctionSummary"]["Status"], "DEPLOYED",
       "associated function Status")

    # references are checked
    raises("NoSuchCachePolicy", lambda: cf.create_distribution(DistributionConfig=dist_config(
        caller + "-x", oac, fn_arn, "missing-policy", CTX["rh_policy"])), 404)
    raises("CNAMEAlreadyExists", lambda: cf.create_distribution(DistributionConfig=dict(
        dist_config(caller + "-y", oac, fn_arn, CTX["cache_policy"], CTX["rh_policy"]), Aliases=cfg["Aliases"])), 409)

    # invalidations still go to moto
    inv = cf.create_invalidation(DistributionId=did, InvalidationBatch={
        "Paths": {"Quantity": 1, "Items": ["/*"]}, "CallerReference": caller})
    check(inv["Invalidation"]["Id"], "CreateInvalidation")

    # update: If-Match rules, ETag changes, config replaced
    cfg2 = dist_config(caller, oac, fn_arn, CTX["cache_policy"], CTX["rh_policy"], comment="second")
    raises("InvalidIfMatchVersion", lambda: cf.update_distribution(Id=did, DistributionConfig=cfg2), 400)
    raises("PreconditionFailed", lambda: cf.update_distribution(Id=did, DistributionConfig=cfg2, IfMatch="x"), 412)
    raises("IllegalUpdate", lambda: cf.update_distribution(
        Id=did, DistributionConfig=dict(cfg2, CallerReference="other"), IfMatch=etag))
    u = cf.update_distribution(Id=did, DistributionConfig=cfg2, IfMatch=etag)
    etag2 = u["ETag"]
    check(etag2 != etag, "UpdateDistribution changes the ETag")
    eq(u["Distribution"]["DistributionConfig"]["Comment"], "second", "UpdateDistribution returns the new config")
    eq(cf.get_distribution_config(Id=did)["DistributionConfig"]["Comment"], "second", "updated config stored")
    raises("PreconditionFailed", lambda: cf.update_distribution(Id=did, DistributionConfig=cfg2, IfMatch=etag), 412)

    # delete: must be disabled, If-Match checked
    raises("DistributionNotDisabled", lambda: cf.delete_distribution(Id=did, IfMatch=etag2), 409)
    cfg3 = dist_config(caller, oac, fn_arn, CTX["cache_policy"], CTX["rh_policy"], enabled=False)
    u3 = cf.update_distribution(Id=did, DistributionConfig=cfg3, IfMatch=etag2)
    etag3 = u3["ETag"]
    eq(u3["Distribution"]["Status"], "InProgress", "Status right after an update")
    raises("DistributionNotDisabled", lambda: cf.delete_distribution(Id=did, IfMatch=etag3), 409)
    eq(cf.get_distribution(Id=did)["Distribution"]["Status"], "Deployed", "Deployed on the next read")
    raises("PreconditionFailed", lambda: cf.delete_distribution(Id=did, IfMatch=etag2), 412)
    raises("InvalidIfMatchVersion", lambda: cf.delete_distribution(Id=did, IfMatch=""))
    cf.delete_distribution(Id=did, IfMatch=etag3)
    raises("NoSuchDistribution", lambda: cf.get_distribution(Id=did), 404)

    # what the deleted distribution used stays in use for a moment (EMULATOR_IN_USE_LAG_SECONDS)
    raises("CachePolicyInUse", lambda: cf.delete_cache_policy(
        Id=CTX["cache_policy"], IfMatch=cf.get_cache_policy(Id=CTX["cache_policy"])["ETag"]), 409)
    raises("OriginAccessControlInUse", lambda: cf.delete_origin_access_control(
        Id=oac, IfMatch=cf.get_origin_access_control(Id=oac)["ETag"]), 409)
    eq(cf.list_distributions_by_cache_policy_id(CachePolicyId=CTX["cache_policy"])["DistributionIdList"]
       .get("Items", []), [], "a deleted distribution is not listed, even while it releases the policy")
    time.sleep(float(os.environ.get("EMULATOR_IN_USE_LAG_SECONDS", "2")) + 0.2)
    # now the policies and the function can go
    cf.delete_cache_policy(Id=CTX["cache_policy"], IfMatch=cf.get_cache_policy(Id=CTX["cache_policy"])["ETag"])
    cf.delete_response_headers_policy(Id=CTX["rh_policy"],
                                      IfMatch=cf.get_response_headers_policy(Id=CTX["rh_policy"])["ETag"])
    cf.delete_function(Name=fn_name, IfMatch=cf.describe_function(Name=fn_name)["ETag"])


def test_connections() -> None:
    cs = client("codestar-connections", REGION)
    r = cs.create_connection(ProviderType="GitHub", ConnectionName="smoke-gh",
                             Tags=[{"Key": "cloudfront-host:project", "Value": "smoke"}])
    arn = r["ConnectionArn"]
    check(arn.startswith(f"arn:aws:codestar-connections:{REGION}:{ACCOUNT}:connection/"), f"connection ARN {arn}")
    c = cs.get_connection(ConnectionArn=arn)["Connection"]
    eq((c["ConnectionStatus"], c["ProviderType"], c["ConnectionName"], c["OwnerAccountId"]),
       ("PENDING", "GitHub", "smoke-gh", ACCOUNT), "new connection")
    for i in range(2):
        cs.create_connection(ProviderType="Bitbucket", ConnectionName=f"bb-{i}")
    eq(len(cs.list_connections(ProviderTypeFilter="Bitbucket")["Connections"]), 2, "ProviderTypeFilter")
    p1 = cs.list_connections(MaxResults=2)
    check("NextToken" in p1 and len(p1["Connections"]) == 2, "first page")
    p2 = cs.list_connections(MaxResults=2, NextToken=p1["NextToken"])
    eq(len(p2["Connections"]), 1, "second page")
    check("NextToken" not in p2, "no NextToken on the last page")
    cs.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])
    cs.untag_resource(ResourceArn=arn, TagKeys=["cloudfront-host:project"])
    eq(cs.list_tags_for_resource(ResourceArn=arn)["Tags"], [{"Key": "k", "Value": "v"}], "connection tags")
    doc = hook("POST", "/_emulator/connections/status", {"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"})
    eq(doc["ConnectionStatus"], "AVAILABLE", "hook answer")
    eq(cs.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"], "AVAILABLE", "after hook")
    cs.delete_connection(ConnectionArn=arn)
    raises("ResourceNotFoundException", lambda: cs.get_connection(ConnectionArn=arn))


def test_codeconnections() -> None:
    cc = client("codeconnections", REGION)
    arn = cc.create_connection(ConnectionName=f"smoke-cc-{uuid.uuid4().hex[:6]}", ProviderType="GitHub")[
        "ConnectionArn"]
    check(arn.startswith(f"arn:aws:codeconnections:{REGION}:{ACCOUNT}:connection/"), f"codeconnections ARN {arn}")
    eq(cc.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"], "PENDING", "starts PENDING")
    hook("POST", "/_emulator/connections/status", {"ConnectionArn": arn, "ConnectionStatus": "AVAILABLE"})
    eq(cc.get_connection(ConnectionArn=arn)["Connection"]["ConnectionStatus"], "AVAILABLE", "approved")
    cc.delete_connection(ConnectionArn=arn)
    raises("ResourceNotFoundException", lambda: cc.get_connection(ConnectionArn=arn))


def test_log_retention_values() -> None:
    logs = client("logs", REGION)
    group = f"/smoke/retention-{uuid.uuid4().hex[:6]}"
    logs.create_log_group(logGroupName=group)
    raises("InvalidParameterException", lambda: logs.put_retention_policy(logGroupName=group, retentionInDays=10))
    logs.put_retention_policy(logGroupName=group, retentionInDays=1096)
    eq(logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0]["retentionInDays"], 1096, "retention")
    logs.delete_log_group(logGroupName=group)


def make_role(name: str, services: list[str]) -> str:
    iam = client("iam")
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": services},
                                                   "Action": "sts:AssumeRole"}]}
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(doc))["Role"]["Arn"]


def raw_json(service: str, target: str, body: dict[str, Any], version: str = "1.1") -> Any:
    headers = {"X-Amz-Target": target, "Content-Type": f"application/x-amz-json-{version}",
               "Authorization": f"AWS4-HMAC-SHA256 Credential=AKIAEXAMPLEEXAMPLE/20250101/{REGION}/{service}/"
                                "aws4_request, SignedHeaders=host, Signature=00"}
    r = S.post(EP + "/", data=json.dumps(body), headers=headers)
    eq(r.status_code, 200, f"{target} ({r.text})")
    return r.json()


def test_pipeline_state() -> None:
    role = make_role(f"pipe-{uuid.uuid4().hex[:6]}", ["codebuild.amazonaws.com", "codepipeline.amazonaws.com"])
    cp = client("codepipeline", REGION)
    conn = client("codestar-connections", REGION).create_connection(
        ConnectionName=f"smoke-{uuid.uuid4().hex[:8]}", ProviderType="GitHub")["ConnectionArn"]
    name = f"smoke-pipe-{uuid.uuid4().hex[:6]}"
    decl = {
        "name": name, "roleArn": role, "artifactStore": {"type": "S3", "location": "artifacts-bucket"},
        "pipelineType": "V2",
        "stages": [
            {"name": "Source", "actions": [{"name": "Checkout", "actionTypeId": {
                "category": "Source", "owner": "AWS", "provider": "CodeStarSourceConnection", "version": "1"},
                "configuration": {"ConnectionArn": conn, "FullRepositoryId": "o/r",
                                  "BranchName": "main"}, "outputArtifacts": [{"name": "src"}]}]},
            {"name": "Build", "actions": [{"name": "Build", "actionTypeId": {
                "category": "Build", "owner": "AWS", "provider": "CodeBuild", "version": "1"},
                "inputArtifacts": [{"name": "src"}], "configuration": {"ProjectName": "p"}}]},
        ]}
    # The service model's bounds: at most 8 file-path patterns per push filter.
    too_many = dict(decl, triggers=[{"providerType": "CodeStarSourceConnection", "gitConfiguration": {
        "sourceActionName": "Checkout", "push": [{"filePaths": {"includes": [f"p{i}/**" for i in range(9)]}}]}}])
    raises("ValidationException", lambda: cp.create_pipeline(pipeline=too_many))
    cp.create_pipeline(pipeline=decl)
    eq(cp.get_pipeline(name=name)["pipeline"].get("executionMode"), "SUPERSEDED", "V2 default executionMode")
    # CodePipeline runs a new pipeline by itself; with a PENDING connection Source fails.
    runs = raw_json("codepipeline", "CodePipeline_20150709.ListPipelineExecutions",
                    {"pipelineName": name})["pipelineExecutionSummaries"]
    eq(len(runs), 1, "one automatic execution on creation")
    eq(runs[0]["trigger"]["triggerType"], "CreatePipeline", "trigger type of the automatic run")
    eq(runs[0]["status"], "Failed", "automatic run fails with a PENDING connection")
    check("PENDING" in runs[0].get("statusSummary", ""), f"summary names the status: {runs[0]}")
    st = {s["stageName"]: s for s in cp.get_pipeline_state(name=name)["stageStates"]}
    eq(st["Source"]["latestExecution"]["status"], "Failed", "Source failed")
    check("latestExecution" not in st["Build"], "Build never started")
    raw = raw_json("codepipeline", "CodePipeline_20150709.GetPipeline", {"name": name})
    check(isinstance(raw["metadata"]["created"], (int, float)), "GetPipeline metadata.created is epoch seconds")
    raw = raw_json("codepipeline", "CodePipeline_20150709.GetPipelineState", {"name": name})
    check(isinstance(raw["created"], (int, float)), "GetPipelineState created is epoch seconds")
    hook("POST", "/_emulator/connections/status", {"ConnectionArn": conn, "ConnectionStatus": "AVAILABLE"})
    # An AVAILABLE connection is not enough: the service role must be allowed to use it, with
    # the action of the ARN's own prefix.
    iam = client("iam")
    role_name = role.rsplit("/", 1)[-1]
    iam.put_role_policy(RoleName=role_name, PolicyName="conn", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codeconnections:UseConnection",
                                                "Resource": conn}]}))
    denied = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    got = cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=denied)["pipelineExecution"]
    eq(got["status"], "Failed", "a run without UseConnection of the right prefix fails")
    check("codestar-connections:UseConnection" in got.get("statusSummary", ""), f"summary: {got}")
    iam.put_role_policy(RoleName=role_name, PolicyName="conn", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "codestar-connections:UseConnection",
                                                "Resource": conn}]}))

    ex = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    eq(cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=ex)["pipelineExecution"]["trigger"]
       ["triggerType"], "StartPipelineExecution", "trigger of a started run")
    st = {s["stageName"]: s for s in cp.get_pipeline_state(name=name)["stageStates"]}
    eq(st["Source"]["latestExecution"], {"pipelineExecutionId": ex, "status": "InProgress"}, "Source in progress")
    check("latestExecution" not in st["Build"], "Build not started")
    eq(cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=ex)["pipelineExecution"]["status"],
       "InProgress", "execution InProgress")
    hook("POST", "/_emulator/pipelines/state", {"name": name, "stage": "Source", "status": "Succeeded"})
    st = {s["stageName"]: s for s in cp.get_pipeline_state(name=name)["stageStates"]}
    eq(st["Source"]["latestExecution"]["status"], "Succeeded", "Source succeeded")
    eq(st["Build"]["latestExecution"]["status"], "InProgress", "Build started after Source")
    hook("POST", "/_emulator/pipelines/state",
         {"name": name, "stage": "Build", "status": "Failed", "errorMessage": "cargo build failed"})
    st = {s["stageName"]: s for s in cp.get_pipeline_state(name=name)["stageStates"]}
    eq(st["Build"]["latestExecution"]["status"], "Failed", "Build failed")
    eq(st["Build"]["actionStates"][0]["latestExecution"]["errorDetails"]["message"], "cargo build failed",
       "action error message")
    eq(cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=ex)["pipelineExecution"]["status"],
       "Failed", "execution Failed")
    acts = raw_json("codepipeline", "CodePipeline_20150709.ListActionExecutions",
                    {"pipelineName": name, "filter": {"pipelineExecutionId": ex}})["actionExecutionDetails"]
    eq([(a["stageName"], a["status"]) for a in acts], [("Build", "Failed"), ("Source", "Succeeded")],
       "ListActionExecutions: this execution's actions, latest first")
    summ = raw_json("codepipeline", "CodePipeline_20150709.ListPipelineExecutions", {"pipelineName": name})
    eq(summ["pipelineExecutionSummaries"][0]["status"], "Failed", "ListPipelineExecutions status")
    check(isinstance(summ["pipelineExecutionSummaries"][0]["startTime"], (int, float)), "startTime epoch seconds")
    ex2 = cp.start_pipeline_execution(name=name)["pipelineExecutionId"]
    hook("POST", "/_emulator/pipelines/state", {"name": name, "stage": "Build", "status": "Succeeded"})
    eq(cp.get_pipeline_execution(pipelineName=name, pipelineExecutionId=ex2)["pipelineExecution"]["status"],
       "Succeeded", "second execution Succeeded")
    st = {s["stageName"]: s for s in cp.get_pipeline_state(name=name)["stageStates"]}
    eq(st["Source"]["latestExecution"], {"pipelineExecutionId": ex2, "status": "Succeeded"},
       "earlier stages implied Succeeded")


def test_codebuild() -> None:
    role = make_role(f"build-{uuid.uuid4().hex[:6]}", ["codebuild.amazonaws.com"])
    cb = client("codebuild", REGION)
    name = f"smoke-build-{uuid.uuid4().hex[:6]}"
    env = {"type": "LINUX_CONTAINER", "image": "aws/codebuild/amazonlinux-x86_64-standard:5.0",
           "computeType": "BUILD_GENERAL1_MEDIUM",
           "environmentVariables": [{"name": "RUSTUP_TOOLCHAIN", "value": "1.86", "type": "PLAINTEXT"}],
           "privilegedMode": False, "imagePullCredentialsType": "CODEBUILD"}
    source = {"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands: [make]\n"}
    cache = {"type": "S3", "location": "cache-bucket/cache"}
    logs = {"cloudWatchLogs": {"status": "ENABLED", "groupName": "/cloudfront-host/smoke"},
            "s3Logs": {"status": "DISABLED", "encryptionDisabled": False}}
    p = cb.create_project(name=name, source=source, artifacts={"type": "CODEPIPELINE"}, environment=env,
                          serviceRole=role, cache=cache, logsConfig=logs, timeoutInMinutes=30,
                          tags=[{"key": "cloudfront-host:project", "value": "smoke"}])["project"]
    eq((p["source"]["buildspec"], p["environment"]["environmentVariables"], p["cache"], p["logsConfig"]),
       (source["buildspec"], env["environmentVariables"], cache, logs), "CreateProject keeps the fields")
    eq(p["timeoutInMinutes"], 30, "timeoutInMinutes")
    got = cb.batch_get_projects(names=[name])["projects"][0]
    eq(got["source"]["buildspec"], source["buildspec"], "BatchGetProjects buildspec")
    eq(got["artifacts"], {"type": "CODEPIPELINE"}, "artifacts")

    env2 = dict(env, environmentVariables=[{"name": "RUSTUP_TOOLCHAIN", "value": "1.87", "type": "PLAINTEXT"},
                                           {"name": "EXTRA", "value": "1", "type": "PLAINTEXT"}])
    src2 = dict(source, buildspec="version: 0.2\n")
    u = cb.update_project(name=name, environment=env2, source=src2,
                          tags=[{"key": "cloudfront-host:project", "value": "smoke2"}])["project"]
    eq(u["environment"]["environmentVariables"], env2["environmentVariables"], "UpdateProject env vars")
    eq(u["source"]["buildspec"], "version: 0.2\n", "UpdateProject buildspec")
    eq(u["cache"], cache, "UpdateProject keeps untouched fields")
    got = cb.batch_get_projects(names=[name])["projects"][0]
    eq(got["tags"], [{"key": "cloudfront-host:project", "value": "smoke2"}], "tags updated")
    check(got["lastModified"] >= got["created"], "lastModified")
    raises("ResourceNotFoundException", lambda: cb.update_project(name="nope-project", description="x"))

    b1 = cb.start_build(projectName=name)["build"]
    eq((b1["logs"]["groupName"], b1["logs"]["streamName"]), ("/cloudfront-host/smoke", b1["id"].split(":")[1]),
       "the build logs to the project's group, one stream per build")
    check("/cloudfront-host/smoke".replace("/", "%2F") in b1["logs"]["deepLink"], b1["logs"]["deepLink"])
    eq(b1["environment"]["environmentVariables"], env2["environmentVariables"], "build uses the project's env")
    got = cb.batch_get_builds(ids=[b1["id"], "nope:123"])
    eq(got["builds"][0]["buildStatus"], "SUCCEEDED", "default: a build succeeds when read")
    eq(got["buildsNotFound"], ["nope:123"], "buildsNotFound")
    eq(len(cb.batch_get_builds(ids=[b1["id"]])["builds"][0]["phases"]), 11, "phases are not duplicated")

    b2 = cb.start_build(projectName=name)["build"]
    hook("POST", "/_emulator/builds/status", {"id": b2["id"], "status": "IN_PROGRESS", "phase": "INSTALL"})
    g = cb.batch_get_builds(ids=[b2["id"]])["builds"][0]
    eq((g["buildStatus"], g["currentPhase"], g["buildComplete"]), ("IN_PROGRESS", "INSTALL", False), "in progress")
    hook("POST", "/_emulator/builds/status",
         {"id": b2["id"], "status": "FAILED", "phase": "BUILD", "message": "error: could not compile"})
    g = cb.batch_get_builds(ids=[b2["id"]])["builds"][0]
    eq(g["buildStatus"], "FAILED", "failed build")
    failed = [ph for ph in g["phases"] if ph.get("phaseStatus") == "FAILED"]
    eq([ph["phaseType"] for ph in failed], ["BUILD"], "failed phase")
    eq(failed[0]["contexts"][0]["message"], "error: could not compile", "phase context message")
    ids = cb.list_builds_for_project(projectName=name)["ids"]
    eq(ids, [b2["id"], b1["id"]], "ListBuildsForProject newest first")


def test_faults() -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="fault-bucket")
    f = hook("POST", "/_emulator/faults", {"method": "PUT", "path": r"^/fault-bucket/", "status": 503,
                                           "code": "SlowDown", "message": "Please reduce your request rate.",
                                           "count": 1}, 201)
    e = raises("SlowDown", lambda: s3.put_object(Bucket="fault-bucket", Key="a.txt", Body=b"x"), 503)
    check("reduce" in e.response["Error"]["Message"], "S3 fault message")
    s3.put_object(Bucket="fault-bucket", Key="a.txt", Body=b"x")  # count was 1
    eq(s3.get_object(Bucket="fault-bucket", Key="a.txt")["Body"].read(), b"x", "S3 works after the fault")

    hook("POST", "/_emulator/faults", {"target": "CodeBuild_20161006.BatchGetProjects", "status": 400,
                                       "code": "ThrottlingException", "message": "Rate exceeded", "count": 2}, 201)
    cb = client("codebuild", REGION)
    raises("ThrottlingException", lambda: cb.batch_get_projects(names=["x"]), 400)
    listed = hook("GET", "/_emulator/faults")["faults"]
    eq([(x["code"], x["remaining"], x["hits"]) for x in listed], [("ThrottlingException", 1, 1)], "fault list")

    hook("POST", "/_emulator/faults", {"method": "GET", "path": r"^/2020-05-31/distribution$", "status": 500,
                                       "code": "InternalError", "message": "boom"}, 201)
    raises("InternalError", lambda: client("cloudfront").list_distributions(), 500)

    hook("POST", "/_emulator/faults", {"path": "^/key-value-stores/", "status": 409, "code": "ConflictException",
                                       "message": "injected"}, 201)
    r = kvs("GET", f"arn:aws:cloudfront::{ACCOUNT}:key-value-store/{uuid.uuid4()}")
    kvs_err(r, 409, "ConflictException")

    hook("POST", "/_emulator/faults", {"service": "iam", "action": "GetRole", "status": 400,
                                       "code": "Throttling", "message": "slow down"}, 201)
    raises("Throttling", lambda: client("iam").get_role(RoleName="whatever"), 400)

    eq(hook("DELETE", "/_emulator/faults")["cleared"], 1, "DELETE clears the remaining fault")
    eq(hook("GET", "/_emulator/faults")["faults"], [], "no faults left")
    cb.batch_get_projects(names=["x"])


def test_fault_modes() -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="fault-modes")
    # after: the write takes effect, the client gets the error
    hook("POST", "/_emulator/faults", {"method": "PUT", "path": r"^/fault-modes/after\.txt$", "status": 500,
                                       "mode": "after", "count": 1}, 201)
    raises("InternalError", lambda: s3.put_object(Bucket="fault-modes", Key="after.txt", Body=b"landed"), 500)
    eq(s3.get_object(Bucket="fault-modes", Key="after.txt")["Body"].read(), b"landed", "mode after performs")
    # drop: the write takes effect, the connection breaks mid-response
    hook("POST", "/_emulator/faults", {"method": "PUT", "path": r"^/fault-modes/drop\.txt$", "mode": "drop",
                                       "count": 1}, 201)
    try:
        s3.put_object(Bucket="fault-modes", Key="drop.txt", Body=b"dropped")
        raise AssertionError("mode drop: the call should fail")
    except AssertionError:
        raise
    except Exception:  # noqa: BLE001 - botocore raises a connection/parse error, not a ClientError
        pass
    eq(s3.get_object(Bucket="fault-modes", Key="drop.txt")["Body"].read(), b"dropped", "mode drop performs")
    # delay: performed normally, later
    hook("POST", "/_emulator/faults", {"method": "PUT", "path": r"^/fault-modes/slow\.txt$", "mode": "delay",
                                       "delay_ms": 300, "count": 1}, 201)
    t0 = time.time()
    s3.put_object(Bucket="fault-modes", Key="slow.txt", Body=b"s")
    check(time.time() - t0 >= 0.3, "mode delay waits")
    # probability with a seed: a repeatable share of matching requests fails
    outcomes = []
    for _ in range(2):
        hook("DELETE", "/_emulator/faults")
        hook("POST", "/_emulator/faults", {"method": "GET", "path": r"^/fault-modes/after\.txt$", "status": 503,
                                           "code": "SlowDown", "probability": 0.3, "seed": 7, "count": -1}, 201)
        run = []
        for _ in range(40):
            try:
                s3.get_object(Bucket="fault-modes", Key="after.txt")
                run.append(0)
            except ClientError:
                run.append(1)
        outcomes.append(run)
        listed = hook("GET", "/_emulator/faults")["faults"][0]
        eq(listed["hits"] + listed["passed"], 40, "every matching request is counted")
    eq(outcomes[0], outcomes[1], "a seed repeats the draws")
    check(0 < sum(outcomes[0]) < 40, f"probability 0.3 fails some, not all: {sum(outcomes[0])}/40")
    mine = hook("POST", "/_emulator/faults", {"path": "^/mine$"}, 201)
    hook("DELETE", f"/_emulator/faults/{mine['id']}")
    check(all(f["id"] != mine["id"] for f in hook("GET", "/_emulator/faults")["faults"]), "DELETE by id")
    hook("DELETE", f"/_emulator/faults/{mine['id']}", status=404)
    hook("POST", "/_emulator/faults", {"path": "^/x$", "probability": 1.5}, 400)
    hook("POST", "/_emulator/faults", {"path": "^/x$", "mode": "sometimes"}, 400)
    hook("DELETE", "/_emulator/faults")


def test_s3_conditional_writes() -> None:
    s3 = client("s3")
    s3.create_bucket(Bucket="cond-writes")
    s3.put_object(Bucket="cond-writes", Key="claim", Body=b"first", IfNoneMatch="*")
    raises("PreconditionFailed", lambda: s3.put_object(Bucket="cond-writes", Key="claim", Body=b"second",
                                                       IfNoneMatch="*"), 412)
    eq(s3.get_object(Bucket="cond-writes", Key="claim")["Body"].read(), b"first", "412 leaves the object")
    # multipart: checked when the upload completes
    up = s3.create_multipart_upload(Bucket="cond-writes", Key="claim")
    part = s3.upload_part(Bucket="cond-writes", Key="claim", UploadId=up["UploadId"], PartNumber=1, Body=b"p")
    raises("PreconditionFailed", lambda: s3.complete_multipart_upload(
        Bucket="cond-writes", Key="claim", UploadId=up["UploadId"], IfNoneMatch="*",
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]}), 412)
    # racing conditional writes: exactly one wins
    import concurrent.futures

    def attempt(i: int) -> bool:
        c = client("s3")
        try:
            c.put_object(Bucket="cond-writes", Key="race", Body=str(i).encode(), IfNoneMatch="*")
            return True
        except ClientError as e:
            eq(e.response["Error"]["Code"], "PreconditionFailed", "the losers get 412")
            return False

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, range(16)))
    eq(sum(wins), 1, "one conditional write wins a race")


def test_bucket_versioning_wire_format() -> None:
    s3 = client("s3")
    bucket = "smoke-versioning"
    s3.create_bucket(Bucket=bucket)
    auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, "
                             "SignedHeaders=host, Signature=0"}
    r = S.get(f"{EP}/{bucket}?versioning", headers=auth)
    eq(r.status_code, 200, "GetBucketVersioning of a new bucket")
    check(b"<VersioningConfiguration" in r.content, f"new bucket: {r.content!r}")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    r = S.get(f"{EP}/{bucket}?versioning", headers=auth)
    check(b"<VersioningConfiguration" in r.content and b"GetBucketVersioningResponse" not in r.content,
          f"AWS's root element: {r.content!r}")
    check(b"<Status>Enabled</Status>" in r.content, f"status: {r.content!r}")
    eq(s3.get_bucket_versioning(Bucket=bucket)["Status"], "Enabled", "boto3 reads it")


def test_route53_wildcard_names() -> None:
    r53 = client("route53")
    zone = r53.create_hosted_zone(Name="wild.example.com", CallerReference=uuid.uuid4().hex)["HostedZone"]["Id"]
    r53.change_resource_record_sets(HostedZoneId=zone, ChangeBatch={"Changes": [{
        "Action": "UPSERT", "ResourceRecordSet": {
            "Name": "*.preview.wild.example.com", "Type": "A",
            "AliasTarget": {"HostedZoneId": "Z2FDTNDATAQYW2", "DNSName": "d1.cloudfront.net",
                            "EvaluateTargetHealth": False}}}]})
    names = [s["Name"] for s in r53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]]
    check("\\052.preview.wild.example.com." in names, f"a wildcard is listed as \\052: {names}")


def test_acm_and_reset() -> None:
    acm = client("acm")
    arn = acm.request_certificate(DomainName="smoke.example.com", ValidationMethod="DNS")["CertificateArn"]
    status = acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
    check(status in ("PENDING_VALIDATION", "ISSUED"), f"ACM status {status}")
    cs = client("codestar-connections", REGION)
    cs.create_connection(ProviderType="GitHub", ConnectionName="before-reset")
    hook("POST", "/_emulator/faults", {"path": "^/nothing$", "status": 500}, 201)
    r = S.post(EP + "/moto-api/reset")
    eq(r.status_code, 200, "reset")
    eq(cs.list_connections()["Connections"], [], "reset clears connections")
    eq(hook("GET", "/_emulator/faults")["faults"], [], "reset clears faults")
    eq(client("cloudfront").list_cache_policies(Type="custom")["CachePolicyList"]["Quantity"], 0,
       "reset clears cache policies")


def test_request_log() -> None:
    key = "AKIALOG" + uuid.uuid4().hex[:10].upper()
    s3 = boto3.client("s3", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=key,
                      aws_secret_access_key="secret", config=CFG)
    bucket = "log-" + uuid.uuid4().hex[:12]
    s3.create_bucket(Bucket=bucket)
    s3.list_objects_v2(Bucket=bucket)
    iam = boto3.client("iam", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=key,
                       aws_secret_access_key="secret", config=CFG)
    iam.list_roles()
    log = hook("GET", f"/_emulator/requests?access_key={key}")["requests"]
    eq([(r["method"], r["write"]) for r in log], [("PUT", True), ("GET", False), ("POST", False)],
       "one entry per request, writes marked")
    eq(log[2]["operation"], "ListRoles", "query Action recorded")
    eq(log[0]["status"], 200, "status recorded")
    since = log[-1]["seq"]
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    later = hook("GET", f"/_emulator/requests?access_key={key}&since={since}")["requests"]
    eq([r["write"] for r in later], [True], "since= filters")


def test_policy_quotas() -> None:
    cf = client("cloudfront")
    account = "210987654321"
    hook("POST", "/_emulator/quotas", {"account": account, "cache-policy": 1})
    # a client in that account (moto maps an access key to the account of the IAM user owning it)
    r = S.post(EP + "/", data={"Action": "CreateUser", "UserName": "quota", "Version": "2010-05-08"},
               headers={"x-moto-account-id": account,
                        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/iam/aws4_request"})
    r = S.post(EP + "/", data={"Action": "CreateAccessKey", "UserName": "quota", "Version": "2010-05-08"},
               headers={"x-moto-account-id": account,
                        "Authorization": "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/iam/aws4_request"})
    key = r.text.split("<AccessKeyId>")[1].split("<")[0]
    other = boto3.client("cloudfront", endpoint_url=EP, region_name="us-east-1", aws_access_key_id=key,
                         aws_secret_access_key="secret", config=CFG)
    cfg = {"Name": "q1", "MinTTL": 0, "ParametersInCacheKeyAndForwardedToOrigin": {
        "EnableAcceptEncodingGzip": False, "HeadersConfig": {"HeaderBehavior": "none"},
        "CookiesConfig": {"CookieBehavior": "none"}, "QueryStringsConfig": {"QueryStringBehavior": "none"}}}
    other.create_cache_policy(CachePolicyConfig=cfg)
    raises("TooManyCachePolicies", lambda: other.create_cache_policy(CachePolicyConfig=dict(cfg, Name="q2")), 400)
    # the default account keeps the documented 20
    check(len(cf.list_cache_policies(Type="custom")["CachePolicyList"].get("Items", [])) < 20, "default account")


TESTS = [test_module_sizes, test_health, test_codeconnections, test_log_retention_values, test_kvs_data_plane, test_cache_policies, test_response_headers_policies, test_functions,
         test_distributions, test_connections, test_pipeline_state, test_codebuild, test_faults,
         test_fault_modes, test_s3_conditional_writes,
         test_bucket_versioning_wire_format, test_request_log, test_policy_quotas, test_route53_wildcard_names, test_acm_and_reset]


def main() -> int:
    if not EP:
        print("AWS_ENDPOINT_URL is not set", file=sys.stderr)
        return 2
    r = S.post(EP + "/moto-api/reset")
    if r.status_code != 200:
        print(f"cannot reset the emulator at {EP}: HTTP {r.status_code}", file=sys.stderr)
        return 2
    failed = []
    t0 = time.time()
    for t in TESTS:
        name = t.__name__
        try:
            t()
            print(f"ok    {name}")
        except Exception as e:  # noqa: BLE001
            failed.append(name)
            print(f"FAIL  {name}: {e}")
            traceback.print_exc()
    dt = time.time() - t0
    print(f"smoke test: {len(TESTS) - len(failed)} passed, {len(failed)} failed in {dt:.1f}s"
          + (f" (failed: {', '.join(failed)})" if failed else ""))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

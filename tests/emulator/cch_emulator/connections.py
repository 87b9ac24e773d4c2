"""CodeStar connections and CodeConnections (awsJson1_0)."""

from __future__ import annotations

import base64
import uuid
from typing import Any

from .state import LOCK, S
from .wire import ApiError, Req, Resp, json_resp


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

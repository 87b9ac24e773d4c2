"""CloudFront KeyValueStore data plane (restJson1)."""

from __future__ import annotations

import base64
import re
from datetime import timezone
from typing import Any

from .state import LOCK, S
from .wire import ApiError, Req, Resp, epoch, json_resp, now_dt, rand_id


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

"""JSON timestamps in moto's responses (ISO strings -> epoch seconds)."""

from __future__ import annotations

import json
from typing import Any

from .wire import Req, to_epoch


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

"""Test hooks under /_emulator/."""

from __future__ import annotations

import os
import random
import re
import uuid
from typing import Any, TYPE_CHECKING

import moto
from moto.core import DEFAULT_ACCOUNT_ID

from .cloudfront_policies import policy_quota
from .codebuild_builds import BUILD_STATUSES, PHASES, apply_build_state, find_build, to_json_build
from .codepipeline_state import STAGE_STATUSES, on_execution_started, pipeline_stage_names, set_stage_status
from .connections import connection_public
from .faults import FAULT_MODES, public_fault
from .state import LOCK, S, find_pipeline, reset_state
from .wire import ApiError, EMULATOR_VERSION, Req, Resp, json_resp

if TYPE_CHECKING:
    from .app import EmulatorApp


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

"""The WSGI application: routing to our handlers, moto for everything else."""

from __future__ import annotations

import json
import re
import time
from typing import Any, Callable

from moto.server import DomainDispatcherApplication, create_backend_app

from .acm import fix_acm_held_status, handle_acm_delete_certificate
from .cloudfront import handle_cloudfront
from .codebuild import handle_codebuild
from .codepipeline import (
    fill_pipeline_defaults,
    fix_create_pipeline_role_check,
    fix_execution_trigger,
    handle_get_pipeline_state,
    start_execution,
    validate_pipeline_declaration,
)
from .codepipeline_state import handle_list_action_executions
from .connections import handle_connections
from .faults import broken_response, take_fault
from .hooks import handle_hooks
from .kvs import handle_kvs
from .logs import LOG_RETENTION_DAYS
from .requests_log import record_request
from .s3 import fix_bucket_policy_conditions
from .state import LOCK, S, S3_CONDITIONAL_LOCK, cp_backend, find_pipeline, reset_state
from .timestamps import TARGET_SERVICES, normalise_json_response
from .wire import ApiError, CF_PREFIX, Req, Resp, error_resp, is_kvs_request, protocol_of


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

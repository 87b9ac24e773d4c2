"""CodePipeline: source and role checks, execution start, declaration validation, GetPipelineState."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from .codepipeline_state import (
    ACTION_FROM_STAGE,
    on_execution_started,
    pipeline_stage_names,
    set_stage_status,
)
from .state import LOCK, S, cp_backend, find_pipeline
from .wire import ApiError, Req, Resp, epoch, json_resp, to_epoch


def connection_for(arn: Any) -> dict[str, Any] | None:
    """A connection by ARN, whichever service prefix it carries (AWS renamed CodeStar
    Connections to CodeConnections in 2024; both prefixes name connections of one service)."""
    return S.connections.get(arn) if isinstance(arn, str) else None


def source_failure(account: str, pipeline: Any) -> str | None:
    """Why the pipeline's Source stage cannot fetch, as AWS's Source action would fail, or None.

    S3 source: the object must exist (the execution reads it; CodePipeline user guide, "Amazon
    S3 source action"). CodeStarSourceConnection: the connection must be AVAILABLE (a PENDING
    connection "cannot be used until it is updated"; Developer Tools console guide, "Update a
    pending connection"). The wording of the messages is the emulator's."""
    stages = pipeline.pipeline.get("stages", [])
    if not stages:
        return None
    for action in stages[0].get("actions", []):
        tid, cfg = action.get("actionTypeId", {}), action.get("configuration", {}) or {}
        if tid.get("category") != "Source":
            continue
        if tid.get("provider") == "S3":
            from moto.s3.models import s3_backends

            bucket, key = cfg.get("S3Bucket"), cfg.get("S3ObjectKey")
            try:
                obj = s3_backends[account]["aws"].get_object(bucket, key)
            except Exception:
                obj = None
            if obj is None:
                return (f"The object with key '{key}' does not exist in bucket '{bucket}' "
                        f"(action {action.get('name')})")
        if tid.get("provider") == "CodeStarSourceConnection":
            arn = cfg.get("ConnectionArn")
            c = connection_for(arn)
            if c is None:
                return f"Connection {arn} does not exist"
            if c["ConnectionStatus"] != "AVAILABLE":
                return (f"Unable to use Connection: {arn}. The provided connection is in "
                        f"{c['ConnectionStatus']} state, not AVAILABLE")
            # The pipeline's service role must be allowed to use the connection, with the action
            # of the ARN's own service prefix (CodePipeline user guide, "Add permissions to the
            # CodePipeline service role": codestar-connections:UseConnection; Developer Tools
            # console guide, "Connections rename": the prefix must match the resource's).
            action_name = f"{arn.split(':')[2]}:UseConnection"
            if not role_allows(account, pipeline.pipeline.get("roleArn", ""), action_name, arn):
                return (f"Insufficient permissions: the service role {pipeline.pipeline.get('roleArn')} "
                        f"is not allowed {action_name} on {arn}")
    return None


def role_allows(account: str, role_arn: str, action: str, resource: str) -> bool:
    """IAM's evaluation, reduced to what a service role's identity policies say: an explicit
    Deny wins, else some Allow must match the action and the resource (wildcards as IAM reads
    them: case-insensitive actions, `*` and `?` in both)."""
    from fnmatch import fnmatchcase
    from moto.iam.models import iam_backends

    try:
        role = iam_backends[account]["aws"].get_role_by_arn(role_arn)
    except Exception:
        return False
    docs = list(role.policies.values())
    for mp in role.managed_policies.values():
        try:
            docs.append(mp.default_version.document if hasattr(mp, "default_version") else mp.document)
        except Exception:
            continue
    allowed = False
    for doc in docs:
        try:
            d = json.loads(unquote(doc)) if isinstance(doc, str) else doc
        except ValueError:
            continue
        stmts = d.get("Statement", [])
        for st in stmts if isinstance(stmts, list) else [stmts]:
            acts = st.get("Action", [])
            ress = st.get("Resource", [])
            acts = [acts] if isinstance(acts, str) else acts
            ress = [ress] if isinstance(ress, str) else ress
            hit = (any(fnmatchcase(action.lower(), a.lower()) for a in acts)
                   and any(fnmatchcase(resource, r) for r in ress))
            if hit and st.get("Effect") == "Deny":
                return False
            if hit and st.get("Effect") == "Allow":
                allowed = True
    return allowed


def start_execution(account: str, region: str, name: str, exec_id: str, trigger_type: str,
                    trigger_detail: str = "") -> None:
    """An execution starts: record its trigger (ExecutionTrigger in ListPipelineExecutions /
    GetPipelineExecution), put its first stage InProgress, and fail that stage at once when the
    source cannot be fetched."""
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    ex = pipeline.executions.get(exec_id)
    if ex is not None:
        ex.trigger = {"triggerType": trigger_type, "triggerDetail": trigger_detail}
    on_execution_started(account, region, name, exec_id)
    stages = pipeline_stage_names(pipeline)
    why = source_failure(account, pipeline)
    if why and stages:
        set_stage_status(account, region, name, exec_id, stages[0], "Failed", why)


def validate_pipeline_declaration(decl: Any) -> None:
    """The service model's bounds on a declaration's triggers and variables (botocore
    codepipeline service-2.json: GitFilePathPatternList / GitBranchPatternList 1-8 patterns of
    1-255 characters, GitPushFilterList 1-3, PipelineVariableDeclarationList <= 50,
    ExecutionMode QUEUED|SUPERSEDED|PARALLEL), answered as AWS answers model violations."""
    if not isinstance(decl, dict):
        return

    def bad(path: str, what: str) -> ApiError:
        return ApiError(400, "ValidationException",
                        f"1 validation error detected: Value at '{path}' failed to satisfy constraint: {what}")

    mode = decl.get("executionMode")
    if mode is not None and mode not in ("QUEUED", "SUPERSEDED", "PARALLEL"):
        raise bad("pipeline.executionMode", "Member must satisfy enum value set: [QUEUED, SUPERSEDED, PARALLEL]")
    if len(decl.get("variables") or []) > 50:
        raise bad("pipeline.variables", "Member must have length less than or equal to 50")
    for ti, t in enumerate(decl.get("triggers") or [], 1):
        git = (t or {}).get("gitConfiguration") or {}
        for kind in ("push", "pullRequest"):
            filters = git.get(kind) or []
            if len(filters) > 3:
                raise bad(f"pipeline.triggers.{ti}.member.gitConfiguration.{kind}",
                          "Member must have length less than or equal to 3")
            for fi, f in enumerate(filters, 1):
                for crit in ("branches", "filePaths", "tags"):
                    for side in ("includes", "excludes"):
                        pats = ((f or {}).get(crit) or {}).get(side)
                        if pats is None:
                            continue
                        path = f"pipeline.triggers.{ti}.member.gitConfiguration.{kind}.{fi}.member.{crit}.{side}"
                        if not 1 <= len(pats) <= 8:
                            raise bad(path, "Member must have length less than or equal to 8")
                        if any(not isinstance(x, str) or not 1 <= len(x) <= 255 for x in pats):
                            raise bad(path, "Member must have length less than or equal to 255")


def fill_pipeline_defaults(pipeline: Any) -> None:
    """GetPipeline returns the declaration with AWS's defaults: a V2 pipeline's executionMode is
    SUPERSEDED unless set (API reference, PipelineDeclaration.executionMode)."""
    if pipeline is not None and pipeline.pipeline.get("pipelineType") == "V2":
        pipeline.pipeline.setdefault("executionMode", "SUPERSEDED")


def fix_execution_trigger() -> None:
    """moto reports every execution as triggered by StartPipelineExecution; report the trigger
    the emulator recorded (CreatePipeline for the automatic first run)."""
    from moto.codepipeline import models as cpm

    cls = cpm.PipelineExecution
    if getattr(cls, "_emulator_patched", False):
        return
    orig_dict, orig_summary = cls.to_dict, cls.to_summary_dict

    def to_dict(self):  # type: ignore[no-untyped-def]
        out = orig_dict(self)
        out["trigger"] = getattr(self, "trigger", out.get("trigger"))
        return out

    def to_summary_dict(self):  # type: ignore[no-untyped-def]
        out = orig_summary(self)
        out["trigger"] = getattr(self, "trigger", out.get("trigger"))
        return out

    cls.to_dict, cls.to_summary_dict = to_dict, to_summary_dict
    cls._emulator_patched = True  # type: ignore[attr-defined]


def handle_get_pipeline_state(req: Req) -> Resp:
    body = req.json()
    name = body.get("name")
    account, region = req.account, req.region
    with LOCK:
        be = cp_backend(account, region)
        pipeline = be.pipelines.get(name)
        if pipeline is None:
            raise ApiError(400, "PipelineNotFoundException",
                           f"Account '{account}' does not have a pipeline with name '{name}'")
        execs = S.pipeline_exec.get((account, region, name), {})
        order = [e for e in pipeline.executions.keys() if e in execs]  # chronological
        states = []
        for stage in pipeline.pipeline.get("stages", []):
            sname = stage["name"]
            latest = None
            for eid in reversed(order):
                if execs[eid].get(sname) is not None:
                    latest = (eid, execs[eid][sname])
                    break
            actions = []
            for action in stage.get("actions", []):
                a: dict[str, Any] = {"actionName": action["name"]}
                if latest:
                    eid, info = latest
                    ae: dict[str, Any] = {"actionExecutionId": info["action_id"],
                                          "status": ACTION_FROM_STAGE[info["status"]],
                                          "lastStatusChange": epoch(info["changed"])}
                    if info.get("error"):
                        ae["errorDetails"] = {"code": "JobFailed", "message": info["error"]}
                        ae["summary"] = info["error"]
                    a["latestExecution"] = ae
                actions.append(a)
            s: dict[str, Any] = {"stageName": sname, "inboundTransitionState": {"enabled": True},
                                 "actionStates": actions}
            if latest:
                s["latestExecution"] = {"pipelineExecutionId": latest[0], "status": latest[1]["status"]}
            states.append(s)
        meta = pipeline.metadata
        out = {"pipelineName": name, "pipelineVersion": pipeline.pipeline.get("version", 1),
               "stageStates": states, "created": to_epoch(meta["created"]), "updated": to_epoch(meta["updated"])}
        return json_resp(out, content_type="application/x-amz-json-1.1")


def fix_create_pipeline_role_check() -> None:
    """moto only accepts a role whose trust policy names codepipeline.amazonaws.com as a plain
    string; AWS also accepts a list of principals. Normalise the check."""
    from moto.codepipeline import models as cpm

    orig = cpm.CodePipelineBackend.create_pipeline
    if getattr(orig, "_emulator_patched", False):
        return

    def create_pipeline(self, pipeline, tags):  # type: ignore[no-untyped-def]
        try:
            role = self.iam_backend.get_role_by_arn(pipeline["roleArn"])
            doc = json.loads(role.assume_role_policy_document)
            stmts = doc.get("Statement", [])
            if isinstance(stmts, dict):
                stmts = [stmts]
            services: list[str] = []
            for s in stmts:
                svc = (s.get("Principal") or {}).get("Service") if isinstance(s.get("Principal"), dict) else None
                services.extend(svc if isinstance(svc, list) else [svc])
            if "codepipeline.amazonaws.com" in services:
                role.assume_role_policy_document = json.dumps(
                    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {
                        "Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
                try:
                    return orig(self, pipeline, tags)
                finally:
                    role.assume_role_policy_document = json.dumps(doc)
        except Exception:
            pass
        return orig(self, pipeline, tags)

    create_pipeline._emulator_patched = True  # type: ignore[attr-defined]
    cpm.CodePipelineBackend.create_pipeline = create_pipeline

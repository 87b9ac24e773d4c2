"""CodePipeline execution status: stage states, action executions, linked builds."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any
from urllib.parse import quote

from .codebuild_builds import enrich_build, find_build
from .state import LOCK, S, cb_backend, cp_backend, find_pipeline
from .wire import ApiError, Req, Resp, epoch, json_resp, now_dt


# =========================================================================== #
# CodePipeline: GetPipelineState and execution status
# =========================================================================== #

STAGE_STATUSES = ("InProgress", "Succeeded", "Failed", "Stopped", "Stopping", "Cancelled")
EXEC_FROM_STAGE = {"InProgress": "InProgress", "Succeeded": "Succeeded", "Failed": "Failed",
                   "Stopped": "Stopped", "Stopping": "Stopping", "Cancelled": "Cancelled"}
ACTION_FROM_STAGE = {"InProgress": "InProgress", "Succeeded": "Succeeded", "Failed": "Failed",
                     "Stopped": "Abandoned", "Stopping": "InProgress", "Cancelled": "Abandoned"}


def pipeline_stage_names(pipeline: Any) -> list[str]:
    return [s["name"] for s in pipeline.pipeline.get("stages", [])]


def on_execution_started(account: str, region: str, name: str, exec_id: str) -> None:
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    ex = pipeline.executions.get(exec_id)
    stages = pipeline_stage_names(pipeline)
    execs = S.pipeline_exec.setdefault((account, region, name), {})
    t = now_dt()
    execs[exec_id] = {s: None for s in stages}
    if stages:
        execs[exec_id][stages[0]] = {"status": "InProgress", "error": None, "changed": t,
                                     "action_id": str(uuid.uuid4())}
    if ex is not None:
        ex.status = "InProgress"
        ex.last_update_time = t
    link_builds(account, region, name, exec_id)


def link_builds(account: str, region: str, name: str, exec_id: str) -> None:
    """A CodeBuild action that runs starts a build of its project (initiator
    `codepipeline/<pipeline>`); its id is the action execution's `externalExecutionId` in
    ListActionExecutions (CLI example awscli/examples/codepipeline/list-action-executions.rst;
    CodePipeline action reference, "AWS CodeBuild build and test action")."""
    _, pipeline = find_pipeline(account, name, region)
    if pipeline is None:
        return
    states = S.pipeline_exec.get((account, region, name), {}).get(exec_id, {})
    ex = pipeline.executions.get(exec_id)
    variables = {v["name"]: v["value"] for v in (getattr(ex, "variables", None) or [])}
    for stage in pipeline.pipeline.get("stages", []):
        info = states.get(stage["name"])
        if info is None or info.get("external_id"):
            continue
        for action in stage.get("actions", []):
            if (action.get("actionTypeId") or {}).get("provider") != "CodeBuild":
                continue
            cfg = action.get("configuration") or {}
            be = cb_backend(account, region)
            project = cfg.get("ProjectName")
            if project not in be.codebuild_projects:
                continue
            overrides = []
            try:
                for v in json.loads(cfg.get("EnvironmentVariables") or "[]"):
                    value = re.sub(r"#\{variables\.([A-Za-z0-9@_-]+)\}",
                                   lambda m: variables.get(m.group(1), m.group(0)), str(v.get("value", "")))
                    overrides.append({"name": v.get("name"), "value": value, "type": v.get("type", "PLAINTEXT")})
            except ValueError:
                pass
            meta = be.start_build(project)
            build = find_build(account, region, meta["id"])
            enrich_build(account, region, project, build, {
                "initiator": f"codepipeline/{name}", "environmentVariablesOverride": overrides})
            info["external_id"] = meta["id"]


def handle_list_action_executions(req: Req) -> Resp:
    body = req.json()
    name = body.get("pipelineName")
    account, region = req.account, req.region
    with LOCK:
        pipeline = cp_backend(account, region).pipelines.get(name)
        if pipeline is None:
            raise ApiError(400, "PipelineNotFoundException",
                           f"Account '{account}' does not have a pipeline with name '{name}'")
        wanted = (body.get("filter") or {}).get("pipelineExecutionId")
        execs = S.pipeline_exec.get((account, region, name), {})
        details = []
        for eid in reversed([e for e in pipeline.executions if e in execs]):  # newest first
            if wanted and eid != wanted:
                continue
            for stage in reversed(pipeline.pipeline.get("stages", [])):
                info = execs[eid].get(stage["name"])
                if info is None:
                    continue
                for action in stage.get("actions", []):
                    d: dict[str, Any] = {
                        "pipelineExecutionId": eid, "actionExecutionId": info["action_id"],
                        "pipelineVersion": pipeline.pipeline.get("version", 1),
                        "stageName": stage["name"], "actionName": action["name"],
                        "startTime": epoch(info["changed"]), "lastUpdateTime": epoch(info["changed"]),
                        "status": ACTION_FROM_STAGE[info["status"]],
                        "input": {"actionTypeId": action.get("actionTypeId"),
                                  "configuration": action.get("configuration") or {},
                                  "resolvedConfiguration": action.get("configuration") or {},
                                  "region": region},
                        "output": {"outputArtifacts": [], "outputVariables": {}},
                    }
                    if info.get("external_id"):
                        bid = info["external_id"]
                        d["output"]["executionResult"] = {
                            "externalExecutionId": bid,
                            "externalExecutionUrl": (f"https://console.aws.amazon.com/codebuild/home?region={region}"
                                                     f"#/builds/{quote(bid, safe='')}/view/new")}
                    if info.get("error"):
                        d["output"]["executionResult"] = dict(d["output"].get("executionResult") or {},
                                                              externalExecutionSummary=info["error"])
                    details.append(d)
        limit = body.get("maxResults") or 100
        return json_resp({"actionExecutionDetails": details[:limit]}, content_type="application/x-amz-json-1.1")


def set_stage_status(account: str, region: str, name: str, exec_id: str, stage: str, status: str,
                     error: str | None) -> None:
    _, pipeline = find_pipeline(account, name, region)
    stages = pipeline_stage_names(pipeline)
    execs = S.pipeline_exec.setdefault((account, region, name), {})
    ex_state = execs.setdefault(exec_id, {s: None for s in stages})
    t = now_dt()
    idx = stages.index(stage)
    for earlier in stages[:idx]:  # a later stage can only run after the earlier ones succeeded
        cur = ex_state.get(earlier)
        if cur is None or cur["status"] in ("InProgress", "Stopping"):
            ex_state[earlier] = {"status": "Succeeded", "error": None, "changed": t, "action_id": str(uuid.uuid4())}
    prev = ex_state.get(stage)
    ex_state[stage] = {"status": status, "error": error, "changed": t,
                       "action_id": prev["action_id"] if prev else str(uuid.uuid4())}
    if prev and prev.get("external_id"):  # the same action execution, the same build
        ex_state[stage]["external_id"] = prev["external_id"]
    if status == "Succeeded" and idx + 1 < len(stages) and ex_state.get(stages[idx + 1]) is None:
        ex_state[stages[idx + 1]] = {"status": "InProgress", "error": None, "changed": t,
                                     "action_id": str(uuid.uuid4())}
    if status == "Succeeded":
        overall = "Succeeded" if idx + 1 == len(stages) else "InProgress"
    else:
        overall = EXEC_FROM_STAGE[status]
    ex = pipeline.executions.get(exec_id)
    if ex is not None:
        ex.status = overall
        ex.status_summary = error if status == "Failed" else None
        ex.last_update_time = t
    link_builds(account, region, name, exec_id)
    # The CodeBuild action's status is its build's: a finished stage finishes the build it
    # started, unless a test set that build's status itself (hook builds/status).
    bid = ex_state[stage].get("external_id")
    build_status = {"Succeeded": "SUCCEEDED", "Failed": "FAILED", "Stopped": "STOPPED"}.get(status)
    if bid and build_status and bid not in S.builds:
        S.builds[bid] = {"status": build_status, "phase": None if build_status == "SUCCEEDED" else "BUILD",
                         "message": error, "applied": False}

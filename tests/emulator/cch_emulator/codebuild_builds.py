"""CodeBuild builds: what StartBuild copies into a build, phases and states set by tests."""

from __future__ import annotations

import copy
import time
from typing import Any
from urllib.parse import quote

from .state import S, cb_backend
from .wire import ApiError, to_epoch


PHASES = ["SUBMITTED", "QUEUED", "PROVISIONING", "DOWNLOAD_SOURCE", "INSTALL", "PRE_BUILD", "BUILD",
          "POST_BUILD", "UPLOAD_ARTIFACTS", "FINALIZING", "COMPLETED"]
BUILD_STATUSES = ("SUCCEEDED", "FAILED", "FAULT", "TIMED_OUT", "IN_PROGRESS", "STOPPED")


def enrich_build(account: str, region: str, project_name: Any, build: dict[str, Any] | None,
                 body: dict[str, Any]) -> None:
    """What AWS's StartBuild copies into the build: the project's source, environment (with
    overrides), artifacts, cache, timeouts, key, and where its logs go."""
    project = cb_backend(account, region).codebuild_projects.get(project_name)
    if build is None or project is None:
        return
    build_id = build["id"]
    pm = project.project_metadata
    build["source"] = copy.deepcopy(pm.get("source", {}))
    if body.get("buildspecOverride"):
        build["source"]["buildspec"] = body["buildspecOverride"]
    build["sourceVersion"] = body.get("sourceVersion") or pm.get("sourceVersion") or build.get("sourceVersion")
    env = copy.deepcopy(pm.get("environment", {}))
    overrides = body.get("environmentVariablesOverride") or []
    if overrides:
        names = {v["name"] for v in overrides}
        env["environmentVariables"] = [v for v in env.get("environmentVariables", [])
                                       if v["name"] not in names] + copy.deepcopy(overrides)
    build["environment"] = env
    build["artifacts"] = {"location": ""} if pm.get("artifacts", {}).get("type") != "S3" else {
        "location": f"arn:aws:s3:::{pm['artifacts'].get('location', '')}"}
    build["cache"] = copy.deepcopy(pm.get("cache", {"type": "NO_CACHE"}))
    build["timeoutInMinutes"] = body.get("timeoutInMinutesOverride") or pm.get("timeoutInMinutes", 60)
    build["queuedTimeoutInMinutes"] = pm.get("queuedTimeoutInMinutes", 480)
    build["encryptionKey"] = pm.get("encryptionKey")
    build["initiator"] = body.get("initiator", "emulator")
    # AWS: the build logs to the project's group (default /aws/codebuild/<project>)
    # in a stream named after the build id's UUID (prefixed by a configured stream name).
    lc = (pm.get("logsConfig") or {}).get("cloudWatchLogs") or {}
    if lc.get("status", "ENABLED") == "ENABLED":
        group = lc.get("groupName") or f"/aws/codebuild/{pm['name']}"
        stream = build_id.split(":", 1)[-1]
        if lc.get("streamName"):
            stream = f"{lc['streamName']}/{stream}"
        build["logs"] = {
            "groupName": group, "streamName": stream,
            "deepLink": (f"https://console.aws.amazon.com/cloudwatch/home?region={region}"
                         f"#logsV2:log-groups/log-group/{quote(group, safe='')}"
                         f"/log-events/{quote(stream, safe='')}"),
            "cloudWatchLogsArn": f"arn:aws:logs:{region}:{account}:log-group:{group}:log-stream:{stream}",
            "cloudWatchLogs": copy.deepcopy(lc),
        }


def find_build(account: str, region: str, build_id: str) -> dict[str, Any] | None:
    be = cb_backend(account, region)
    for builds in be.build_metadata_history.values():
        for b in builds:
            if b["id"] == build_id:
                return b
    return None


def to_json_build(build: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(build)
    for k in ("startTime", "endTime"):
        if k in out:
            out[k] = to_epoch(out[k])
    for p in out.get("phases", []) or []:
        for k in ("startTime", "endTime"):
            if k in p:
                p[k] = to_epoch(p[k])
    if out.get("artifacts") is None:
        out.pop("artifacts", None)
    return out


def write_build_phases(build: dict[str, Any], status: str, phase: str | None, message: str | None) -> None:
    t = time.time()
    start = to_epoch(build.get("startTime")) or t
    if status == "IN_PROGRESS":
        upto = phase or "BUILD"
    elif status == "SUCCEEDED":
        upto = "COMPLETED"
    else:
        upto = phase or "BUILD"
    if upto not in PHASES:
        raise ApiError(400, "InvalidInput", f"phase must be one of {', '.join(PHASES)}")
    phases = []
    idx = PHASES.index(upto)
    for i, p in enumerate(PHASES):
        entry: dict[str, Any] = {"phaseType": p, "startTime": start}
        if status == "IN_PROGRESS":
            if i < idx:
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif i > idx:
                break
        elif status == "SUCCEEDED":
            if p != "COMPLETED":
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
        else:
            if i < idx:
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif i == idx:
                entry.update(phaseStatus=status, endTime=t, durationInSeconds=1)
                entry["contexts"] = [{"statusCode": "COMMAND_EXECUTION_ERROR" if status == "FAILED" else status,
                                      "message": message or f"Phase {p} finished with status {status}"}]
            elif p in ("FINALIZING",):
                entry.update(phaseStatus="SUCCEEDED", endTime=t, durationInSeconds=1)
            elif p != "COMPLETED":
                continue
        phases.append(entry)
    build["phases"] = phases
    build["buildStatus"] = status
    if status == "IN_PROGRESS":
        build["currentPhase"] = upto
        build["buildComplete"] = False
        build.pop("endTime", None)
    else:
        build["currentPhase"] = "COMPLETED"
        build["buildComplete"] = True
        build["endTime"] = t


def apply_build_state(build_id: str, build: dict[str, Any]) -> None:
    ov = S.builds.get(build_id)
    if ov is not None:
        if not ov.get("applied"):
            write_build_phases(build, ov["status"], ov.get("phase"), ov.get("message"))
            ov["applied"] = True
        return
    if build_id not in S.builds_completed:  # moto's behaviour: a build succeeds when first read, once
        write_build_phases(build, "SUCCEEDED", None, None)
        S.builds_completed.add(build_id)

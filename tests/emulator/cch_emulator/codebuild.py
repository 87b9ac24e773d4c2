"""CodeBuild CreateProject/UpdateProject/StartBuild/BatchGetBuilds fidelity."""

from __future__ import annotations

import copy
import json
import re
import time
from typing import Any, TYPE_CHECKING

from .codebuild_builds import (
    PHASES,
    apply_build_state,
    enrich_build,
    find_build,
    to_json_build,
    write_build_phases,
)
from .state import LOCK, S, cb_backend
from .wire import ApiError, Req, Resp, json_resp

if TYPE_CHECKING:
    from .app import EmulatorApp


# =========================================================================== #
# CodeBuild
# =========================================================================== #

SOURCE_TYPES = ("BITBUCKET", "CODECOMMIT", "CODEPIPELINE", "GITHUB", "GITHUB_ENTERPRISE", "GITLAB",
                "GITLAB_SELF_MANAGED", "NO_SOURCE", "S3")
ARTIFACT_TYPES = ("CODEPIPELINE", "S3", "NO_ARTIFACTS")


def validate_project_fields(body: dict[str, Any], account: str, region: str, create: bool) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9\-_]{1,254}", name):
        raise ApiError(400, "InvalidInputException", "Invalid project name")
    src = body.get("source")
    if create or src is not None:
        if not isinstance(src, dict) or src.get("type") not in SOURCE_TYPES:
            raise ApiError(400, "InvalidInputException", "Invalid type provided: Project source type")
        if src["type"] not in ("CODEPIPELINE", "NO_SOURCE") and not src.get("location"):
            raise ApiError(400, "InvalidInputException", "Project source location is required")
        if src["type"] == "NO_SOURCE" and not src.get("buildspec"):
            raise ApiError(400, "InvalidInputException", "Project source buildspec is required for NO_SOURCE")
    art = body.get("artifacts")
    if create or art is not None:
        if not isinstance(art, dict) or art.get("type") not in ARTIFACT_TYPES:
            raise ApiError(400, "InvalidInputException", "Invalid type provided: Artifact type")
        if art["type"] == "S3" and not art.get("location"):
            raise ApiError(400, "InvalidInputException", "Artifacts location is required for S3 artifacts")
    env = body.get("environment")
    if create or env is not None:
        if not isinstance(env, dict) or not env.get("type") or not env.get("image") or not env.get("computeType"):
            raise ApiError(400, "InvalidInputException", "environment needs type, image and computeType")
        for v in env.get("environmentVariables") or []:
            if not isinstance(v, dict) or not v.get("name") or "value" not in v:
                raise ApiError(400, "InvalidInputException", "Each environment variable needs a name and a value")
    role = body.get("serviceRole")
    if create or role is not None:
        if not isinstance(role, str) or not role:
            raise ApiError(400, "InvalidInputException", "serviceRole is required")
        if role.startswith("arn:") and not role.startswith(f"arn:aws:iam::{account}:role/"):
            raise ApiError(400, "InvalidInputException",
                           "Invalid service role: Service role account ID does not match caller's account")
    tags = body.get("tags")
    if tags is not None and (not isinstance(tags, list) or len(tags) > 50):
        raise ApiError(400, "InvalidInputException", "tags must be a list of at most 50 entries")


def normalise_project_parts(meta: dict[str, Any]) -> None:
    env = meta.get("environment")
    if isinstance(env, dict):
        env.setdefault("environmentVariables", [])
        for v in env["environmentVariables"]:
            v.setdefault("type", "PLAINTEXT")
        env.setdefault("privilegedMode", False)
        env.setdefault("imagePullCredentialsType", "CODEBUILD")
    src = meta.get("source")
    if isinstance(src, dict):
        src.setdefault("insecureSsl", False)
    meta.setdefault("cache", {"type": "NO_CACHE"})
    logs = meta.setdefault("logsConfig", {})
    logs.setdefault("cloudWatchLogs", {"status": "ENABLED"})
    logs.setdefault("s3Logs", {"status": "DISABLED", "encryptionDisabled": False})


PROJECT_FIELDS = ("description", "source", "secondarySources", "sourceVersion", "secondarySourceVersions",
                  "artifacts", "secondaryArtifacts", "cache", "environment", "serviceRole", "timeoutInMinutes",
                  "queuedTimeoutInMinutes", "encryptionKey", "tags", "vpcConfig", "logsConfig",
                  "fileSystemLocations", "buildBatchConfig", "concurrentBuildLimit", "autoRetryLimit")


def handle_codebuild(app: "EmulatorApp", req: Req, op: str) -> Resp | None:
    account, region = req.account, req.region
    if op == "CreateProject":
        body = req.json()
        with LOCK:
            validate_project_fields(body, account, region, create=True)
            be = cb_backend(account, region)
            name = body["name"]
            if name in be.codebuild_projects:
                raise ApiError(400, "ResourceAlreadyExistsException",
                               f"Project already exists: arn:aws:codebuild:{region}:{account}:project/{name}")
            role = body["serviceRole"]
            be.create_project(project_name=name, description=body.get("description"),
                              project_source=copy.deepcopy(body["source"]),
                              artifacts=copy.deepcopy(body["artifacts"]),
                              environment=copy.deepcopy(body["environment"]), service_role=role,
                              tags=body.get("tags"), cache=body.get("cache"),
                              timeout=body.get("timeoutInMinutes"),
                              queued_timeout=body.get("queuedTimeoutInMinutes"),
                              source_version=body.get("sourceVersion"), logs_config=body.get("logsConfig"),
                              vpc_config=body.get("vpcConfig"))
            project = be.codebuild_projects[name]
            t = time.time()
            meta: dict[str, Any] = {"name": name, "arn": project.arn}
            for k in PROJECT_FIELDS:
                if body.get(k) is not None:
                    meta[k] = copy.deepcopy(body[k])
            meta["serviceRole"] = project.project_metadata["serviceRole"]
            meta.setdefault("timeoutInMinutes", 60)
            meta.setdefault("queuedTimeoutInMinutes", 480)
            meta.setdefault("encryptionKey", f"arn:aws:kms:{region}:{account}:alias/aws/s3")
            meta.setdefault("tags", [])
            meta["created"] = t
            meta["lastModified"] = t
            meta["badge"] = {"badgeEnabled": bool(body.get("badgeEnabled", False))}
            meta["projectVisibility"] = "PRIVATE"
            normalise_project_parts(meta)
            project.project_metadata = meta
            project.service_role = meta["serviceRole"]
            return json_resp({"project": meta}, content_type="application/x-amz-json-1.1")
    if op == "UpdateProject":
        body = req.json()
        with LOCK:
            name = body.get("name")
            be = cb_backend(account, region)
            project = be.codebuild_projects.get(name) if isinstance(name, str) else None
            if project is None and isinstance(name, str) and name.startswith("arn:"):
                project = next((p for p in be.codebuild_projects.values() if p.arn == name), None)
            if project is None:
                raise ApiError(400, "ResourceNotFoundException",
                               f"Project cannot be found: arn:aws:codebuild:{region}:{account}:project/{name}")
            validate_project_fields(dict(body, name=project.project_metadata["name"]), account, region,
                                    create=False)
            meta = project.project_metadata
            for k in PROJECT_FIELDS:
                if k in body and body[k] is not None:
                    meta[k] = copy.deepcopy(body[k])
            if "serviceRole" in body and not body["serviceRole"].startswith("arn:"):
                meta["serviceRole"] = f"arn:aws:iam::{account}:role/service-role/{body['serviceRole']}"
            if "badgeEnabled" in body:
                meta["badge"] = {"badgeEnabled": bool(body["badgeEnabled"])}
            meta["lastModified"] = time.time()
            normalise_project_parts(meta)
            project.service_role = meta["serviceRole"]
            return json_resp({"project": meta}, content_type="application/x-amz-json-1.1")
    if op == "StartBuild":
        body = req.json()
        with LOCK:
            status, headers, raw = app.call_moto(req.environ)
            if status >= 300:
                return Resp(status, raw, headers)
            build_id = json.loads(raw)["build"]["id"]
            build = find_build(account, region, build_id)
            enrich_build(account, region, body.get("projectName"), build, body)
            return json_resp({"build": to_json_build(build or json.loads(raw)["build"])},
                             content_type="application/x-amz-json-1.1")
    if op == "BatchGetBuilds":
        body = req.json()
        ids = body.get("ids")
        if not isinstance(ids, list) or not ids or len(ids) > 100:
            raise ApiError(400, "InvalidInputException", "ids must be a list of 1 to 100 build ids")
        with LOCK:
            builds, missing = [], []
            for bid in ids:
                build = find_build(account, region, bid)
                if build is None:
                    missing.append(bid)
                    continue
                apply_build_state(bid, build)
                builds.append(to_json_build(build))
            out: dict[str, Any] = {"builds": builds}
            if missing:
                out["buildsNotFound"] = missing
            return json_resp(out, content_type="application/x-amz-json-1.1")
    if op == "StopBuild":
        body = req.json()
        with LOCK:
            bid = body.get("id")
            build = find_build(account, region, bid or "")
            if build is None:
                raise ApiError(400, "ResourceNotFoundException", f"Build {bid} does not exist")
            apply_build_state(bid, build) if bid in S.builds else None
            if not build.get("buildComplete"):
                phase = build.get("currentPhase") if build.get("currentPhase") in PHASES[2:-1] else "PROVISIONING"
                write_build_phases(build, "STOPPED", phase, "Build stopped")
                S.builds[bid] = {"status": "STOPPED", "phase": phase, "message": "Build stopped", "applied": True}
            return json_resp({"build": to_json_build(build)}, content_type="application/x-amz-json-1.1")
    if op == "ListBuildsForProject":
        body = req.json()
        with LOCK:
            be = cb_backend(account, region)
            name = body.get("projectName")
            if name not in be.codebuild_projects:
                raise ApiError(400, "ResourceNotFoundException",
                               f"The provided project arn:aws:codebuild:{region}:{account}:project/{name} does not exist")
            ids = list(be.build_history.get(name, []))
            if body.get("sortOrder", "DESCENDING") != "ASCENDING":
                ids.reverse()
            return json_resp({"ids": ids}, content_type="application/x-amz-json-1.1")
    return None

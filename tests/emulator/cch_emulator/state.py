"""The wrapper's own state (cleared by /moto-api/reset), its lock, and moto's backends."""

from __future__ import annotations

import threading
from typing import Any


LOCK = threading.RLock()
# Serialises S3 writes that carry `If-None-Match` (see EmulatorApp.conditional_s3_write).
S3_CONDITIONAL_LOCK = threading.Lock()


# --------------------------------------------------------------------------- #
# wrapper state (cleared by /moto-api/reset)
# --------------------------------------------------------------------------- #


class State:
    def __init__(self) -> None:
        self.kvs: dict[str, dict[str, Any]] = {}  # KVS ARN -> data
        self.policies: dict[str, dict[str, dict[str, dict[str, Any]]]] = {"cache": {}, "rh": {}}  # kind->acct->id
        self.functions: dict[str, dict[str, dict[str, Any]]] = {}  # acct -> name -> function
        self.dists: dict[str, dict[str, dict[str, Any]]] = {}  # acct -> id -> state
        self.connections: dict[str, dict[str, Any]] = {}  # arn -> connection
        self.pipeline_exec: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}  # (acct, region, name) -> exec id -> stages
        self.builds: dict[str, dict[str, Any]] = {}  # build id -> override
        self.builds_completed: set[str] = set()
        self.faults: list[dict[str, Any]] = []
        self.held_certificates: set[str] = set()  # ARNs whose status a test set
        self.deleted_dists: dict[str, list[tuple[float, str, str]]] = {}  # acct -> (deleted at, id, config)
        self.quotas: dict[str, dict[str, int]] = {}  # acct -> policy kind -> quota (see POLICY_QUOTAS)
        self.requests: list[dict[str, Any]] = []  # the request log (see record_request)
        self.request_seq = 0


S = State()


def reset_state() -> None:
    # In place, not `S = State()`: the other modules imported this object (`from .state import S`).
    with LOCK:
        vars(S).update(vars(State()))


# --------------------------------------------------------------------------- #
# moto backends
# --------------------------------------------------------------------------- #


def cf_backend(account: str):
    from moto.cloudfront.models import cloudfront_backends

    return cloudfront_backends[account]["aws"]


def cb_backend(account: str, region: str):
    from moto.codebuild.models import codebuild_backends

    return codebuild_backends[account][region]


def cp_backend(account: str, region: str):
    from moto.codepipeline.models import codepipeline_backends

    return codepipeline_backends[account][region]


def find_pipeline(account: str, name: str, region: str | None = None):
    from moto.codepipeline.models import codepipeline_backends

    regions = [region] if region else list(codepipeline_backends[account].keys())
    for r in regions:
        be = codepipeline_backends[account][r]
        if name in be.pipelines:
            return r, be.pipelines[name]
    return None, None

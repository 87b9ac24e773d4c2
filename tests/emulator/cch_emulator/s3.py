"""S3 bucket policy conditions moto evaluates (a patch of moto applied at start-up)."""

from __future__ import annotations

import json
from typing import Any


# emulator listens on plain HTTP on 127.0.0.1 purely for convenience.
S3_REQUEST_CONTEXT = {"aws:SecureTransport": "true"}


def evaluate_bucket_policy(policy: str, action: str, resource: str) -> Any:
    """AWS semantics for the statements moto evaluates (principal `*`): a statement applies only
    when all its conditions hold against the request context; an explicit Deny wins, then an
    Allow, else neutral. moto 5.2.5 instead denies whenever a condition cannot be evaluated,
    which turns every `Deny unless TLS` statement into `deny everything`."""
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult

    doc = json.loads(policy)
    statements = doc.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    permitted = False
    for st in statements:
        check = IAMPolicyStatement(st)
        if st.get("Principal") not in ("*", {"AWS": "*"}):
            continue  # service and account principals are not the caller here
        if "NotAction" in st:
            concerned = not check._check_element_matches("NotAction", action)
        else:
            concerned = check._check_element_matches("Action", action)
        if not concerned or not check._check_element_matches("Resource", resource):
            continue
        if not condition_holds(st.get("Condition") or {}):
            continue
        if st.get("Effect") == "Deny":
            return PermissionResult.DENIED
        permitted = True
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


def condition_holds(conditions: dict[str, Any]) -> bool:
    for operator, pairs in conditions.items():
        for key, expected in pairs.items():
            values = expected if isinstance(expected, list) else [expected]
            actual = S3_REQUEST_CONTEXT.get(key)
            if actual is None:
                return False  # a key the request does not carry never matches
            if operator == "Bool" or operator == "StringEquals":
                if str(actual).lower() not in [str(v).lower() for v in values]:
                    return False
            elif operator == "StringNotEquals":
                if str(actual).lower() in [str(v).lower() for v in values]:
                    return False
            else:
                return False
    return True


def fix_bucket_policy_conditions() -> None:
    from moto.iam.access_control import PermissionResult
    from moto.s3.models import FakeBucket

    if getattr(FakeBucket.get_permission, "_emulator_patched", False):
        return

    def get_permission(self, action: str, resource: str) -> Any:  # type: ignore[no-untyped-def]
        if self.policy is None:
            return PermissionResult.NEUTRAL
        policy = self.policy.decode() if isinstance(self.policy, bytes) else self.policy
        return evaluate_bucket_policy(policy, action, resource)

    get_permission._emulator_patched = True  # type: ignore[attr-defined]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]

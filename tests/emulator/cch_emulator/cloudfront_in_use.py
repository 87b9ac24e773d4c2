"""What distributions use, and the in-use lag after a distribution is deleted."""

from __future__ import annotations

import os
import time
from typing import Any, TYPE_CHECKING

from .state import LOCK, S
from .wire import ApiError, Req, Resp
from .xmlutil import xml_find_all_text

if TYPE_CHECKING:
    from .app import EmulatorApp


def dist_store(account: str) -> dict[str, dict[str, Any]]:
    return S.dists.setdefault(account, {})


# Deleting a distribution does not free what it used at once: for a while ACM answers
# ResourceInUseException for its certificate, and CloudFront's in-use errors persist
# (terraform-provider-aws retries ACM deletes for up to 10 minutes, issue #3866; CONFORMANCE.md).
# The emulator keeps a deleted distribution's references "in use" for this many seconds.
IN_USE_LAG_SECONDS = float(os.environ.get("EMULATOR_IN_USE_LAG_SECONDS", "2"))


def dists_referencing(account: str, element: str, value: str, exclude: str | None = None,
                      releasing: bool = True) -> list[str]:
    """Distributions whose config names `value` in `element`; with `releasing`, also those
    deleted less than IN_USE_LAG_SECONDS ago (what in-use checks see)."""
    users = []
    for did, st in dist_store(account).items():
        if did == exclude:
            continue
        if value in xml_find_all_text(st["config"], element):
            users.append(did)
    cutoff = time.time() - IN_USE_LAG_SECONDS
    for deleted_at, did, config in S.deleted_dists.get(account, []):
        if releasing and deleted_at > cutoff and value in xml_find_all_text(config, element):
            users.append(f"{did} (deleted, still releasing it)")
    return users


def handle_oac_delete(app: "EmulatorApp", req: Req, oid: str) -> Resp:
    """CloudFront refuses to delete an origin access control a distribution uses."""
    with LOCK:
        users = dists_referencing(req.account, "OriginAccessControlId", oid)
        if users:
            raise ApiError(409, "OriginAccessControlInUse",
                           f"The origin access control is in use by distribution(s) {', '.join(users)}.")
        return app.passthrough_resp(req)

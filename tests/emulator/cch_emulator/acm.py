"""ACM: DeleteCertificate's in-use check and certificate statuses held by a test."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .cloudfront_in_use import dists_referencing
from .state import LOCK, S
from .wire import ApiError, Req, Resp

if TYPE_CHECKING:
    from .app import EmulatorApp


def handle_acm_delete_certificate(app: "EmulatorApp", req: Req) -> Resp:
    """ACM refuses to delete a certificate a CloudFront distribution uses (or used moments ago)."""
    arn = req.json().get("CertificateArn", "")
    with LOCK:
        users = dists_referencing(req.account, "ACMCertificateArn", arn)
        if users:
            raise ApiError(400, "ResourceInUseException",
                           f"Certificate {arn} is in use by CloudFront distribution(s) {', '.join(users)}.")
        status, headers, body = app.call_moto(req.environ)
        return Resp(status, body, headers)


def fix_acm_held_status() -> None:
    """A certificate a test put in a status keeps it (see /_emulator/certificates/status)."""
    from moto.acm.models import CertBundle

    orig = CertBundle.check
    if getattr(orig, "_emulator_patched", False):
        return

    def check(self) -> None:  # type: ignore[no-untyped-def]
        if self.arn in S.held_certificates:
            return
        orig(self)

    check._emulator_patched = True  # type: ignore[attr-defined]
    CertBundle.check = check  # type: ignore[method-assign]

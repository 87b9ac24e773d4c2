"""CloudFront DistributionConfig as CloudFront returns it: defaults, order, rendering."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any

from .wire import esc, iso
from .xmlutil import xml_child


METHOD_ORDER = {frozenset(("GET", "HEAD")): ["HEAD", "GET"]}

# Defaults per element, in the order the examples list them: (name, default as XML text or a
# builder of sub-elements). A default is added only when the element is absent.
_QTY0 = "<Quantity>0</Quantity>"
DIST_DEFAULTS = [
    ("Aliases", _QTY0),
    ("DefaultRootObject", ""),
    ("OriginGroups", _QTY0),
    ("CacheBehaviors", _QTY0),
    ("CustomErrorResponses", _QTY0),
    ("Comment", ""),
    ("Logging", "<Enabled>false</Enabled><IncludeCookies>false</IncludeCookies><Bucket></Bucket><Prefix></Prefix>"),
    ("PriceClass", "PriceClass_All"),
    ("Restrictions", "<GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity></GeoRestriction>"),
    ("WebACLId", ""),
    ("HttpVersion", "http2"),
]
ORIGIN_DEFAULTS = [
    ("OriginPath", ""),
    ("CustomHeaders", _QTY0),
    ("ConnectionAttempts", "3"),
    ("ConnectionTimeout", "10"),
    ("OriginShield", "<Enabled>false</Enabled>"),
    ("OriginAccessControlId", ""),
]
BEHAVIOR_DEFAULTS = [
    ("TrustedSigners", "<Enabled>false</Enabled><Quantity>0</Quantity>"),
    ("TrustedKeyGroups", "<Enabled>false</Enabled><Quantity>0</Quantity>"),
    ("SmoothStreaming", "false"),
    ("Compress", "false"),
    ("LambdaFunctionAssociations", _QTY0),
    ("FunctionAssociations", _QTY0),
    ("FieldLevelEncryptionId", ""),
    ("GrpcConfig", "<Enabled>false</Enabled>"),
]


def _et_default(parent: ET.Element, defaults: list[tuple[str, str]]) -> None:
    for name, inner in defaults:
        if parent.find(name) is None:
            child = ET.fromstring(f"<{name}>{inner}</{name}>")
            parent.append(child)


def _et_methods(methods: ET.Element | None) -> None:
    if methods is None:
        return
    items = methods.find("Items")
    if items is None:
        return
    got = [m.text or "" for m in items.findall("Method")]
    order = METHOD_ORDER.get(frozenset(got))
    if order is not None and len(order) == len(got):
        for m, name in zip(items.findall("Method"), order):
            m.text = name


def _et_behavior(b: ET.Element) -> None:
    allowed = b.find("AllowedMethods")
    _et_methods(allowed)
    if allowed is not None:
        _et_methods(allowed.find("CachedMethods"))
    _et_default(b, BEHAVIOR_DEFAULTS)


def _et_viewer_certificate(cfg: ET.Element) -> None:
    vc = cfg.find("ViewerCertificate")
    if vc is None:
        vc = ET.SubElement(cfg, "ViewerCertificate")
    acm = vc.findtext("ACMCertificateArn")
    iam = vc.findtext("IAMCertificateId")
    if acm or iam:
        # get/create-distribution examples with an ACM certificate: CloudFrontDefaultCertificate
        # false, the deprecated Certificate field repeating the ARN, CertificateSource acm.
        _et_default(vc, [("CloudFrontDefaultCertificate", "false")])
        _et_default(vc, [("Certificate", esc(acm or iam)), ("CertificateSource", "acm" if acm else "iam")])
    else:
        # The default certificate: CloudFrontDefaultCertificate true, TLSv1, source cloudfront;
        # the newest create-distribution example also shows SSLSupportMethod sni-only.
        _et_default(vc, [("CloudFrontDefaultCertificate", "true"), ("SSLSupportMethod", "sni-only"),
                         ("MinimumProtocolVersion", "TLSv1"), ("CertificateSource", "cloudfront")])


def canonical_dist_config(inner: str) -> str:
    """The DistributionConfig inner XML as CloudFront would return it after storing `inner`."""
    cfg = ET.fromstring(f"<DistributionConfig>{inner}</DistributionConfig>")
    for origin in cfg.findall("Origins/Items/Origin"):
        _et_default(origin, ORIGIN_DEFAULTS)
    for b in [cfg.find("DefaultCacheBehavior"), *cfg.findall("CacheBehaviors/Items/CacheBehavior")]:
        if b is not None:
            _et_behavior(b)
    _et_default(cfg, DIST_DEFAULTS)
    _et_viewer_certificate(cfg)
    # The get-distribution-config example returns IsIPV6Enabled true for a distribution
    # created without it.
    _et_default(cfg, [("IsIPV6Enabled", "true")])
    return "".join(ET.tostring(c, encoding="unicode", short_empty_elements=False) for c in cfg)


ACTIVE_NONE = ("<ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>"
               "<ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>")


def render_distribution(dist: Any, st: dict[str, Any]) -> str:
    return (f"<Id>{dist.distribution_id}</Id><ARN>{esc(dist.arn)}</ARN><Status>{esc(dist.status)}</Status>"
            f"<LastModifiedTime>{iso(st['modified'])}</LastModifiedTime>"
            f"<InProgressInvalidationBatches>0</InProgressInvalidationBatches>"
            f"<DomainName>{esc(dist.domain_name)}</DomainName>{ACTIVE_NONE}"
            f"<DistributionConfig>{st['config']}</DistributionConfig>")


SUMMARY_FIELDS = [
    ("Aliases", "<Quantity>0</Quantity>"),
    ("Origins", None),
    ("OriginGroups", "<Quantity>0</Quantity>"),
    ("DefaultCacheBehavior", None),
    ("CacheBehaviors", "<Quantity>0</Quantity>"),
    ("CustomErrorResponses", "<Quantity>0</Quantity>"),
    ("Comment", ""),
    ("PriceClass", "PriceClass_All"),
    ("Enabled", None),
    ("ViewerCertificate", "<CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate>"
                          "<MinimumProtocolVersion>TLSv1</MinimumProtocolVersion>"
                          "<CertificateSource>cloudfront</CertificateSource>"),
    ("Restrictions", "<GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity>"
                     "</GeoRestriction>"),
    ("WebACLId", ""),
    ("HttpVersion", "http2"),
    ("IsIPV6Enabled", "true"),
    ("Staging", "false"),
]


def render_dist_summary(dist: Any, st: dict[str, Any]) -> str:
    out = (f"<Id>{dist.distribution_id}</Id><ARN>{esc(dist.arn)}</ARN><ETag>{st['etag']}</ETag>"
           f"<Status>{esc(dist.status)}</Status><LastModifiedTime>{iso(st['modified'])}</LastModifiedTime>"
           f"<DomainName>{esc(dist.domain_name)}</DomainName>")
    cfg = st["config"]
    for name, default in SUMMARY_FIELDS:
        inner = xml_child(cfg, name)
        if inner is None:
            inner = default
        if inner is not None:
            out += f"<{name}>{inner}</{name}>"
    return out

"""Reading and writing the small XML documents of the restXml APIs (CloudFront, Route 53)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, Callable

from .wire import ApiError, Req, Resp, esc, unesc, xml_resp


_TOKEN_RE = re.compile(
    r"<!--.*?-->|<!\[CDATA\[.*?\]\]>|<\?.*?\?>|<!DOCTYPE[^>]*>"
    r"|<(/?)([A-Za-z_][\w.\-]*(?::[\w.\-]+)?)((?:\s[^<>]*?)?)(/?)>",
    re.S,
)


def local(tag: str) -> str:
    return tag.split(":", 1)[-1]


def xml_children(xml: str) -> list[tuple[str, str, str]]:
    """Top-level elements of `xml` as (local name, inner raw text, full raw text)."""
    out: list[tuple[str, str, str]] = []
    depth = 0
    start = inner_start = 0
    name = ""
    for m in _TOKEN_RE.finditer(xml):
        if m.group(2) is None:
            continue
        closing, tag, _attrs, selfclose = m.group(1), m.group(2), m.group(3), m.group(4)
        if closing:
            depth -= 1
            if depth == 0:
                out.append((name, xml[inner_start : m.start()], xml[start : m.end()]))
        elif selfclose:
            if depth == 0:
                out.append((local(tag), "", m.group(0)))
        else:
            if depth == 0:
                start, inner_start, name = m.start(), m.end(), local(tag)
            depth += 1
    return out


def xml_child(xml: str, name: str) -> str | None:
    for n, inner, _full in xml_children(xml):
        if n == name:
            return inner
    return None


def xml_text(xml: str, name: str) -> str | None:
    inner = xml_child(xml, name)
    return None if inner is None else unesc(inner.strip())


def xml_path(xml: str, *names: str) -> list[str]:
    """All inner texts reached by following `names` (each level may repeat)."""
    level = [xml]
    for n in names:
        nxt = []
        for frag in level:
            nxt.extend(inner for cn, inner, _ in xml_children(frag) if cn == n)
        level = nxt
    return level


def xml_find_all_text(xml: str, name: str) -> list[str]:
    """Text of every element called `name` at any depth (simple, leaf elements)."""
    return [unesc(m.group(1).strip()) for m in re.finditer(rf"<(?:\w+:)?{name}>([^<]*)</(?:\w+:)?{name}>", xml)]


def parse_xml_payload(body: bytes, root: str) -> str:
    """Check that `body` is well-formed XML whose root is `root`; return the root's inner XML."""
    if not body.strip():
        raise ApiError(400, "MissingBody", "This operation requires a body. Ensure that the body is present.")
    text = body.decode("utf-8")
    try:
        ET.fromstring(body)
    except ET.ParseError as e:
        raise ApiError(400, "MalformedXML", f"The XML you provided was not well-formed: {e}")
    kids = xml_children(text)
    if len(kids) != 1 or kids[0][0] != root:
        raise ApiError(400, "MalformedInput", f"Expected a {root} element as the request body")
    return kids[0][1]


def el(name: str, value: Any) -> str:
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{esc(value)}</{name}>"


def list_page(req: Req, entries: list[Any], root: str, render: Callable[[Any], str], key: str,
              with_marker: bool = False) -> Resp:
    marker = req.q("Marker") or ""
    try:
        max_items = int(req.q("MaxItems") or 100)
    except ValueError:
        raise ApiError(400, "InvalidArgument", "MaxItems must be an integer")
    keys = [e[key] if isinstance(e, dict) else getattr(e, key) for e in entries]
    start = keys.index(marker) if marker in keys else 0
    page = entries[start : start + max_items]
    nxt = keys[start + max_items] if start + max_items < len(entries) else None
    inner = ""
    if with_marker:
        inner += el("Marker", marker)
    if nxt:
        inner += el("NextMarker", nxt)
    inner += el("MaxItems", max_items)
    if with_marker:
        inner += el("IsTruncated", nxt is not None)
    inner += el("Quantity", len(page))
    if page:
        inner += "<Items>" + "".join(render(e) for e in page) + "</Items>"
    return xml_resp(root, inner)

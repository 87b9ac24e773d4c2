#!/usr/bin/env python3
"""Writes a deterministic site for the publish benchmark.

usage: gen_site.py DIR [app|small|docs|big]
  app    1,000 files, about 50 MB: nested folders, mixed sizes, one 8 MB content-hashed wasm and
         its js (a Trunk build). The default.
  small  the same shape in 100 files, about 5 MB (CI's small mode).
  docs   an mdBook build of 10,000 chapters: small HTML pages, the theme's css/js/fonts, a
         table of contents in toc.js (mdBook 0.4.40+), print.html and a search index.
  big    about 1 GB: four media files of 100-300 MB plus 2,000 small files."""

import os
import random
import sys

root = sys.argv[1]
kind = sys.argv[2] if len(sys.argv) > 2 else "app"
rng = random.Random(42)


def write(rel, size):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        # In chunks, so that a 300 MB file does not sit in this script's memory.
        while size > 0:
            n = min(size, 8 << 20)
            f.write(rng.randbytes(n))
            size -= n


def write_text(rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)


def app(files, total, wasm):
    write("app-9f3c2a1b4d5e6f70_bg.wasm", wasm)
    write("app-9f3c2a1b4d5e6f70.js", 60_000)
    write_text("index.html", "<!doctype html><title>bench</title>")
    remaining = total - wasm - 60_000
    count = files - 3
    sizes = [rng.choice([800, 3_000, 12_000, 40_000, 120_000]) for _ in range(count)]
    scale = remaining / sum(sizes)
    for i, size in enumerate(sizes):
        ext = rng.choice(["html", "css", "png", "svg", "json"])
        depth = rng.randint(0, 3)
        folders = "/".join(f"d{rng.randint(0, 9)}" for _ in range(depth))
        rel = f"{folders}/f{i}.{ext}" if folders else f"f{i}.{ext}"
        write(rel, max(1, int(size * scale)))


def docs(chapters):
    words = ["crate", "trait", "borrow", "lifetime", "async", "future", "macro", "module",
             "closure", "iterator", "pattern", "generic", "unsafe", "slice", "vector"]
    for name, size in [("css/variables.css", 9_000), ("css/general.css", 5_000),
                       ("css/chrome.css", 12_000), ("css/print.css", 1_000),
                       ("FontAwesome/css/font-awesome.css", 31_000),
                       ("FontAwesome/fonts/fontawesome-webfont.woff2", 77_000),
                       ("fonts/open-sans-v17-all-charsets-regular.woff2", 41_000),
                       ("fonts/source-code-pro-v11-all-charsets-500.woff2", 59_000),
                       ("fonts/fonts.css", 4_000), ("book.js", 26_000),
                       ("clipboard.min.js", 11_000), ("elasticlunr.min.js", 18_000),
                       ("mark.min.js", 14_000), ("searcher.js", 17_000),
                       ("highlight.js", 120_000), ("highlight.css", 1_500),
                       ("tomorrow-night.css", 2_000), ("ayu-highlight.css", 1_200),
                       ("favicon.svg", 1_800), ("favicon.png", 5_700)]:
        write(name, size)
    toc = []
    for i in range(chapters):
        part, section = divmod(i, 100)
        rel = f"part-{part:03}/section-{section:02}.html"
        toc.append(f'<li class="chapter-item"><a href="{rel}">{part}.{section}. Section</a></li>')
        paragraphs = "\n".join(
            "<p>" + " ".join(rng.choice(words) for _ in range(rng.randint(20, 120))) + "</p>"
            for _ in range(rng.randint(2, 14))
        )
        write_text(rel, f"""<!DOCTYPE HTML>
<html lang="en" class="light sidebar-visible" dir="ltr">
<head><meta charset="UTF-8"><title>{part}.{section}. Section - The Book</title>
<link rel="stylesheet" href="../css/variables.css"><link rel="stylesheet" href="../css/general.css">
<link rel="stylesheet" href="../css/chrome.css"><script src="../toc.js"></script></head>
<body><div id="body-container"><nav id="sidebar" class="sidebar"><mdbook-sidebar-scrollbox></mdbook-sidebar-scrollbox></nav>
<main><h1 id="section-{i}"><a class="header" href="#section-{i}">Section {part}.{section}</a></h1>
{paragraphs}
</main></div><script src="../elasticlunr.min.js"></script><script src="../mark.min.js"></script>
<script src="../searcher.js"></script><script src="../book.js"></script></body></html>
""")
    write_text("toc.js", "class MDBookSidebarScrollbox extends HTMLElement { constructor() { super(); } "
               "connectedCallback() { this.innerHTML = '<ol class=\"chapter\">" + "".join(toc) + "</ol>'; } }\n"
               "window.customElements.define('mdbook-sidebar-scrollbox', MDBookSidebarScrollbox);\n")
    write_text("index.html", '<!DOCTYPE HTML><html><head><meta charset="UTF-8"><title>The Book</title></head>'
               '<body><a href="part-000/section-00.html">Start</a></body></html>')
    write_text("404.html", "<!DOCTYPE HTML><title>Page not found</title>")
    write("print.html", 3_000_000)
    write("searchindex.js", 4_000_000)


def big():
    for name, mib in [("media/intro-4k.mp4", 300), ("media/talk.mp4", 250),
                      ("downloads/dataset.tar", 150), ("downloads/installer.bin", 100)]:
        write(name, mib << 20)
    app(2_000, 2_000 * 100_000, 8_000_000)


if kind == "app":
    app(1_000, 50_000_000, 8_000_000)
elif kind == "small":
    app(100, 5_000_000, 800_000)
elif kind == "docs":
    docs(10_000)
elif kind == "big":
    big()
else:
    sys.exit(f"unknown site kind {kind!r}: app, small, docs or big")

#!/usr/bin/env python3
"""Writes a deterministic site for the publish benchmark: 1,000 files, about 50 MB, nested
folders, mixed sizes, one 8 MB content-hashed wasm (like a Trunk build).
usage: gen_site.py DIR"""

import os
import random
import sys

root = sys.argv[1]
rng = random.Random(42)


def write(rel, size):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(rng.randbytes(size))


write("app-9f3c2a1b4d5e6f70_bg.wasm", 8_000_000)
write("app-9f3c2a1b4d5e6f70.js", 60_000)
with open(os.path.join(root, "index.html"), "w") as f:
    f.write("<!doctype html><title>bench</title>")
remaining = 50_000_000 - 8_060_000
count = 1000 - 3
sizes = [rng.choice([800, 3_000, 12_000, 40_000, 120_000]) for _ in range(count)]
scale = remaining / sum(sizes)
for i, size in enumerate(sizes):
    ext = rng.choice(["html", "css", "png", "svg", "json"])
    depth = rng.randint(0, 3)
    folders = "/".join(f"d{rng.randint(0, 9)}" for _ in range(depth))
    rel = f"{folders}/f{i}.{ext}" if folders else f"f{i}.{ext}"
    write(rel, max(1, int(size * scale)))

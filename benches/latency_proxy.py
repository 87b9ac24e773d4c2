#!/usr/bin/env python3
"""A TCP proxy for the publish benchmark: loopback hides the network, and this kernel has no
netem, so this adds what a CI runner talking to S3 pays: a fixed delay before every request and
a shared bandwidth cap. It also counts requests by method (HTTP/1.1 without pipelining: after
the client has been idle, its next bytes start a new request).

usage: latency_proxy.py LISTEN_PORT TARGET_PORT DELAY_MS MBIT STATS_FILE   (MBIT 0 = no cap)
On SIGTERM/SIGINT it writes the counts as JSON to STATS_FILE."""

import asyncio
import collections
import json
import re
import signal
import sys
import time

listen_port, target_port = int(sys.argv[1]), int(sys.argv[2])
delay = float(sys.argv[3]) / 1000.0
rate = float(sys.argv[4]) * 1e6 / 8.0  # bytes per second, shared by all connections
stats_file = sys.argv[5]
counts = collections.Counter()
request_line = re.compile(rb"^(GET|PUT|POST|HEAD|DELETE|PATCH) ")
bucket = {"tokens": 0.0, "stamp": time.monotonic()}
lock = asyncio.Lock()


async def throttle(n):
    if rate <= 0:
        return
    async with lock:
        now = time.monotonic()
        bucket["tokens"] = min(rate * 0.05, bucket["tokens"] + (now - bucket["stamp"]) * rate)
        bucket["stamp"] = now
        bucket["tokens"] -= n
        if bucket["tokens"] < 0:
            await asyncio.sleep(-bucket["tokens"] / rate)


async def pipe(reader, writer, state, upstream):
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            if upstream:
                if state["idle"]:
                    m = request_line.match(data)
                    if m:
                        counts[m.group(1).decode()] += 1
                        counts["total"] += 1
                        if delay:
                            await asyncio.sleep(delay)
                state["idle"] = False
            else:
                state["idle"] = True  # the server answered: the client's next bytes are a new request
            await throttle(len(data))
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            writer.close()
        except Exception:
            pass


async def handle(client_reader, client_writer):
    try:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", target_port)
    except OSError:
        client_writer.close()
        return
    state = {"idle": True}
    await asyncio.gather(
        pipe(client_reader, server_writer, state, True),
        pipe(server_reader, client_writer, state, False),
    )


async def main():
    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
    with open(stats_file, "w") as f:
        json.dump(counts, f)


asyncio.run(main())

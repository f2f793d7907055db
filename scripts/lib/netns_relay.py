#!/usr/bin/env python3
"""The two relays of the partition test hosts (scripts/partition_hosts.sh starts them inside the namespaces).

gateway SOCKET
    Runs in the test namespace. Listens on a Unix socket (a file: it is reachable from the host's namespace,
    which has no route into the test subnet) and relays each connection to the TCP address named in its first
    line, "CONNECT <host> <port>\\n", answering "OK\\n" or "ERR <reason>\\n" first. This is how a test process in
    the host's namespace reaches the cores' HTTP ports and the store: its bytes leave from the test namespace's
    own address and cross the links of the test hosts like a client on another machine would.

delay-proxy --delay-file FILE LISTEN_HOST:PORT=TARGET_HOST:PORT ...
    Runs in the link namespace, in the path of all core-to-core (cluster) traffic. Forwards every listener to its
    target, holding each chunk for the delay in FILE (milliseconds, re-read every 200 ms; 0 or no file: none), in
    both directions and in order: the slow link the kernel's netem would give, which this kernel lacks.

Only addresses given on the command line are connected to; both run until killed.
"""
import asyncio
import os
import sys
import time


def log(msg):
    print(f"{time.strftime('%H:%M:%S')} netns_relay[{os.getpid()}]: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- gateway

async def gateway_client(reader, writer):
    try:
        line = (await asyncio.wait_for(reader.readline(), 5)).decode().split()
        if len(line) != 3 or line[0] != "CONNECT":
            writer.write(b"ERR expected: CONNECT <host> <port>\n")
            await writer.drain()
            writer.close()
            return
        host, port = line[1], int(line[2])
        try:
            up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(host, port), 3)
        except (OSError, asyncio.TimeoutError) as e:
            writer.write(f"ERR {type(e).__name__} {e}\n".encode())
            await writer.drain()
            writer.close()
            return
        writer.write(b"OK\n")
        await writer.drain()
        await asyncio.gather(delayed_pump(reader, up_writer, NO_DELAY), delayed_pump(up_reader, writer, NO_DELAY))
    except (ConnectionError, OSError, asyncio.TimeoutError, ValueError):
        writer.close()


async def gateway(path):
    if os.path.exists(path):
        os.unlink(path)
    server = await asyncio.start_unix_server(gateway_client, path=path)
    os.chmod(path, 0o600)
    log(f"gateway listening on {path}")
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------- delay proxy

class Delay:
    """The delay in milliseconds, as the file says (watch() re-reads it); without a file none."""

    def __init__(self, path=None):
        self.path = path
        self.ms = 0

    async def watch(self):
        last = None
        while True:
            try:
                with open(self.path) as f:
                    value = int(f.read().strip() or 0)
            except (OSError, ValueError):
                value = 0
            if value != last:
                log(f"delay now {value} ms")
                last = value
            self.ms = max(0, value)
            await asyncio.sleep(0.2)


NO_DELAY = Delay()


async def delayed_pump(reader, writer, delay):
    queue = asyncio.Queue()

    async def read():
        try:
            while True:
                data = await reader.read(65536)
                await queue.put((time.monotonic() + delay.ms / 1000.0, data))
                if not data:
                    return
        except (ConnectionError, OSError):
            await queue.put((0, b""))

    async def write():
        try:
            while True:
                due, data = await queue.get()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            try:
                writer.close()
            except Exception:
                pass

    reading = asyncio.ensure_future(read())
    await write()
    reading.cancel()


async def delay_proxy(delay_file, routes):
    delay = Delay(delay_file)
    asyncio.ensure_future(delay.watch())
    servers = []
    for listen, target in routes:
        def handler(reader, writer, target=target):
            return proxy_client(reader, writer, target, delay)
        servers.append(await asyncio.start_server(handler, listen[0], listen[1]))
        log(f"delay proxy {listen[0]}:{listen[1]} -> {target[0]}:{target[1]}")
    await asyncio.gather(*(s.serve_forever() for s in servers))


async def proxy_client(reader, writer, target, delay):
    try:
        up_reader, up_writer = await asyncio.wait_for(asyncio.open_connection(*target), 3)
    except (OSError, asyncio.TimeoutError):
        writer.close()
        return
    await asyncio.gather(delayed_pump(reader, up_writer, delay), delayed_pump(up_reader, writer, delay))


def address(text):
    host, port = text.rsplit(":", 1)
    return host, int(port)


def main(argv):
    if len(argv) >= 2 and argv[0] == "gateway":
        asyncio.run(gateway(argv[1]))
    elif len(argv) >= 4 and argv[0] == "delay-proxy" and argv[1] == "--delay-file":
        routes = []
        for spec in argv[3:]:
            listen, target = spec.split("=")
            routes.append((address(listen), address(target)))
        asyncio.run(delay_proxy(argv[2], routes))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

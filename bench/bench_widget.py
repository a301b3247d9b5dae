"""The widget's websocket under load, against one ASGI process (issue 7).

One uvicorn process serves the app on PostgreSQL (DATABASE_URL, or a local chatdirect_bench); the
fake provider server stands in for Anthropic and answers instantly, so what is measured is
ChatDirect: the websocket, the engine's database steps, the SDK call and the stream back.

Reports:
- time to first streamed token over the websocket (send → first `delta`), p50/p95, one visitor;
- concurrent websocket visitors, each sending a message every 10 s, ramped up in steps: reply
  latency (send → `done`) per step, and where the process stops keeping up (p95 over 2 s or
  any error).

Rate limits are raised in the server process: every bench visitor shares one IP address.

Run: python bench/bench_widget.py [max_visitors]   (default 2,000; about 2-3 minutes)
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
ORIGIN = "http://bench.example"
INTERVAL = 10.0
STEPS = (100, 250, 500, 1000, 2000)
HOLD_SECONDS = 20.0
TTFT_MESSAGES = 200
P95_LIMIT = 2.0
POOL_CONNECTIONS = 4000


def serve(port: int) -> None:
    """The server process: the real ASGI application under uvicorn, limits raised."""
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.conf import settings

    settings.CHATDIRECT_RATE_LIMITS = {
        name: (10**9, 60) for name in settings.CHATDIRECT_RATE_LIMITS
    }
    if settings.REDIS_URL:
        # Two redis-py 8 defaults break channels_redis under load: a pool capped at 100
        # connections that raises instead of waiting, and a 5 s socket timeout equal to the
        # layer's 5 s BZPOPMIN, so idle consumers' receives time out and crash their sockets.
        # chatdirect/settings.py should carry the same host options (see the issue 7 report).
        settings.CHANNEL_LAYERS["default"]["CONFIG"]["hosts"] = [
            {
                "address": settings.REDIS_URL,
                "max_connections": POOL_CONNECTIONS,
                "socket_timeout": 30,
            }
        ]
    from chatdirect.celery import app

    # Without REDIS_URL tasks run eagerly, and the embedded default then rebuilds the day's usage
    # rollup after every reply; in production a worker and the hourly beat do that, off this path.
    app.conf.task_always_eager = False
    import uvicorn

    uvicorn.run(
        "chatdirect.asgi:application",
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        ws_ping_interval=None,
        timeout_graceful_shutdown=3,
    )


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


class Visitor:
    def __init__(self, url: str, token: str) -> None:
        self.url, self.token = url, token
        self.socket = None
        self.latencies: list[float] = []
        self.errors = 0

    async def connect(self) -> None:
        from websockets.asyncio.client import connect

        self.socket = await connect(self.url, origin=ORIGIN, ping_interval=None, open_timeout=30)
        await self.socket.send(json.dumps({"type": "hello", "visitor_token": self.token}))
        while json.loads(await asyncio.wait_for(self.socket.recv(), 30))["type"] != "ready":
            pass

    async def ask(self, text: str) -> tuple[float, float]:
        """(seconds to the first delta, seconds to done)."""
        began = time.perf_counter()
        first = None
        await self.socket.send(json.dumps({"type": "message", "text": text}))
        while True:
            event = json.loads(await asyncio.wait_for(self.socket.recv(), INTERVAL))
            if event["type"] == "delta" and first is None:
                first = time.perf_counter() - began
            elif event["type"] == "error":
                raise RuntimeError(event)
            elif event["type"] == "done":
                return first or 0.0, time.perf_counter() - began

    async def chat_every(self, interval: float, until: float) -> None:
        await asyncio.sleep(random.uniform(0, interval))  # spread the visitors over the interval
        while time.perf_counter() < until:
            started = time.perf_counter()
            try:
                _, total = await self.ask("Do you ship to Montréal?")
                self.latencies.append(total)
            except Exception:
                self.errors += 1
            await asyncio.sleep(max(0.0, interval - (time.perf_counter() - started)))


async def _connect_all(visitors: list[Visitor]) -> int:
    gate = asyncio.Semaphore(50)
    failures = 0

    async def one(visitor: Visitor) -> None:
        nonlocal failures
        async with gate:
            try:
                await visitor.connect()
            except Exception:
                failures += 1

    await asyncio.gather(*(one(v) for v in visitors))
    return failures


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(url: str, tokens: list[str], max_visitors: int, server_pid: int) -> None:
    first_tokens = []
    probe = Visitor(url, tokens[0])
    await probe.connect()
    for _ in range(10):  # warm up: SDK client, connection pools, database threads
        await probe.ask("Warm-up")
    for _ in range(TTFT_MESSAGES):
        first, _ = await probe.ask("When do you open?")
        first_tokens.append(first)
    await probe.socket.close()
    print(f"  time to first token (1 visitor, {TTFT_MESSAGES} messages, instant provider)")
    print(
        f"    p50 {statistics.median(first_tokens) * 1000:6.1f} ms   "
        f"p95 {_percentile(first_tokens, 0.95) * 1000:6.1f} ms"
    )

    print(
        f"  concurrent visitors, one message every {INTERVAL:.0f} s each, {HOLD_SECONDS:.0f} s per step"
    )
    print("    visitors  connected  replies   p50 ms   p95 ms   max ms  errors  server RSS")
    visitors: list[Visitor] = []
    held = 0
    for step in [s for s in STEPS if s <= max_visitors]:
        new = [Visitor(url, token) for token in tokens[len(visitors) : step]]
        failed = await _connect_all(new)
        visitors += new
        for visitor in visitors:
            visitor.latencies, visitor.errors = [], 0
        until = time.perf_counter() + HOLD_SECONDS
        await asyncio.gather(*(v.chat_every(INTERVAL, until) for v in visitors if v.socket))
        latencies = [x for v in visitors for x in v.latencies]
        errors = sum(v.errors for v in visitors) + failed
        p95 = _percentile(latencies, 0.95) if latencies else float("inf")
        print(
            f"    {step:8d}  {step - failed:9d}  {len(latencies):7d}  "
            f"{statistics.median(latencies) * 1000 if latencies else 0:7.0f}  {p95 * 1000:7.0f}  "
            f"{max(latencies, default=0) * 1000:7.0f}  {errors:6d}  {_rss_mb(server_pid):7.0f} MB"
        )
        if p95 > P95_LIMIT or errors:
            break
        held = step
    print(
        f"  one ASGI process held {held:,} concurrent websocket visitors (p95 reply under {P95_LIMIT:.0f} s, no errors)"
    )
    await asyncio.gather(*(v.socket.close() for v in visitors if v.socket), return_exceptions=True)


def main() -> None:
    import _django

    _django.setup()
    from conversations.models import Conversation
    from conversations.models import Visitor as VisitorRow
    from conversations.visitor_tokens import visitor_token_make
    from tenants.models import Plan, Tenant
    from tenants.services import tenant_create
    from tests.fakes.provider_server._server import DEFAULT_KEYS

    max_visitors = int(sys.argv[1]) if len(sys.argv) > 1 else STEPS[-1]
    plan, _ = Plan.objects.get_or_create(
        name="Bench (uncapped)",
        defaults={"monthly_price": 0, "monthly_conversation_cap": 2_000_000_000},
    )
    Conversation.objects.filter(tenant__slug="bench-widget").delete()
    Tenant.objects.filter(slug="bench-widget").delete()
    tenant = tenant_create(
        name="Bench widget", slug="bench-widget", plan=plan, allowed_origins=[ORIGIN]
    )
    rows = VisitorRow.objects.bulk_create(VisitorRow(tenant=tenant) for _ in range(max_visitors))
    tokens = [visitor_token_make(tenant_id=tenant.pk, visitor_public_id=v.public_id) for v in rows]

    # The fake provider and the ASGI server get processes of their own, so neither competes with
    # the load generator for a GIL (they still share the machine's cores).
    fake_port = _free_port()
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.provider_server", "--port", str(fake_port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    port = _free_port()
    env = {
        **os.environ,
        "REDIS_URL": _redis_url(),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "CHATDIRECT_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_port}/anthropic",
        "ANTHROPIC_API_KEY": DEFAULT_KEYS["anthropic"],
        "LOG_LEVEL": "ERROR",
    }
    # `timeout` or Ctrl-C must not leave the server and the fake running.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("bench_widget: terminated"))
    server = subprocess.Popen([sys.executable, __file__, "--serve", str(port)], env=env, cwd=ROOT)
    try:
        _wait_for(fake_port)
        _wait_for(port)
        layer = "Redis channel layer" if env["REDIS_URL"] else "in-memory channel layer"
        print(
            f"widget: uvicorn, 1 process, PostgreSQL, {layer}, "
            f"{os.cpu_count()} cores shared with the load generator"
        )
        url = f"ws://127.0.0.1:{port}/ws/widget/?widget_id={tenant.widget_id}"
        asyncio.run(measure(url, tokens, max_visitors, server.pid))
    finally:
        for process in (server, fake):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        Tenant.objects.filter(pk=tenant.pk).delete()


def _redis_url() -> str:
    """Production's channel layer. Channels' in-memory layer scans every group on each send, so
    without Redis the figures would measure that scan rather than ChatDirect."""
    if os.environ.get("REDIS_URL"):
        return os.environ["REDIS_URL"]
    import redis

    try:
        redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        return ""
    return "redis://127.0.0.1:6379/12"


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_for(port: int) -> None:
    import socket

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    sys.exit("the ASGI server did not start")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve(int(sys.argv[2]))
    else:
        main()

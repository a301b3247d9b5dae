"""The widget API under load, on PostgreSQL, one ASGI process (uvicorn), the fake provider (issue 4).

1. Instant provider. ChatDirect's added latency = our end-to-end latency minus the provider's own,
   measured with the same request pattern straight against the fake: (a) one visitor at a time;
   (b) capacity: many visitors sending as fast as they are answered (their latency is then mostly
   queueing); (c) added latency under a steady load of 25/50/75% of that capacity, messages arriving
   at a fixed rate whether or not earlier ones are answered (how a service is run, and how proxy
   figures such as LiteLLM's are published).
2. Provider latency 1 s: 500 conversations in flight at once on the one process, without errors.

Everything (load generator, app, fake provider, PostgreSQL) shares this machine's two cores, so the
figures are a floor, not a ceiling.
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import time

import _django

_django.setup()

import httpx  # noqa: E402

from tenants.models import Plan, Tenant  # noqa: E402
from tenants.services import tenant_create  # noqa: E402
from tests.fakes.provider_server import DEFAULT_KEYS  # noqa: E402

ROOT = _django.ROOT
ORIGIN = "https://bench.example.com"
FAKE_KEY = DEFAULT_KEYS["anthropic"]  # the fake server's built-in Anthropic key


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(url: str, seconds: float = 30) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def _start_fake(latency: float) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.provider_server",
            "--port",
            str(port),
            "--latency",
            str(latency),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )
    _wait_for(f"http://127.0.0.1:{port}/_fake/health")
    return process, port


def _start_app(fake_port: int) -> tuple[subprocess.Popen, int]:
    port = _free_port()
    env = {
        **os.environ,
        "DEBUG": "0",
        "CHATDIRECT_READ_ENV_FILE": "0",
        "SECRET_KEY": "bench-" + "s" * 50,
        "CHATDIRECT_VAULT_KEYS": "bench:" + "QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUE=",
        "ALLOWED_HOSTS": "127.0.0.1",
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
        "ANTHROPIC_API_KEY": FAKE_KEY,
        "CHATDIRECT_ANTHROPIC_BASE_URL": f"http://127.0.0.1:{fake_port}/anthropic",
        "CHATDIRECT_RATE_LIMIT_VISITOR": "100000/60",
        "CHATDIRECT_RATE_LIMIT_IP": "1000000/60",
        "CHATDIRECT_RATE_LIMIT_TENANT": "1000000/60",
        "CHATDIRECT_RATE_LIMIT_SESSION": "1000000/60",
        "LOG_LEVEL": "WARNING",
    }
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "chatdirect.asgi:application",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            "--backlog",
            "4096",
            "--loop",
            "uvloop",
            "--http",
            "httptools",
        ],
        cwd=ROOT,
        env=env,
    )
    _wait_for(f"http://127.0.0.1:{port}/healthz")
    return process, port


def _tenant() -> Tenant:
    plan, _ = Plan.objects.get_or_create(
        name="Bench (uncapped)",
        defaults={"monthly_price": 0, "monthly_conversation_cap": 2_000_000_000},
    )
    Tenant.objects.filter(slug="bench-chat").delete()
    return tenant_create(name="Bench chat", slug="bench-chat", plan=plan, allowed_origins=[ORIGIN])


async def _session(client: httpx.AsyncClient, base: str, widget_id: str) -> str:
    response = await client.post(
        f"{base}/api/widget/v1/sessions", json={"widget_id": widget_id}, headers={"Origin": ORIGIN}
    )
    response.raise_for_status()
    return response.json()["visitor_token"]


async def _say(client: httpx.AsyncClient, base: str, token: str, text: str) -> tuple[float, dict]:
    started = time.perf_counter()
    response = await client.post(
        f"{base}/api/widget/v1/messages",
        json={"text": text},
        headers={"Origin": ORIGIN, "Authorization": f"Bearer {token}"},
    )
    elapsed = time.perf_counter() - started
    body = (
        response.json()
        if response.status_code == 200
        else {"status": f"HTTP {response.status_code}"}
    )
    return elapsed, body


async def _direct(client: httpx.AsyncClient, fake_port: int, text: str) -> float:
    """The same reply asked of the fake provider directly: the provider's share of the latency."""
    started = time.perf_counter()
    response = await client.post(
        f"http://127.0.0.1:{fake_port}/anthropic/v1/messages",
        json={
            "model": "claude-haiku-4-5",
            "max_tokens": 1024,
            "stream": True,
            "system": "You are the assistant.",
            "messages": [{"role": "user", "content": text}],
        },
        headers={"x-api-key": FAKE_KEY, "anthropic-version": "2023-06-01"},
    )
    response.raise_for_status()
    return time.perf_counter() - started


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[int(len(ordered) * 0.95) - 1] * 1000


async def _open_loop(send, rate: float, seconds: float) -> tuple[list, float]:
    """Start `send(n)` `rate` times a second for `seconds`, whatever the previous ones are doing."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    tasks = []
    for n in range(int(rate * seconds)):
        delay = started + n / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.ensure_future(send(n)))
    results = await asyncio.gather(*tasks)
    return results, loop.time() - started


def _added(ours: list[float], provider: list[float]) -> str:
    p50, p95 = _percentiles(ours)
    d50, d95 = _percentiles(provider)
    return f"{p50 - d50:6.1f} ms / {p95 - d95:5.1f} ms"


async def instant(base: str, fake_port: int, widget_id: str, visitors: int, messages: int) -> None:
    limits = httpx.Limits(max_connections=visitors * 4, max_keepalive_connections=visitors * 4)
    async with httpx.AsyncClient(limits=limits, timeout=60) as client:
        tokens = await asyncio.gather(*[_session(client, base, widget_id) for _ in range(visitors)])
        await asyncio.gather(*[_say(client, base, t, "warm up") for t in tokens])

        # a) One visitor at a time: the pure cost of a message, nothing queued behind another.
        # Ours and the fake's own alternate, so that the machine's drift hits both alike.
        alone, alone_direct = [], []
        for n in range(200):
            alone.append((await _say(client, base, tokens[0], f"alone {n}"))[0])
            alone_direct.append(await _direct(client, fake_port, f"alone {n}"))
        print("1) instant provider, non-streaming; added = ours minus the fake's own, same pattern")
        print(f"   a) one visitor at a time       added p50/p95 {_added(alone, alone_direct)}")

        # b) Saturation: every visitor sends as fast as it is answered; the process's capacity.
        async def visitor(token: str) -> list[tuple[float, dict]]:
            return [await _say(client, base, token, f"question {n}") for n in range(messages)]

        started = time.perf_counter()
        saturated = [r for rs in await asyncio.gather(*[visitor(t) for t in tokens]) for r in rs]
        wall = time.perf_counter() - started
        capacity = len(saturated) / wall
        p50, p95 = _percentiles([e for e, _ in saturated])
        print(
            f"   b) {visitors} visitors flat out      {capacity:6.0f} messages/s   "
            f"(end-to-end p50/p95 {p50:.0f} / {p95:.0f} ms: queueing, {visitors} waiting at once)"
        )

        # c) A steady load below capacity, as a service is run: messages arrive at a fixed rate
        # from many visitors, whether or not earlier ones are answered.
        failures = [b["status"] for _, b in saturated if b.get("status") != "answered"]
        for share in (0.25, 0.5, 0.75):
            rate = max(1.0, capacity * share)

            async def send(n: int) -> tuple[float, dict]:
                return await _say(client, base, tokens[n % visitors], f"steady {n}")

            async def send_direct(n: int) -> float:
                return await _direct(client, fake_port, f"steady {n}")

            steady, _ = await _open_loop(send, rate, seconds=8)
            steady_direct, _ = await _open_loop(send_direct, rate, seconds=8)
            failures += [b["status"] for _, b in steady if b.get("status") != "answered"]
            print(
                f"   c) steady {rate:5.0f} msg/s ({share:.0%})   added p50/p95 "
                f"{_added([e for e, _ in steady], steady_direct)}"
            )
    print(
        f"   not answered                    {len(failures):6d}   "
        "(each answered message stored 2 messages and 1 ledger row)"
    )


async def in_flight(base: str, widget_id: str, conversations: int) -> None:
    limits = httpx.Limits(
        max_connections=conversations + 10, max_keepalive_connections=conversations + 10
    )
    async with httpx.AsyncClient(limits=limits, timeout=120) as client:
        sem = asyncio.Semaphore(50)

        async def session() -> str:
            async with sem:
                return await _session(client, base, widget_id)

        tokens = await asyncio.gather(*[session() for _ in range(conversations)])
        started = time.perf_counter()
        results = await asyncio.gather(*[_say(client, base, t, "hello") for t in tokens])
        wall = time.perf_counter() - started
    failures = [body["status"] for _, body in results if body.get("status") != "answered"]
    p50, p95 = _percentiles([elapsed for elapsed, _ in results])
    print(
        f"2) provider latency 1 s: {conversations} conversations sent at once to one ASGI process"
    )
    print(f"   all answered in            {wall:8.2f} s   (p50 {p50:.0f} ms, p95 {p95:.0f} ms)")
    print(f"   errors / not answered      {len(failures):8d}   {sorted(set(failures))[:3]}")


def _machine_speed() -> float:
    """Milliseconds for a fixed pure-Python loop: this VM's speed drifts, and this says by how much."""
    started = time.process_time()
    total = 0
    for n in range(1_000_000):
        total += n * n
    return (time.process_time() - started) * 1000


def main() -> None:
    visitors = int(os.environ.get("BENCH_VISITORS", "50"))
    messages = int(os.environ.get("BENCH_MESSAGES", "20"))
    in_flight_count = int(os.environ.get("BENCH_IN_FLIGHT", "500"))
    tenant = _tenant()
    processes = []
    try:
        fake, fake_port = _start_fake(latency=0.0)
        processes.append(fake)
        app, app_port = _start_app(fake_port)
        processes.append(app)
        base = f"http://127.0.0.1:{app_port}"
        print(
            "chat: uvicorn (1 process) + PostgreSQL + Redis + fake Anthropic, on this 2-core machine"
            f" (machine speed: a fixed loop takes {_machine_speed():.0f} ms; lower is faster)"
        )
        asyncio.run(instant(base, fake_port, tenant.widget_id, visitors, messages))
        for process in processes:
            process.terminate()
            process.wait(10)
        processes.clear()

        fake, fake_port = _start_fake(latency=1.0)
        processes.append(fake)
        app, app_port = _start_app(fake_port)
        processes.append(app)
        asyncio.run(in_flight(f"http://127.0.0.1:{app_port}", tenant.widget_id, in_flight_count))
    finally:
        for process in processes:
            process.terminate()
            process.wait(10)
        tenant.delete()


if __name__ == "__main__":
    main()

"""Conversation reservations per second from 8 threads on PostgreSQL (issue 2).

Every thread reserves against the same tenant and month, the worst case: all contend for one row.
"""

import statistics
import threading
import time

import _django

_django.setup()

from django.db import connection, connections  # noqa: E402

from tenants.models import ConversationCounter, Plan, Tenant  # noqa: E402
from tenants.services import conversation_reserve, tenant_create  # noqa: E402

THREADS = 8
SECONDS = 5.0


def main() -> None:
    plan, _ = Plan.objects.get_or_create(
        name="Bench (uncapped)",
        defaults={"monthly_price": 0, "monthly_conversation_cap": 2_000_000_000},
    )
    Tenant.objects.filter(slug="bench-caps").delete()
    tenant = tenant_create(name="Bench caps", slug="bench-caps", plan=plan)
    conversation_reserve(tenant=tenant, key_source="platform")  # the month's counter row exists

    counts = [0] * THREADS
    latencies: list[float] = []
    stop_at = time.perf_counter() + SECONDS
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        local = []
        start.wait()
        while time.perf_counter() < stop_at:
            began = time.perf_counter()
            conversation_reserve(tenant=tenant, key_source="platform")
            local.append(time.perf_counter() - began)
            counts[index] += 1
        latencies.extend(local)
        connections.close_all()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    total = sum(counts)
    counter = ConversationCounter.objects.get(tenant=tenant)
    assert counter.platform_conversations == total + 1, "lost or extra reservations"
    latencies.sort()
    print(
        f"caps: PostgreSQL {connection.pg_version // 10000}, {THREADS} threads, {SECONDS:.0f} s, one tenant"
    )
    print(f"  reservations/s      {total / SECONDS:10.0f}")
    print(
        f"  latency p50 / p95   {statistics.median(latencies) * 1000:7.2f} ms / {latencies[int(len(latencies) * 0.95)] * 1000:.2f} ms"
    )
    print(f"  counter exact       {counter.platform_conversations} = {total} + 1")
    tenant.delete()


if __name__ == "__main__":
    main()

"""HTTP benchmark on the local stack (emulators): event latency and throughput.

Starts the Firestore and Cloud Tasks emulators and both functions on free ports, then
  1. sends events one after another to one pizza order (latency, p50 / p95),
  2. sends events from 16 threads to 16 different orders (throughput),
and stops everything. Run: ``.venv/bin/python benchmarks/http_bench.py``.
"""

from __future__ import annotations

import secrets
import statistics
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import requests

from devstack import FirestoreEmulator, FunctionServer, Service, TasksEmulator, free_port


def main(sequential: int = 200, parallel_orders: int = 16, per_order: int = 25) -> None:
    run = uuid.uuid4().hex[:8]
    project, queue = f"demo-{run}", "bench"
    queue_path = f"projects/{project}/locations/us-central1/queues/{queue}"
    firestore, tasks_emulator = FirestoreEmulator(), TasksEmulator(queue_path)
    tasks_port = free_port()
    env = {
        "GOOGLE_CLOUD_PROJECT": project,
        "WF_QUEUE": queue,
        "WF_TASKS_URL": f"http://127.0.0.1:{tasks_port}/",
        "WF_SIGNING_SECRET": secrets.token_hex(8),
        "FIRESTORE_EMULATOR_HOST": firestore.host,
        "CLOUD_TASKS_EMULATOR_HOST": tasks_emulator.host,
    }
    api = FunctionServer("api", env)
    services: list[Service] = [
        firestore,
        tasks_emulator,
        FunctionServer("tasks", env, port=tasks_port),
        api,
    ]
    started: list[Service] = []
    try:
        for s in services:
            s.start()
            started.append(s)
        session = requests.Session()
        base = api.url

        def add(order: str, i: int) -> float:
            t = time.perf_counter()
            r = session.post(
                f"{base}/wf/pizza/{order}/add", json={"name": f"p{i}", "qty": 1}, timeout=60
            )
            r.raise_for_status()
            return time.perf_counter() - t

        session.post(f"{base}/wf/pizza/seq", json={}, timeout=60).raise_for_status()
        add("seq", -1)  # warm up
        latencies = sorted(add("seq", i) for i in range(sequential))
        p50 = statistics.median(latencies) * 1000
        p95 = latencies[int(len(latencies) * 0.95)] * 1000
        print(f"sequential events on one order: p50 {p50:.1f} ms, p95 {p95:.1f} ms")

        orders = [f"par-{i}" for i in range(parallel_orders)]
        for o in orders:
            session.post(f"{base}/wf/pizza/{o}", json={}, timeout=60).raise_for_status()
        jobs = [(o, i) for i in range(per_order) for o in orders]
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=parallel_orders) as pool:
            list(
                pool.map(
                    lambda job: requests.post(
                        f"{base}/wf/pizza/{job[0]}/add", json={"name": "x", "qty": 1}, timeout=60
                    ).raise_for_status(),
                    jobs,
                )
            )
        elapsed = time.perf_counter() - start
        print(
            f"{len(jobs)} events on {parallel_orders} orders from {parallel_orders} threads: "
            f"{len(jobs) / elapsed:.0f} events/s"
        )
    finally:
        for s in reversed(started):
            s.stop()


if __name__ == "__main__":
    main()

"""``python -m devstack``: run the local stack in the foreground until Ctrl-C or SIGTERM."""

from __future__ import annotations

import os
import secrets
import signal
import sys
import threading
from types import FrameType

from devstack.processes import (
    FirestoreEmulator,
    FunctionServer,
    Service,
    TasksEmulator,
    port_taken,
)

PROJECT = "demo-local"
LOCATION = "us-central1"
QUEUE = "workflows"


def port_problem(ports: dict[str, int]) -> str | None:
    """Why the ports chosen through ``ports`` (variable: port) cannot be used, or None."""
    seen: dict[int, str] = {}
    for variable, port in ports.items():
        if port in seen:
            return f"{seen[port]} and {variable} are both {port}: set one of them to another port"
        seen[port] = variable
    for variable, port in ports.items():
        if port_taken(port):
            return (
                f"port {port} ({variable}) is already in use by another process: "
                f"stop it, or set {variable} to a free port"
            )
    return None


def main() -> int:
    """Start everything, print how to use it, wait for a signal, stop everything."""
    api_port = int(os.environ.get("PORT", "8080"))
    tasks_port = int(os.environ.get("TASKS_PORT", "8081"))
    problem = port_problem({"PORT": api_port, "TASKS_PORT": tasks_port})
    if problem is not None:
        print(f"local stack not started: {problem}", file=sys.stderr)
        return 1
    secret = os.environ.get("WF_SIGNING_SECRET") or secrets.token_hex(16)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    queue_path = f"projects/{PROJECT}/locations/{LOCATION}/queues/{QUEUE}"
    firestore = FirestoreEmulator()
    tasks_emulator = TasksEmulator(queue_path)
    env = {
        "GOOGLE_CLOUD_PROJECT": PROJECT,
        "WF_LOCATION": LOCATION,
        "WF_QUEUE": QUEUE,
        "WF_TASKS_URL": f"http://127.0.0.1:{tasks_port}/",
        "WF_SIGNING_SECRET": secret,
        "WF_MODULES": os.environ.get("WF_MODULES", "workflows.pizza"),
        "WF_HISTORY": os.environ.get("WF_HISTORY", "1"),
        "FIRESTORE_EMULATOR_HOST": firestore.host,
        "CLOUD_TASKS_EMULATOR_HOST": tasks_emulator.host,
    }
    services: list[Service] = [
        firestore,
        tasks_emulator,
        FunctionServer("tasks", env, port=tasks_port, log_dir=firestore.log_dir),
        FunctionServer("api", env, port=api_port, log_dir=firestore.log_dir),
    ]
    started: list[Service] = []
    try:
        for service in services:
            if stop.is_set():
                return 130
            print(f"starting {service.name} on {service.host} ...", flush=True)
            service.start()
            started.append(service)
        base = f"http://127.0.0.1:{api_port}"
        print(
            f"""
local stack ready (logs in {firestore.log_dir})
  api:    {base}
  tasks:  http://127.0.0.1:{tasks_port}   (admin calls: header X-Admin-Secret: {secret})
  create a pizza order:
    curl -s -X POST {base}/wf/pizza/order-1 -H 'Content-Type: application/json' -d '{{}}'
Ctrl-C stops everything.""",
            flush=True,
        )
        while not stop.wait(0.5):
            for service in started:
                if service.proc is not None and service.proc.poll() is not None:
                    print(f"{service.name} exited:\n{service.log_tail()}", file=sys.stderr)
                    return 1
        return 0
    except RuntimeError as e:
        print(str(e), file=sys.stderr)
        return 1
    finally:
        for service in reversed(started):
            service.stop()
        print("local stack stopped", flush=True)


if __name__ == "__main__":
    sys.exit(main())

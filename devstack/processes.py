"""Child processes of the local stack, each started on a free port and stopped for sure."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Self

ROOT = Path(__file__).resolve().parent.parent
"""The repository root."""

TASKS_VENV = ROOT / ".venv-tasks-emulator"
"""The Cloud Tasks emulator's own virtual environment (it needs protobuf<5)."""

TASKS_EMULATOR_REQUIREMENTS = ("gcloud-tasks-emulator>=0.6.2,<0.7", "protobuf>=4.21,<5")
"""What that environment holds."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def port_taken(port: int) -> bool:
    """Whether another process answers on, or holds, ``port`` of 127.0.0.1."""
    if _port_open(port):
        return True
    with socket.socket() as s:
        # as the servers do, so that a just-closed connection (TIME_WAIT) does not count
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


class Service:
    """A child process in its own process group, logging to a file."""

    name = "service"
    """Label for logs and errors."""

    def __init__(self, port: int | None = None, log_dir: Path | None = None) -> None:
        self.port = port or free_port()
        """The port it listens on."""
        self.log_dir = log_dir or Path(tempfile.mkdtemp(prefix="wf-stack-"))
        """Where its log goes."""
        self.log_path = self.log_dir / f"{self.name}-{self.port}.log"
        """Its log file."""
        self.proc: subprocess.Popen[bytes] | None = None
        """The process, once started."""

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``."""
        return f"127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        """The command line."""
        raise NotImplementedError

    def env(self) -> dict[str, str]:
        """The environment."""
        return dict(os.environ)

    def ready(self) -> bool:
        """Whether it serves requests yet."""
        return _port_open(self.port)

    def start(self, timeout: float = 90) -> None:
        """Start it and wait until it is ready; on failure stop it and say why."""
        # readiness is "the port answers": another process on the port would pass for it
        if port_taken(self.port):
            raise RuntimeError(f"{self.name}: port {self.port} is already in use")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env(),
                cwd=ROOT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            if self.ready():
                return
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n{self.log_tail()}")

    def log_tail(self, lines: int = 30) -> str:
        """The end of its log."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self) -> None:
        """Stop the whole process group (TERM, then KILL)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=wait)
                # children (java under gcloud) may outlive the leader: make sure
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
            break

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class FirestoreEmulator(Service):
    """``gcloud emulators firestore start`` on a free port."""

    name = "firestore-emulator"

    def command(self) -> list[str]:
        return [
            "gcloud",
            "emulators",
            "firestore",
            "start",
            f"--host-port=127.0.0.1:{self.port}",
            "--quiet",
        ]

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"http://{self.host}/", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def reset(self, project: str) -> None:
        """Delete every document of ``project``."""
        url = f"http://{self.host}/emulator/v1/projects/{project}/databases/(default)/documents"
        urllib.request.urlopen(urllib.request.Request(url, method="DELETE"), timeout=10).close()


def ensure_tasks_venv() -> Path:
    """Create the Cloud Tasks emulator's virtual environment on first use; its executable."""
    exe = TASKS_VENV / "bin" / "gcloud-tasks-emulator"
    stamp = TASKS_VENV / (".installed-" + "-".join(TASKS_EMULATOR_REQUIREMENTS).replace("/", "_"))
    if exe.exists() and stamp.exists():
        return exe
    subprocess.run([sys.executable, "-m", "venv", str(TASKS_VENV)], check=True)
    pip = [str(TASKS_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, *TASKS_EMULATOR_REQUIREMENTS], check=True)
    stamp.touch()
    return exe


class TasksEmulator(Service):
    """The ``gcloud-tasks-emulator`` (PyPI) with one queue, in its own virtual environment."""

    name = "tasks-emulator"

    def __init__(
        self, queue_path: str, port: int | None = None, log_dir: Path | None = None
    ) -> None:
        super().__init__(port, log_dir)
        self.queue_path = queue_path
        """The queue it creates at start."""

    def command(self) -> list[str]:
        return [
            str(ensure_tasks_venv()),
            "start",
            f"--port={self.port}",
            f"--default-queue={self.queue_path}",
            "--max-retries=20",
        ]


class FunctionServer(Service):
    """One function of ``main.py`` under functions-framework."""

    def __init__(
        self,
        target: str,
        env: dict[str, str],
        port: int | None = None,
        log_dir: Path | None = None,
    ) -> None:
        self.name = f"function-{target}"
        super().__init__(port, log_dir)
        self.target = target
        """``api`` or ``tasks``."""
        self.extra_env = env
        """Environment the function reads (WF_*, emulator hosts)."""

    @property
    def url(self) -> str:
        """Its base URL."""
        return f"http://{self.host}"

    def command(self) -> list[str]:
        exe = Path(sys.executable).parent / "functions-framework"
        return [
            str(exe),
            f"--target={self.target}",
            "--source=main.py",
            "--host=127.0.0.1",
            f"--port={self.port}",
        ]

    def env(self) -> dict[str, str]:
        return {**os.environ, **self.extra_env, "PYTHONUNBUFFERED": "1"}

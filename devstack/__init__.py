"""The local stack: Firestore emulator, Cloud Tasks emulator and the two functions.

Used by the tests' fixtures and by ``deploy/local.sh`` (``python -m devstack``). Every
process runs in its own process group on a free port and is stopped with its children.
"""

from devstack.processes import (
    FirestoreEmulator,
    FunctionServer,
    Service,
    TasksEmulator,
    free_port,
)

__all__ = ["FirestoreEmulator", "FunctionServer", "Service", "TasksEmulator", "free_port"]

"""The long-running processes the project's scripts start (the Kafka broker, the OpenID provider),
kept by pid so that stopping one also reaps it: no zombie is left behind, and a process that has
exited is never taken for a live one."""

from __future__ import annotations

import os
import subprocess

#: Processes this Python process started, by pid.
children: dict[int, subprocess.Popen[bytes]] = {}


def alive(pid: int) -> bool:
    """Is ``pid`` running? One of ours is reaped once it has exited."""
    child = children.get(pid)
    if child is not None:
        if child.poll() is None:
            return True
        del children[pid]
        return False
    try:
        os.kill(pid, 0)
        return True
    except (ProcessLookupError, PermissionError):
        return False

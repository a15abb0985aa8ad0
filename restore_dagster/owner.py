"""Which process runs a Dagster run or holds a claim, and whether that process still exists.

A process is named by its host, its pid and when it started (the boot id and the start time in
clock ticks from ``/proc/<pid>/stat``), so a pid reused after a crash or a reboot is not taken for
the process that died. Runs carry this as tags (``restore/owner_*``); claims under ``state/`` as JSON.
Only processes on this host can be judged: a run owned by another host is left alone.
"""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from pathlib import Path

TAG_HOST = "restore/owner_host"
TAG_PID = "restore/owner_pid"
TAG_STARTED = "restore/owner_started"


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _start_ticks(pid: int) -> str:
    """The process's start time in clock ticks since boot; "" where /proc is not available."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: split after its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19]  # field 22 of the whole line


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    return True


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    started: str  # "<boot id>/<start ticks>", or "" where the platform cannot tell

    @classmethod
    def this_process(cls) -> "Owner":
        ticks = _start_ticks(os.getpid())
        return cls(socket.gethostname(), os.getpid(), f"{_boot_id()}/{ticks}" if ticks else "")

    @classmethod
    def from_tags(cls, tags: dict) -> "Owner | None":
        try:
            return cls(tags[TAG_HOST], int(tags[TAG_PID]), tags.get(TAG_STARTED, ""))
        except (KeyError, ValueError):
            return None

    def tags(self) -> dict[str, str]:
        return {TAG_HOST: self.host, TAG_PID: str(self.pid), TAG_STARTED: self.started}

    def as_dict(self) -> dict:
        return {"host": self.host, "pid": self.pid, "started": self.started}

    @classmethod
    def from_dict(cls, value: dict) -> "Owner | None":
        try:
            return cls(str(value["host"]), int(value["pid"]), str(value.get("started", "")))
        except (KeyError, TypeError, ValueError):
            return None

    def alive(self) -> bool | None:
        """True or False on this host; None for another host's process (it cannot be checked from here)."""
        if self.host != socket.gethostname():
            return None
        boot, _, ticks = self.started.partition("/")
        if boot and boot != _boot_id():
            return False  # started before a reboot
        if not _process_exists(self.pid):
            return False
        return not ticks or _start_ticks(self.pid) in ("", ticks)  # same pid, other process: dead

    def describe(self) -> str:
        return f"process {self.pid} on {self.host}"

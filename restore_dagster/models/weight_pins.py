"""Trust on first use for checkpoints whose SHA-256 no first party publishes: ``<name>.pin.json``.

The first good copy of such a file (downloaded, or put in the cache by hand) has its size and
SHA-256 recorded beside it; every later use checks the file against that record, so a file damaged
or swapped afterwards is refused instead of used. Shared by archive_weights.py (members extracted
from zip archives: BOPBTL, LaMa) and pinned_weights.py (plain files of a known size: DDColor); each
turns :class:`PinError` and the problems found into its own error with its own advice.
"""

from __future__ import annotations

import datetime
import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from restore_dagster.models import weights_cache as _w

logger = logging.getLogger(__name__)

FIRST_USE = "a file found in the cache (pinned on first use)"


class PinError(ValueError):
    """The pin record beside a checkpoint cannot be read; the message says why."""


def pin_path(path: Path) -> Path:
    return path.with_name(path.name + ".pin.json")


def read_pin(path: Path) -> dict | None:
    """The pin record beside ``path``, or None when there is none."""
    try:
        record = json.loads(pin_path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as e:
        raise PinError(f"the pin file is unreadable ({e})") from e
    if not (isinstance(record, dict) and isinstance(record.get("size"), int) and isinstance(record.get("sha256"), str)):
        raise PinError("the pin file is not a size/sha256 record")
    return record


def write_pin(path: Path, size: int, digest: str, source: str, **extra: Any) -> None:
    """Record ``path``'s size and SHA-256 as the trusted ones; ``source`` says where it came from."""
    record = {"name": path.name, "size": size, "sha256": digest, "source": source, **extra,
              "pinned_at": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")}
    _w._atomic_write_text(pin_path(path), json.dumps(record, indent=1) + "\n")


def pinned_problem(path: Path, expected_size: int | None = None,
                   first_pin: Callable[[Path, int, str], None] | None = None) -> str | None:
    """None when ``path`` matches its pin (pinning it now if it has none); else what differs.

    ``expected_size``: the size the file must have before it is even pinned (None: any size);
    ``first_pin(path, size, digest)`` writes the first pin (default: :func:`write_pin` saying it was
    found in the cache). The full hash is remembered in weights_cache.py's stat-keyed sidecar, so an
    unchanged file is hashed once. Raises :class:`PinError` when the pin file itself is damaged.
    """
    st = path.stat()
    if not path.is_file():
        return "not a regular file"
    if expected_size is not None and st.st_size != expected_size:
        return f"size {st.st_size:,} bytes, expected {expected_size:,}"
    pin = read_pin(path)
    digest = _w._remembered_digest(path, st) or _w.sha256_file(path)
    if pin is None:
        (first_pin or _pin_found_file)(path, st.st_size, digest)
        logger.info("pinned %s on first use: %d bytes, sha256 %s", path, st.st_size, digest)
    elif st.st_size != pin["size"]:
        return f"size {st.st_size:,} bytes, pinned {pin['size']:,}"
    elif digest != pin["sha256"]:
        return f"sha256 {digest}, pinned {pin['sha256']}"
    _w._remember_digest(path, digest)
    return None


def _pin_found_file(path: Path, size: int, digest: str) -> None:
    write_pin(path, size, digest, FIRST_USE)

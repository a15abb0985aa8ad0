"""Read a file's metadata with exiftool (Debian's libimage-exiftool-perl), an independent reader.

`make test` installs it (the `browser` target); without it these tests fail with the fix, never skip.
"""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path


def exiftool_tags(path: Path) -> dict:
    """Every tag exiftool reads, as ``Group:Tag`` (family 1 groups: IFD0, ExifIFD, GPS, XMP-dc, ...)."""
    exe = shutil.which("exiftool")
    assert exe, "exiftool is missing: install Debian's libimage-exiftool-perl (`make browser` does)"
    result = subprocess.run([exe, "-j", "-G1", "-a", "-struct", "-n", str(path)], capture_output=True, check=True)
    return json.loads(result.stdout.decode("utf-8"))[0]

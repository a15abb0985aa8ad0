"""A processing photo's state says how far its stage is, from the progress record the stage writes."""
from __future__ import annotations

import os
import socket

from restore_dagster.owner import Owner
from restore_dagster.progress import PhotoProgress, progress_path
from restore_dagster.files import atomic_write_json
from restore_dagster_tests.viewer.conftest import create_album, jpeg_bytes, upload
from restore_dagster_tests.viewer.test_states import _register, _state


def test_processing_state_shows_tile_progress(owner, layout, busy):
    album = create_album(owner, "Progress")
    photo = upload(owner, album, jpeg_bytes()).json()
    key = _register(layout).added[0]
    busy.keys.add(key)
    state = _state(owner, photo)
    assert state["state"] == "processing" and state["reason"] == ""  # its stage has not started yet

    progress = PhotoProgress(layout.state, "upscaled", key, 2, 8, "run-1")
    progress.start()
    progress.tiles(3, 8)
    progress.tiles(8, 8)  # the last tile is always written, whatever the throttle
    assert _state(owner, photo)["reason"] == "upscaling: 8/8 tiles (100%), photo 2 of 8 in this run"

    progress.clear()
    assert _state(owner, photo)["reason"] == ""


def test_progress_left_by_a_killed_process_is_ignored(owner, layout, busy):
    album = create_album(owner, "Killed")
    photo = upload(owner, album, jpeg_bytes()).json()
    key = _register(layout).added[0]
    busy.keys.add(key)
    dead = Owner(socket.gethostname(), os.getpid(), Owner.this_process().started.rsplit("/", 1)[0] + "/1")
    atomic_write_json(progress_path(layout.state, key), {"key": key, "stage": "upscaled", "done": 1, "total": 4,
                                                          "photo": 1, "photos": 1, "owner": dead.as_dict()})
    assert _state(owner, photo)["reason"] == ""

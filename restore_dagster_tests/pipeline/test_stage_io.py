"""Stage files written in the background and handed over in memory: nothing lost, nothing stale."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from restore_dagster.assets import stage_io
from restore_dagster.assets.stage_io import StageImages, StageWriter, write_stage_image
from restore_dagster.config import STAGES
from restore_dagster.files import atomic_write_bytes
from restore_dagster.imaging import decode_stage_file, encode_png
from restore_dagster.lineage import read_failure, read_record, record_path
from restore_dagster.settings import SettingsStore
from restore_dagster_tests.conftest import write_scan
from restore_dagster_tests.pipeline.harness import drain, materialized


def picture(seed: int, size=(64, 48)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


@pytest.fixture
def instance(layout):
    from restore_dagster.instance import get_instance

    with get_instance(layout) as inst:
        yield inst


def test_a_written_image_is_read_back_from_memory_as_a_copy(tmp_path):
    images = StageImages(max_bytes=2**20)
    path = write_stage_image(tmp_path / "a.png", picture(1), images)
    first = images.read(path)
    assert images.hits == 1 and images.misses == 0
    assert np.array_equal(np.asarray(first), np.asarray(decode_stage_file(path)))
    first.paste((0, 0, 0), (0, 0, 64, 48))  # a stage changing its copy changes nothing kept
    assert np.array_equal(np.asarray(images.read(path)), np.asarray(picture(1)))


def test_a_file_replaced_since_is_decoded_from_disk(tmp_path):
    images = StageImages(max_bytes=2**20)
    path = write_stage_image(tmp_path / "a.png", picture(1), images)
    atomic_write_bytes(path, encode_png(picture(2)))  # a touch-up tool, another process, a restore from backup
    assert np.array_equal(np.asarray(images.read(path)), np.asarray(picture(2)))
    assert images.misses == 1
    path.unlink()
    with pytest.raises(FileNotFoundError):
        images.read(path)


def test_the_kept_images_stay_under_their_budget(tmp_path):
    one = 64 * 48 * 3
    images = StageImages(max_bytes=2 * one)
    paths = [write_stage_image(tmp_path / f"{n}.png", picture(n), images) for n in range(3)]
    images.read(paths[0])  # evicted: the oldest went when the third came
    assert (images.hits, images.misses) == (0, 1)
    images.read(paths[2])
    assert images.hits == 1


def test_tiff_stage_files_are_lossless_and_read_by_the_stage_decoder(tmp_path):
    image = picture(5)
    path = write_stage_image(tmp_path / "x.tif", image, StageImages(0))
    with Image.open(path) as opened:
        assert opened.format == "TIFF" and opened.info.get("compression") == "raw"
    assert np.array_equal(np.asarray(decode_stage_file(path)), np.asarray(image))


def test_the_writer_waits_for_every_write_and_reports_failures(tmp_path):
    writer = StageWriter(threads=2, images=StageImages(0))
    good = [writer.write(tmp_path / f"{n}.png", picture(n)) for n in range(4)]
    (tmp_path / "taken").write_text("a file where a folder should be")
    bad = writer.write(tmp_path / "taken" / "x.png", picture(9))
    writer.close()
    assert all(f.done() and f.exception() is None for f in good)
    assert all((tmp_path / f"{n}.png").is_file() for n in range(4))
    assert isinstance(bad.exception(), OSError)


def test_album_run_hands_images_over_in_memory_and_writes_every_stage_file(layout, resources, instance):
    for n in range(3):
        write_scan(layout.gallery / "al" / f"p{n}.jpg", seed=n, size=(48, 36))
    stage_io.STAGE_IMAGES.clear()
    hits = stage_io.STAGE_IMAGES.hits
    drain(instance, resources)
    assert materialized(instance, "published") == {"al/p0", "al/p1", "al/p2"}
    # repaired, toned, upscaled, colorized, compressed and published each read their upstream from memory.
    assert stage_io.STAGE_IMAGES.hits - hits >= 3 * 6
    for key in ("al/p0", "al/p1", "al/p2"):
        for stage in STAGES[:-2]:  # every stage with an image file
            record = read_record(layout, stage, key)
            file = record.file
            assert file.endswith(".tif" if stage in ("upscaled", "colorized") else ".png"), file
            assert record.metadata["bytes"] == len(open(file, "rb").read())  # filled in once written
            image = decode_stage_file(file)
            assert (image.width, image.height) == (record.metadata["width"], record.metadata["height"])


def test_a_failed_write_fails_its_photo_only_and_leaves_no_record(layout, resources, instance, monkeypatch):
    for name in ("good", "bad"):
        write_scan(layout.gallery / "al" / f"{name}.jpg", seed=len(name), size=(48, 36))
    real = stage_io.encode_stage_image

    def failing(path, image):
        if "upscaled" in path.parts and path.name.startswith("bad"):
            raise OSError(28, "No space left on device", str(path))
        return real(path, image)

    monkeypatch.setattr(stage_io, "encode_stage_image", failing)
    drain(instance, resources)
    assert materialized(instance, "published") == {"al/good"}
    failure = read_failure(layout, "al/bad")
    assert failure["stage"] == "upscaled" and "No space left on device" in failure["reason"]
    assert not record_path(layout, "upscaled", "al/bad").exists()  # never a record naming a missing file
    assert read_record(layout, "upscaled", "al/good").metadata["bytes"] > 0


def test_stage_files_from_before_are_read_and_replaced(layout, resources, instance):
    """A run from before the 4K stages became TIFF left upscaled and colorized PNGs: the next stage reads
    the old PNG its record names, and a rerun replaces the PNG (removed once the new record is written)."""
    write_scan(layout.gallery / "al" / "x.jpg", seed=4, size=(48, 36))
    drain(instance, resources)
    upscaled = read_record(layout, "upscaled", "al/x")
    tif = upscaled.file
    png = tif[: -len(".tif")] + ".png"
    image = decode_stage_file(tif)
    image.save(png)  # as the old code wrote it
    data = json.loads(record_path(layout, "upscaled", "al/x").read_text())
    data["file"] = png
    atomic_write_bytes(record_path(layout, "upscaled", "al/x"), json.dumps(data).encode())
    old_colorized = read_record(layout, "colorized", "al/x").file
    stage_io.STAGE_IMAGES.clear()  # a new process: nothing in memory

    SettingsStore(layout.state).set_defaults(render_factor=9)  # colorized and what follows run again
    drain(instance, resources)
    colorized = read_record(layout, "colorized", "al/x")
    assert colorized.metadata["render_factor"] == 9 and colorized.file == old_colorized
    assert np.asarray(decode_stage_file(colorized.file)).shape == np.asarray(image).shape

    # The upscaler rerun (a new noise level) writes its TIFF and removes the old PNG.
    SettingsStore(layout.state).set_defaults(noise_level=0)
    drain(instance, resources)
    assert read_record(layout, "upscaled", "al/x").file == tif
    assert not Path(png).exists()


@pytest.mark.parametrize("suffix", [".png", ".tif"])
def test_neither_a_stage_file_nor_a_preview_is_saved_from_the_callers_image_object(tmp_path, monkeypatch, suffix):
    """The writer's thread and the stage's preview may save one image at once, and Image.save keeps
    its options on the object: a PNG and a JPEG saved from one object swapped them (a celery run's
    photo failed with "function takes at most 6 arguments (16 given)"). Each saves from its own copy."""
    from restore_dagster.imaging import preview_data_uri

    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (60, 80, 3), dtype=np.uint8), "RGB")
    saved_from: list[int] = []
    original = Image.Image.save

    def save(self, *args, **kwargs):
        saved_from.append(id(self))
        return original(self, *args, **kwargs)

    monkeypatch.setattr(Image.Image, "save", save)
    write_stage_image(tmp_path / f"photo{suffix}", image, StageImages(10_000_000))
    preview_data_uri(image)  # small enough to need no resize
    assert saved_from and id(image) not in saved_from

"""The software-defined assets: seven per-photo stages and the catalogue."""
from restore_dagster.assets.catalogue import catalogue
from restore_dagster.assets.colorized import colorized
from restore_dagster.assets.compressed import compressed
from restore_dagster.assets.published import published
from restore_dagster.assets.raw_photo import raw_photo
from restore_dagster.assets.repaired import repaired
from restore_dagster.assets.scanned import scanned
from restore_dagster.assets.toned import toned
from restore_dagster.assets.upscaled import upscaled

STAGE_ASSETS = [scanned, repaired, toned, upscaled, colorized, compressed, published]
__all__ = ["STAGE_ASSETS", "catalogue", "colorized", "compressed", "published", "raw_photo", "repaired", "scanned", "toned", "upscaled"]

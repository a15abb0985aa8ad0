"""Structural similarity (Wang, Bovik, Sheikh & Simoncelli 2004) on luminance.

The reference formulation: an 11×11 Gaussian window with σ = 1.5, K1 = 0.01, K2 = 0.03, a dynamic
range of 255, and the mean taken over the windows that lie wholly inside the image (the 5-pixel
border is left out, as in the authors' MATLAB code and scikit-image). Images above
:data:`SSIM_MAX_PIXELS` are area-averaged down first, both by the same factor: a 4K photo is looked
at on a phone or a laptop screen, where a 2-megapixel comparison sees what a viewer sees, and it is
five times cheaper. The encoder searches qualities against this same measure, so the floor it
promises is the number reported here.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from .sampling import area_scale, resize_plane

SSIM_MAX_PIXELS = 2_000_000

_WINDOW = 11
_SIGMA = 1.5
_C1 = (0.01 * 255) ** 2
_C2 = (0.03 * 255) ** 2


def _blur(plane: np.ndarray) -> np.ndarray:
    return cv2.GaussianBlur(plane, (_WINDOW, _WINDOW), _SIGMA, borderType=cv2.BORDER_REFLECT)


def _inner(plane: np.ndarray) -> np.ndarray:
    """The windows that lie wholly inside the image; all of it when it is smaller than one window."""
    margin = _WINDOW // 2
    if plane.shape[0] <= 2 * margin or plane.shape[1] <= 2 * margin:
        return plane
    return plane[margin:-margin, margin:-margin]


def luma(image: Image.Image) -> np.ndarray:
    """Pillow's integer BT.601 luma as float32, like the authors' rgb2gray: several times faster than
    float maths on a 4K picture, and a half-level rounding is far below what SSIM can see."""
    if image.mode not in ("L", "RGB"):
        image = image.convert("RGB")
    grey = image if image.mode == "L" else image.convert("L")
    return np.asarray(grey, dtype=np.float32)


class SsimReference:
    """One image's SSIM statistics, kept so that many candidates can be scored against it cheaply."""

    def __init__(self, reference: Image.Image | np.ndarray, scale: float | None = None) -> None:
        self.size = reference.size if isinstance(reference, Image.Image) else (reference.shape[1], reference.shape[0])
        # The scale is fixed by the reference so that crops of a large picture can be scored at the
        # same scale as the whole picture would be.
        self.scale = area_scale(self.size, SSIM_MAX_PIXELS) if scale is None else scale
        self._x = self._plane(reference)
        self._mu_x = _blur(self._x)
        self._var_x = _blur(self._x * self._x) - self._mu_x * self._mu_x
        self._mu_x_squared = self._mu_x**2

    def _plane(self, image: Image.Image | np.ndarray) -> np.ndarray:
        grey = image if isinstance(image, np.ndarray) else luma(image)
        return resize_plane(grey, self.scale).astype(np.float64)

    def score(self, candidate: Image.Image | np.ndarray) -> float:
        """Mean SSIM of ``candidate`` (same size as the reference, or its :func:`luma`) against the reference."""
        size = candidate.size if isinstance(candidate, Image.Image) else (candidate.shape[1], candidate.shape[0])
        if size != self.size:
            raise ValueError(f"ssim: image sizes differ: {self.size[0]}×{self.size[1]} vs {size[0]}×{size[1]}")
        y = self._plane(candidate)
        # The reference formula, (2·μx·μy + C1)(2·σxy + C2) / ((μx² + μy² + C1)(σx² + σy² + C2)), computed
        # in place to spare a dozen temporary planes per candidate: the same operations on the same
        # values in the same order (doubling is exact), so the same number to the last bit.
        mu_y = _blur(y)
        mu_xy = self._mu_x * mu_y
        product = y * y
        var_y = _blur(product)
        var_y -= np.multiply(mu_y, mu_y, out=mu_y)  # μy² (μy itself is not needed any more)
        np.multiply(self._x, y, out=product)
        cov = _blur(product)
        cov -= mu_xy
        numerator = mu_xy
        numerator *= 2
        numerator += _C1
        cov *= 2
        cov += _C2
        numerator *= cov
        denominator = np.add(self._mu_x_squared, mu_y, out=cov)  # μx² + μy²
        denominator += _C1
        var_y += self._var_x  # (σy² + σx² is σx² + σy²: addition commutes exactly)
        var_y += _C2
        denominator *= var_y
        numerator /= denominator
        return float(_inner(numerator).mean())


def ssim(a: Image.Image, b: Image.Image) -> float:
    """SSIM of two same-size images on BT.601 luma: 1.0 when identical, lower the more they differ."""
    return SsimReference(a).score(b)

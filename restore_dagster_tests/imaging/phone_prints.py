"""Synthetic phone pictures of a print, with the print's true corners known.

Shared by the print-detection tests (small pictures) and ``bench/bench_print_detection.py`` (many,
phone-sized). A print (a photograph, optionally with a white border, rounded or deckled corners and a
yellowed tint) is placed in 3-D in front of a pinhole camera with a phone's focal length (about 26 mm
equivalent), tilted and turned, and projected onto a background: a wooden table, a bed sheet with
folds, a plain or speckled table top, or a cluttered room with a hand's thumb over the print's edge.
Then the things a phone picture has: a drop shadow under the lifted print, a cast shadow across the
scene, a lighting gradient and vignette, defocus blur, sensor noise and JPEG. Everything is drawn at
twice the size and averaged down, so edges are anti-aliased like a camera's.

Corners are in pixel-edge coordinates (pixel ``(0, 0)`` covers 0..1), the convention of
:mod:`restore_dagster.imaging.perspective`, ordered top-left, top-right, bottom-right, bottom-left
of the print as it stands upright. Deterministic: the same seed makes the same picture.
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image

# Print formats (long side / short side) a generated print takes.
FORMATS = {"3.5x5": 5 / 3.5, "4x6": 1.5, "5x7": 1.4, "8x10": 1.25, "square": 1.0}
SCENES = ("wood", "sheet", "table", "hand")


# scikit-image's photographs (bundled with it) that ``bench/bench_print_detection.py`` prints in turn:
# its picture number i is a print of BENCH_PHOTOS[i % 11]. The regression tests remake single cases.
BENCH_PHOTOS = ("astronaut", "coffee", "chelsea", "rocket", "camera", "immunohistochemistry", "hubble_deep_field",
                "retina", "coins", "moon", "clock")


def bench_photographs() -> list[np.ndarray]:
    """The bench's photographs as RGB arrays, in :data:`BENCH_PHOTOS` order."""
    from skimage import color, data

    pictures = []
    for name in BENCH_PHOTOS:
        picture = getattr(data, name)()
        pictures.append(color.gray2rgb(picture) if picture.ndim == 2 else picture[..., :3])
    return pictures


@dataclass(frozen=True)
class PhonePicture:
    image: Image.Image
    corners: np.ndarray  # [4, 2] TL, TR, BR, BL of the print's outline (edge coordinates)
    aspect: float  # the print's true width / height
    format_name: str
    scene: str
    flat: Image.Image  # the print itself, upright, before it was photographed


def _cover(photo: np.ndarray, width: int, height: int) -> np.ndarray:
    """``photo`` scaled to cover ``width``×``height`` and centre-cropped (how a lab prints a picture)."""
    h, w = photo.shape[:2]
    scale = max(width / w, height / h)
    resized = cv2.resize(photo, (max(width, round(w * scale)), max(height, round(h * scale))), interpolation=cv2.INTER_AREA)
    top, left = (resized.shape[0] - height) // 2, (resized.shape[1] - width) // 2
    return resized[top:top + height, left:left + width]


def make_print(photo: np.ndarray, rng: np.random.Generator, long_side: int, format_name: str | None = None,
               border: bool | None = None, corner_style: str | None = None) -> tuple[np.ndarray, np.ndarray, str]:
    """The print as float32 RGB and its alpha (0..1: rounded or deckled corners are transparent)."""
    format_name = format_name or str(rng.choice(list(FORMATS)))
    ratio = FORMATS[format_name]
    landscape = rng.random() < 0.5
    width, height = (long_side, round(long_side / ratio)) if landscape else (round(long_side / ratio), long_side)
    short = min(width, height)
    border = bool(rng.random() < 0.45) if border is None else border
    paper = np.array([rng.uniform(228, 250), rng.uniform(225, 246), rng.uniform(212, 238)], np.float32)
    sheet = np.empty((height, width, 3), np.float32)
    sheet[:] = paper
    margin = round(short * rng.uniform(0.035, 0.08)) if border else 0
    inner = _cover(photo, width - 2 * margin, height - 2 * margin).astype(np.float32)
    if rng.random() < 0.4:  # an old print: yellowed, a little faded
        inner = inner * np.float32(rng.uniform(0.8, 0.95)) + np.array([30, 22, 5], np.float32) * np.float32(rng.uniform(0.3, 1))
    sheet[margin:height - margin, margin:width - margin] = inner
    alpha = np.ones((height, width), np.float32)
    corner_style = corner_style or str(rng.choice(["square", "rounded", "deckled"], p=[0.55, 0.3, 0.15]))
    if corner_style == "rounded":
        radius = round(short * rng.uniform(0.02, 0.06))
        mask = np.zeros((height, width), np.uint8)
        cv2.rectangle(mask, (radius, 0), (width - 1 - radius, height - 1), 255, -1)
        cv2.rectangle(mask, (0, radius), (width - 1, height - 1 - radius), 255, -1)
        for cx, cy in ((radius, radius), (width - 1 - radius, radius), (radius, height - 1 - radius), (width - 1 - radius, height - 1 - radius)):
            cv2.circle(mask, (cx, cy), radius, 255, -1, lineType=cv2.LINE_AA)
        alpha = mask.astype(np.float32) / 255
    elif corner_style == "deckled":
        # A deckle edge is cut inwards only (the outline's rectangle is still the print's corners) in
        # small scallops, up to about 0.6 % of the short side deep.
        depth = short * rng.uniform(0.003, 0.006)
        period = short * rng.uniform(0.02, 0.04)
        ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
        def scallop(t):
            return depth * (0.5 + 0.5 * np.cos(2 * np.pi * t / period))
        inside = (xs >= scallop(ys)) & (xs <= width - 1 - scallop(ys)) & (ys >= scallop(xs)) & (ys <= height - 1 - scallop(xs))
        alpha = cv2.GaussianBlur(inside.astype(np.float32), (0, 0), 0.7)
    return sheet, alpha, format_name


def _background(rng: np.random.Generator, scene: str, width: int, height: int) -> np.ndarray:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    fine = rng.normal(0, 1, (height, width)).astype(np.float32)
    if scene == "wood":
        angle = rng.uniform(0, np.pi)
        across = -xs * np.sin(angle) + ys * np.cos(angle)
        warp = cv2.GaussianBlur(rng.normal(0, 1, (height, width)).astype(np.float32), (0, 0), width / 30) * width / 6
        grain = np.sin((across + warp) / rng.uniform(4, 12) * (width / 1000)) * 0.5 + 0.5
        streak = cv2.GaussianBlur(fine, (0, 0), 1.0)
        streak = cv2.GaussianBlur(streak, (int(width / 40) * 2 + 1, 1), 0) if abs(np.cos(angle)) > 0.7 else streak
        base = np.array([rng.uniform(90, 170), rng.uniform(55, 110), rng.uniform(25, 60)], np.float32)
        tone = (0.75 + 0.3 * grain + 0.08 * streak)[..., None]
        return base * tone
    if scene == "sheet":
        base = np.array([rng.uniform(150, 245), rng.uniform(150, 245), rng.uniform(150, 245)], np.float32)
        folds = np.zeros((height, width), np.float32)
        for _ in range(5):
            angle, wavelength = rng.uniform(0, np.pi), rng.uniform(0.15, 0.6) * width
            folds += np.sin((xs * np.cos(angle) + ys * np.sin(angle)) / wavelength * 2 * np.pi + rng.uniform(0, 6.3))
        weave = np.sin(xs * 1.9) * np.sin(ys * 1.9) * 0.02
        tone = 1 + 0.05 * folds + weave + 0.02 * fine
        if rng.random() < 0.35:  # a striped sheet
            stripes = (np.sin((xs + ys * rng.uniform(-0.3, 0.3)) / (width * rng.uniform(0.01, 0.03))) > 0.3)
            base = np.where(stripes[..., None], base * np.float32(rng.uniform(0.7, 0.9)), base)
        return base * tone[..., None]
    if scene == "table":
        base = np.full(3, rng.uniform(40, 200), np.float32) * np.array([1, rng.uniform(0.9, 1.05), rng.uniform(0.85, 1.1)], np.float32)
        speckle = cv2.GaussianBlur(fine, (0, 0), rng.uniform(0.6, 2.5)) * rng.uniform(6, 20)
        return base + speckle[..., None]
    # A room behind a hand-held print: soft blobs of colour.
    room = np.empty((height, width, 3), np.float32)
    room[:] = rng.uniform(60, 200, 3)
    for _ in range(12):
        colour = rng.uniform(20, 240, 3)
        x0, y0 = rng.uniform(0, width), rng.uniform(0, height)
        cv2.rectangle(room, (int(x0), int(y0)), (int(x0 + rng.uniform(0.1, 0.5) * width), int(y0 + rng.uniform(0.1, 0.5) * height)), colour.tolist(), -1)
    return cv2.GaussianBlur(room, (0, 0), width / 50) + fine[..., None] * 3  # out of focus behind the print


def _projection(rng: np.random.Generator, print_w: int, print_h: int, width: int, height: int, fill: float) -> np.ndarray:
    """The print's four corners seen by a phone camera: tilted up to ~25° each way, turned in its plane,
    at the distance where it spans about ``fill`` of the frame's short side, a little off-centre."""
    focal = 0.75 * max(width, height) * rng.uniform(0.9, 1.3)  # a phone's main camera, ~26 mm equivalent
    half = np.array([[-print_w, -print_h], [print_w, -print_h], [print_w, print_h], [-print_w, print_h]], np.float64) / 2
    roll = np.deg2rad(rng.uniform(-25, 25))
    pitch, yaw = np.deg2rad(rng.uniform(-25, 25)), np.deg2rad(rng.uniform(-25, 25))
    rz = np.array([[np.cos(roll), -np.sin(roll), 0], [np.sin(roll), np.cos(roll), 0], [0, 0, 1]])
    rx = np.array([[1, 0, 0], [0, np.cos(pitch), -np.sin(pitch)], [0, np.sin(pitch), np.cos(pitch)]])
    ry = np.array([[np.cos(yaw), 0, np.sin(yaw)], [0, 1, 0], [-np.sin(yaw), 0, np.cos(yaw)]])
    points = np.c_[half, np.zeros(4)] @ (ry @ rx @ rz).T
    distance = focal * max(print_w, print_h) / (fill * min(width, height))
    offset = np.array([rng.uniform(-0.08, 0.08) * width, rng.uniform(-0.08, 0.08) * height]) * distance / focal
    points[:, :2] += offset
    points[:, 2] += distance
    return np.c_[focal * points[:, 0] / points[:, 2] + width / 2, focal * points[:, 1] / points[:, 2] + height / 2]


def _soft_polygon(shape: tuple[int, int], points: np.ndarray, blur: float) -> np.ndarray:
    mask = np.zeros(shape, np.uint8)
    cv2.fillPoly(mask, [np.round(points * 4).astype(np.int32)], 255, lineType=cv2.LINE_AA, shift=2)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255, (0, 0), max(blur, 0.3))


def phone_picture(photo: np.ndarray, seed: int, size: tuple[int, int] = (1200, 900), scene: str | None = None,
                  fill: tuple[float, float] = (0.55, 0.85), **print_options) -> PhonePicture:
    """A phone picture (JPEG-decoded RGB) of ``photo`` printed and lying on/held in front of a scene."""
    rng = np.random.default_rng(seed)
    width, height = size if rng.random() < 0.6 else size[::-1]
    scene = scene or str(rng.choice(SCENES))
    big_w, big_h = 2 * width, 2 * height  # drawn at twice the size, averaged down: anti-aliased edges
    sheet, alpha, format_name = make_print(photo, rng, long_side=round(1.1 * max(big_w, big_h) * fill[1]), **print_options)
    ph, pw = alpha.shape
    for _ in range(50):  # a pose that keeps the whole print inside the frame with a little margin
        corners = _projection(rng, pw, ph, big_w, big_h, rng.uniform(*fill))
        if (corners.min(axis=0) > 0.03 * np.array([big_w, big_h])).all() and (corners.max(axis=0) < 0.97 * np.array([big_w, big_h])).all():
            break
    source = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
    matrix = cv2.getPerspectiveTransform(source - 0.5, corners.astype(np.float32) - 0.5)
    scene_pixels = _background(rng, scene, big_w, big_h)
    warped = cv2.warpPerspective(sheet, matrix, (big_w, big_h), flags=cv2.INTER_LINEAR)
    cover = cv2.warpPerspective(alpha, matrix, (big_w, big_h), flags=cv2.INTER_LINEAR)[..., None]
    if rng.random() < 0.7:  # the print is not quite flat: a soft shadow on the side away from the light
        shift = rng.uniform(-0.012, 0.012, 2) * big_w
        shadow = cv2.warpAffine(cover[..., 0], np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]), (big_w, big_h))
        shadow = cv2.GaussianBlur(shadow, (0, 0), big_w * rng.uniform(0.004, 0.015))
        scene_pixels = scene_pixels * (1 - rng.uniform(0.2, 0.5) * shadow)[..., None]
    picture = scene_pixels * (1 - cover) + warped * cover
    if scene == "hand":  # a thumb over the print's edge, on the border where people hold prints
        side = rng.integers(4)
        a, b = corners[side], corners[(side + 1) % 4]
        at = a + (b - a) * rng.uniform(0.3, 0.7)
        inward = corners.mean(axis=0) - at
        inward /= np.linalg.norm(inward)
        length, breadth = 0.07 * max(big_w, big_h), 0.028 * max(big_w, big_h)
        centre = at + inward * length * rng.uniform(-0.2, 0.3)  # the tip a little over the print
        angle = float(np.degrees(np.arctan2(inward[1], inward[0])))
        outline = np.array(cv2.ellipse2Poly((int(centre[0]), int(centre[1])), (int(length), int(breadth)), int(angle), 0, 360, 5), np.float64)
        thumb = _soft_polygon((big_h, big_w), outline, 3)
        shade = cv2.GaussianBlur(thumb, (0, 0), breadth / 2)  # rounder: darker towards its sides
        skin = np.array([rng.uniform(170, 230), rng.uniform(120, 170), rng.uniform(95, 140)], np.float32)
        picture = picture * (1 - thumb[..., None]) + (skin * (0.6 + 0.4 * shade[..., None])) * thumb[..., None]
    ys, xs = np.mgrid[0:big_h, 0:big_w].astype(np.float32)
    if rng.random() < 0.5:  # something between the light and the table: a soft cast shadow
        points = np.array([[rng.uniform(-0.2, 1.2) * big_w, rng.uniform(-0.2, 1.2) * big_h] for _ in range(3)] + [[big_w * 1.3, big_h * 1.3]])
        picture = picture * (1 - rng.uniform(0.15, 0.4) * _soft_polygon((big_h, big_w), points, big_w * rng.uniform(0.01, 0.05)))[..., None]
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (xs * np.cos(angle) + ys * np.sin(angle)) / np.hypot(big_w, big_h)
    ramp = (ramp - ramp.min()) / max(float(np.ptp(ramp)), 1e-6)
    light = rng.uniform(0.6, 0.95) + ramp * rng.uniform(0.1, 0.45)
    vignette = 1 - 0.25 * (((xs / big_w - 0.5) ** 2 + (ys / big_h - 0.5) ** 2) * 2) * rng.uniform(0, 1)
    picture = picture * (light * vignette)[..., None]
    picture = cv2.resize(picture, (width, height), interpolation=cv2.INTER_AREA)
    sigma = rng.uniform(0.0, 1.2)
    if sigma > 0.3:
        picture = cv2.GaussianBlur(picture, (0, 0), sigma)
    picture = picture + rng.normal(0, rng.uniform(1.5, 5), picture.shape).astype(np.float32)
    image = _jpeg(np.clip(picture, 0, 255).astype(np.uint8), int(rng.integers(72, 93)))
    ratio = pw / ph
    flat = Image.fromarray(np.clip(sheet * alpha[..., None] + 255 * (1 - alpha[..., None]), 0, 255).astype(np.uint8))
    return PhonePicture(image, (corners / 2).astype(np.float64), ratio, format_name, scene, flat)


def clean_scan(photo: np.ndarray, seed: int, long_side: int = 1200) -> Image.Image:
    """A flatbed scan already cropped to the print: the print fills the picture, maybe with its white
    border, a hair of the scanner lid at one edge, a tilt under a degree, grain and JPEG."""
    rng = np.random.default_rng(seed)
    ratio = float(rng.choice(list(FORMATS.values())))
    width, height = (long_side, round(long_side / ratio)) if rng.random() < 0.5 else (round(long_side / ratio), long_side)
    sheet, alpha, _ = make_print(photo, rng, long_side=long_side, format_name=None, corner_style="square")
    pixels = cv2.resize(sheet, (width, height), interpolation=cv2.INTER_AREA)
    if rng.random() < 0.3:  # laid a little crooked on the glass, cropped square by the scanner software
        turn = cv2.getRotationMatrix2D((width / 2, height / 2), rng.uniform(-1, 1), 1.0)
        pixels = cv2.warpAffine(pixels, turn, (width, height), borderMode=cv2.BORDER_CONSTANT, borderValue=(250, 250, 250))
    if rng.random() < 0.3:  # the scanner lid's edge: a thin dark line along one side
        thickness = int(rng.integers(1, 4))
        side = rng.integers(4)
        region = [(slice(0, thickness), slice(None)), (slice(None), slice(width - thickness, width)),
                  (slice(height - thickness, height), slice(None)), (slice(None), slice(0, thickness))][side]
        pixels[region] *= 0.3
    pixels = pixels + rng.normal(0, rng.uniform(1, 4), pixels.shape).astype(np.float32)
    return _jpeg(np.clip(pixels, 0, 255).astype(np.uint8), int(rng.integers(80, 96)))


def _jpeg(pixels: np.ndarray, quality: int) -> Image.Image:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=quality)
    with Image.open(io.BytesIO(buffer.getvalue())) as decoded:
        return decoded.convert("RGB")

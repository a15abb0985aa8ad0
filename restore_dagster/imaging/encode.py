"""Web encodings: the smallest JPEG, WebP or AVIF that still looks like the restored picture, and lossless stage files.

``encode_smallest`` searches each format's quality for the lowest one whose fidelity against the
original meets both floors of :mod:`~restore_dagster.imaging.fidelity` (SSIM on a screen and at
1:1; both fall monotonically with quality, so the lowest quality is tried first and then a binary
search finds it), then keeps the smallest result that also fits the byte cap. On a large picture
the search runs on a *proxy*: a mosaic of full-resolution tiles sampled across the picture, scored
at the scales the whole picture would be scored at, the seams between tiles left out. Compression
artefacts are local (8×8 and 16×16 blocks, tiles aligned to them), so the proxy needs nearly the
same quality as the whole. The whole picture is then encoded where the proxy points, its real
scores correct the proxy's bias, and the search finishes on the whole picture only if the corrected
guess still falls short: one to seven encodes of one megapixel and one or two of the whole picture
per format, instead of seven of the whole.

``encode_for_web`` adds a JPEG for downloads when the smallest file is a WebP or an AVIF: the
lowest JPEG quality that meets the same floors, which the search has already found.

WebP is encoded with method 2 unless its lowest quality already passes at method 4 (see
:class:`~restore_dagster.imaging.web_formats.Webp`), and a format whose proxy predicts a file over
5 % larger than the proxy's prediction for a format listed before it is dropped before its
full-size encodes (the pruning): that is how a 4K picture's search fits in 2 s on two cores.

The search uses both cores of a small machine without changing what it chooses (Pillow's encoders
and decoders, OpenCV and NumPy release the GIL): the formats are searched side by side, each
waiting for the formats listed before it only for their proxies' predictions (the pruning); the
whole picture's reference statistics are computed while the proxy is built; and each proxy
bisection step also starts, on the other core, the step that follows if the probe's outcome is the
one its neighbours' scores predict. The probes that decide are the sequential search's, so the
qualities found are the same (the scores are not quite monotone in quality near the floor, so any
other search order could land elsewhere); a wrong prediction only costs the speculative probe's CPU
time.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

from PIL import Image, ImageChops, features

from .errors import EncodeError
from .fidelity import DETAIL_FLOOR, SCREEN_FLOOR, Fidelity, FidelityReference, Floors
from .sampling import area_scale
from .ssim import SSIM_MAX_PIXELS
from .web_formats import ENCODERS, Encoder, FileMetadata

# The search never goes below 40: under it, JPEG's 8×8 blocks and WebP's smearing show as soon as a
# phone zooms in, which an SSIM measured at screen size cannot see. Above 95 a JPEG grows fast and
# gains nothing visible (the Pillow documentation's advice too).
QUALITY_RANGE = (40, 95)
# Tile side of the proxy mosaic: a multiple of 16 so JPEG's 4:2:0 MCUs and WebP's macroblocks fall
# on the same grid in a tile as in the whole picture.
_TILE = 256
# Pictures up to this many pixels are searched directly; larger ones through a mosaic of this size.
_PROXY_PIXELS = 1_048_576
# Encodes, decodes and scores run on this many threads: the 2 cores of the machine the 2 s target is
# set for. One more would only let a speculative probe steal time from one that decides.
_WORKERS = 2


@dataclass
class Encoded:
    """One encoded picture, ready to write to the gallery."""

    data: bytes
    format: str  # "JPEG", "WEBP" or "AVIF"
    quality: int
    ssim: float  # at screen scale, against the picture it was encoded from, as :func:`~restore_dagster.imaging.ssim` measures
    detail_1to1: float  # share of the fine texture kept at full resolution (see :mod:`~restore_dagster.imaging.fidelity`)
    width: int
    height: int

    @property
    def fidelity(self) -> Fidelity:
        return Fidelity(self.ssim, self.detail_1to1)


@dataclass
class WebEncoding:
    """The file to show (the smallest that meets the floors) and a JPEG for downloads (the same
    object when the smallest is a JPEG): every program opens a JPEG, not yet every one an AVIF."""

    web: Encoded
    download: Encoded


def encode_smallest(
    image: Image.Image,
    ssim_floor: float = SCREEN_FLOOR,
    max_bytes: int = 4_000_000,
    formats: tuple[str, ...] = ("JPEG", "WEBP"),
    exif: bytes = b"",
    comment: str = "",
    icc_profile: bytes | None = None,
    detail_floor_1to1: float = DETAIL_FLOOR,
) -> Encoded:
    """The smallest encoding among ``formats`` whose SSIM is ≥ ``ssim_floor`` on a screen and that
    keeps ≥ ``detail_floor_1to1`` of the fine texture at 1:1, in at most ``max_bytes`` bytes.

    ``exif`` (a scan's kept EXIF) is written with ``comment`` added as UserComment, as the
    ImageDescription when the photo has none, and for JPEG as a COM marker too. Raises
    :class:`EncodeError` naming, for each format, what it reached, when none meets both limits:
    the caller decides whether to relax the floor, raise the cap or shrink the picture.
    """
    return encode_for_web(image, ssim_floor, max_bytes, formats, exif, comment, icc_profile, detail_floor_1to1, download=False).web


def encode_for_web(
    image: Image.Image,
    ssim_floor: float = SCREEN_FLOOR,
    max_bytes: int = 4_000_000,
    formats: tuple[str, ...] = ("JPEG", "WEBP"),
    exif: bytes = b"",
    comment: str = "",
    icc_profile: bytes | None = None,
    detail_floor_1to1: float = DETAIL_FLOOR,
    download: bool = True,
) -> WebEncoding:
    """:func:`encode_smallest`'s file, and with ``download`` a JPEG for downloads beside it.

    The JPEG is the lowest quality meeting the same floors, found by the same search (JPEG is
    searched even when not among ``formats``); the byte cap does not apply to it, since it is a
    download, not what the page loads. When no JPEG quality reaches the floors, the highest allowed
    is kept and its scores say so.
    """
    unknown = [name for name in formats if name.upper() not in ENCODERS]
    if unknown or not formats:
        raise ValueError(f"encode_smallest: formats must be a non-empty subset of {tuple(ENCODERS)}, got {formats!r}")
    if "AVIF" in (name.upper() for name in formats) and not features.check("avif"):
        raise ValueError("encode_smallest: this Pillow was built without AVIF (libavif); leave AVIF out of the formats")
    if image.width == 0 or image.height == 0:
        raise ValueError(f"encode_smallest: cannot encode a zero-size image ({image.width}×{image.height})")
    if image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    if image.mode == "RGB" and _exactly_grey(image):
        image = image.convert("L")  # JPEG then stores one channel instead of three; WebP has no grey mode
    floors = Floors(ssim_floor, detail_floor_1to1)
    metadata = FileMetadata(exif, comment, icc_profile, image.size)
    names = [name.upper() for name in formats]
    # JPEG is searched even when not among the formats: it is the download, unless the web file is one.
    searched = names + (["JPEG"] if download and "JPEG" not in names else [])
    workers = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="encode")
    # One thread per format, and one for the whole picture's reference statistics, which are only
    # needed at the first full-size score: computed meanwhile, on a thread of their own, so that the
    # proxies' first probes start at once on both workers.
    searches = ThreadPoolExecutor(max_workers=len(searched) + 1, thread_name_prefix="encode-search")
    try:
        reference = _PendingReference(searches.submit(FidelityReference, image))
        proxy = _proxy(image, area_scale(image.size, SSIM_MAX_PIXELS))
        # Each format's search announces its predicted bytes once its proxy is bisected.
        predictions: list[Future[float | None]] = [Future() for _ in searched]
        outcomes: list[Future[_Outcome]] = []
        for index, name in enumerate(searched):
            # With a download, JPEG (among the formats or added for it) is searched through even when
            # another format already won: it is compared with nothing.
            beat = None if name == "JPEG" and download else _SmallestPredicted(predictions[:index], max_bytes)
            outcomes.append(searches.submit(_search_announcing, predictions[index], ENCODERS[name], image, reference,
                                            proxy, floors, metadata, beat, workers))
        results = [outcome.result() for outcome in outcomes]
    finally:
        # Speculative probes still running are of no use: they are left to finish, not waited for.
        searches.shutdown(wait=False, cancel_futures=True)
        workers.shutdown(wait=False, cancel_futures=True)
    passing: list[Encoded] = []
    failures: list[str] = []
    jpeg: Encoded | None = None
    for name, outcome in zip(searched, results):
        if name == "JPEG":
            jpeg = outcome.encoded
        if outcome.pruned or name not in names:
            continue
        if outcome.failure:
            failures.append(outcome.failure)
        elif len(outcome.encoded.data) > max_bytes:
            failures.append(f"{name}: quality {outcome.encoded.quality} is the lowest to reach "
                            f"{outcome.encoded.fidelity.describe()} and takes {len(outcome.encoded.data):,} bytes")
        else:
            passing.append(outcome.encoded)
    if not passing:
        raise EncodeError(
            f"no encoding of the {image.width}×{image.height} picture reaches SSIM {ssim_floor} on a screen and "
            f"keeps {detail_floor_1to1} of its detail at 1:1 within {max_bytes:,} bytes: " + "; ".join(failures)
        )
    web = min(passing, key=lambda encoded: len(encoded.data))
    if not download or web.format == "JPEG":
        return WebEncoding(web, web)
    return WebEncoding(web, jpeg)


class _PendingReference:
    """The whole picture's :class:`FidelityReference`, still being computed on a worker: scoring waits for it."""

    def __init__(self, future: Future[FidelityReference]) -> None:
        self._future = future

    def score(self, candidate: Image.Image) -> Fidelity:
        return self._future.result().score(candidate)


class _SmallestPredicted:
    """The bytes a format must beat: the smallest of the proxy's predictions for the formats listed
    before it, each announced once that format's proxy is bisected, so that a format waits for the
    earlier ones' proxies, not for their full-size encodes. Predictions compared with predictions,
    the proxy's sampling error cancels out (see :data:`_PRUNE_MARGIN`). A prediction too near the byte
    cap to be sure the file will fit it sets no bar: the format it belongs to may yet fail the cap."""

    def __init__(self, earlier: list[Future[float | None]], max_bytes: int) -> None:
        self._earlier = earlier
        self._max_bytes = max_bytes

    def __call__(self) -> float | None:
        sizes = [future.result() for future in self._earlier]
        return min((size for size in sizes if size is not None and size * _PREDICTION_SPREAD <= self._max_bytes),
                   default=None)


def _search_announcing(announced: Future[float | None], *search) -> _Outcome:
    """:func:`_best_for_format`, making sure its prediction is announced (as None: no bar) however it
    ends, so that no later format waits for ever."""
    try:
        return _best_for_format(*search, announce=announced.set_result)
    finally:
        if not announced.done():
            announced.set_result(None)


@dataclass
class _Proxy:
    image: Image.Image
    reference: FidelityReference


def _proxy(image: Image.Image, scale: float) -> _Proxy:
    """A mosaic of evenly spread full-resolution tiles, or the picture itself when it is small.

    A long thin strip (a panorama under two tiles high) is searched whole: tiles would not fit.
    """
    if image.width * image.height <= _PROXY_PIXELS or min(image.size) < 2 * _TILE:
        return _Proxy(image, FidelityReference(image, scale))
    per_side = max(1, math.isqrt(_PROXY_PIXELS // (_TILE * _TILE)))
    mosaic = Image.new(image.mode, (per_side * _TILE, per_side * _TILE))
    lefts = _spread(image.width, per_side)
    tops = _spread(image.height, per_side)
    for row, top in enumerate(tops):
        for column, left in enumerate(lefts):
            tile = image.crop((left, top, left + _TILE, top + _TILE))
            mosaic.paste(tile, (column * _TILE, row * _TILE))
    return _Proxy(mosaic, FidelityReference(mosaic, scale, _TILE))


def _spread(length: int, count: int) -> list[int]:
    """``count`` tile origins spread evenly over ``length``, on the 16-pixel grid, tiles inside the picture."""
    last = max(0, length - _TILE)
    return [min(last, (round(last * index / max(count - 1, 1)) // 16) * 16) for index in range(count)]


@dataclass
class _Outcome:
    """A format's lowest quality meeting the floors (or its highest allowed, with ``failure`` saying why
    not), or ``pruned``: the proxy says it would be larger than a format listed before it."""

    encoded: Encoded | None
    failure: str = ""
    pruned: bool = False


# A format is dropped before its full-size encodes when the proxy predicts a file this much larger
# than the smallest predicted for the formats before it. Prediction compared with prediction, the
# proxy's sampling error cancels out: on ten 4K pictures (grainy, smooth and upscaled from small
# scans) its predictions were 0.87–1.21 of the files' bytes, but the ratio of its WebP and JPEG
# predictions was within about 10 % of the files' ratio. A WebP that loses costs a full-size encode,
# decode and score (1.0–1.3 s of a 4K picture's 2 s), so the margin is narrow: a WebP predicted 5 %
# larger than the JPEG is not searched through, at the risk of missing one a few per cent smaller.
_PRUNE_MARGIN = 1.05
# How far a prediction may fall short of the file's bytes (0.87 at worst, above): a prediction
# within this factor of the byte cap sets no bar.
_PREDICTION_SPREAD = 1.25


def _best_for_format(
    encoder: Encoder,
    image: Image.Image,
    reference: FidelityReference | _PendingReference,
    proxy: _Proxy,
    floors: Floors,
    metadata: FileMetadata,
    beat: float | None | Callable[[], float | None] = None,
    workers: ThreadPoolExecutor | None = None,
    announce: Callable[[float | None], None] | None = None,
) -> _Outcome:
    """The lowest passing quality's full encoding; ``pruned`` when the proxy predicts more than
    :data:`_PRUNE_MARGIN` times ``beat`` bytes for it (the proxy's prediction for the smallest file
    found so far, or a function that waits for it).

    0. Settle the encoder: the format's ``where_lowest_passes`` variant if its probe at the lowest
    quality meets the floors on the proxy (WebP's method 4), else the format's own. 1. Search the
    quality on the proxy (lowest first, then bisect). 2. Encode the whole picture there: the
    difference between its scores and the proxy's is the proxy's bias on this picture. 3. Search
    the proxy again against the floors corrected by that bias, and encode the whole picture there.
    4. Only if that still falls short, search the whole picture between it and the lowest quality
    known to pass. One or two full encodes, rarely
    more than four: at 1:1 the proxy's tiles (seams left out) are a sample of the same measure, so
    its bias there is small and the second guess is usually the first.

    ``announce`` is called with the proxy's predicted bytes at the first guess (None when nothing
    passed, or the picture is searched whole) before any full-size encode, for the formats after
    this one to be pruned against.

    With ``workers``, the proxy probes run on them, each bisection step starting the probe that
    would follow its predicted outcome alongside (see :func:`_lowest_passing`).
    """
    name = encoder.name
    low, high = QUALITY_RANGE
    if encoder.max_side and max(image.size) > encoder.max_side:
        # Nothing to encode: a placeholder outcome whose failure the caller reports.
        placeholder = Encoded(b"", name, high, 0.0, 0.0, image.width, image.height)
        return _Outcome(placeholder, f"{name}: {image.width}×{image.height} exceeds {name}'s {encoder.max_side}-pixel side limit")
    probes: dict[int, Future[tuple[int, Fidelity]]] = {}
    full: dict[int, tuple[bytes, Fidelity]] = {}

    def run(probe_encoder: Encoder, quality: int) -> Future[tuple[int, Fidelity]]:
        if workers is not None:
            return workers.submit(_probe, probe_encoder, proxy, quality)
        done: Future[tuple[int, Fidelity]] = Future()
        done.set_result(_probe(probe_encoder, proxy, quality))
        return done

    variant = encoder.where_lowest_passes
    if variant is not None:
        # The variant's probe at the lowest quality decides the encoder, once, so that the search's
        # scores all come from one. The encoder's own first two probes start beside it, so that a
        # picture it fails (a grainy one) loses no time to the decision.
        deciding = run(variant, low)
        ahead = {quality: run(encoder, quality) for quality in (low, (low + 1 + high) // 2)} if workers is not None else {}
        if deciding.result()[1].meets(floors):
            encoder = variant
            probes[low] = deciding
            for future in ahead.values():
                future.cancel()  # (those already running finish, unread)
        else:
            probes.update(ahead)

    def start_probe(quality: int) -> None:
        if quality not in probes:
            probes[quality] = run(encoder, quality)

    def proxy_score(quality: int) -> Fidelity:
        start_probe(quality)
        return probes[quality].result()[1]

    def known_scores() -> dict[int, Fidelity]:
        """The probes finished so far: what a prediction may use without waiting."""
        return {quality: future.result()[1] for quality, future in list(probes.items()) if future.done()}

    def full_score(quality: int) -> Fidelity:
        if quality not in full:
            data = encoder.encode(image, quality, metadata)
            full[quality] = data, reference.score(_decode(data))
        return full[quality][1]

    speculate = (start_probe, known_scores) if workers is not None else None
    found = _lowest_passing(proxy_score, floors, low, high, speculate)
    first = found or high
    predicted = None
    if proxy.image is not image:  # (a picture searched whole has nothing to predict: its files are the search)
        proxy_score(first)  # (scored by the bisection already; this makes sure its size is known)
        predicted = probes[first].result()[0] * (image.width * image.height) / (proxy.image.width * proxy.image.height)
    if announce is not None:
        announce(predicted if found is not None else None)
    if beat is not None and predicted is not None:
        smallest = beat() if callable(beat) else beat
        if smallest is not None and predicted > _PRUNE_MARGIN * smallest:
            return _Outcome(None, f"{name}: about {predicted:,.0f} bytes predicted at quality {first}", pruned=True)
    bias = full_score(first).minus(proxy_score(first))
    second = _lowest_passing(proxy_score, floors.lowered(bias), low, high, speculate) or high
    if full_score(second).meets(floors):
        quality = second
    else:
        # The answer lies above the corrected guess and at or below the lowest quality already
        # known to pass on the whole picture (the first guess, when it passed).
        known_pass = min((q for q, (_, score) in full.items() if score.meets(floors)), default=high)
        quality = _lowest_passing(full_score, floors, second + 1, known_pass)
    failure = ""
    if quality is None:
        quality = high
        failure = f"{name}: {full_score(high).describe()} at quality {high}, the highest allowed, is below the floor"
    data, achieved = full[quality]
    encoded = Encoded(data=data, format=name, quality=quality, ssim=achieved.screen, detail_1to1=achieved.detail,
                      width=image.width, height=image.height)
    return _Outcome(encoded, failure)


def _probe(encoder: Encoder, proxy: _Proxy, quality: int) -> tuple[int, Fidelity]:
    """The proxy encoded at ``quality``: its bytes and its scores."""
    data = encoder.encode(proxy.image, quality)
    return len(data), proxy.reference.score(_decode(data))


def _lowest_passing(
    score: Callable[[int], Fidelity],
    floors: Floors,
    low: int,
    high: int,
    speculate: tuple[Callable[[int], None], Callable[[], dict[int, Fidelity]]] | None = None,
) -> int | None:
    """The lowest quality in [low, high] meeting the floors, assuming scores rise with quality; None if none does.

    The lowest quality is tried first; where it fails, the rest is bisected. With ``speculate`` (a
    function starting a probe without waiting, and one returning the scores known so far), the
    first middle is started beside the lowest, and each step also starts the next step's probe on
    the side its predicted outcome leads to, so that two steps take the time of one when the
    prediction holds. The steps taken, and so the answer, are the sequential search's whatever the
    predictions.
    """
    if low > high:
        return None
    # The lowest quality first: where it passes it is the answer, found in one probe instead of six
    # (a smooth picture's usual case). With speculation it is probed beside the first middle, so
    # that a picture it fails for (a grainy one) waits for no extra probe.
    if speculate is not None:
        start, known = speculate
        start(low)
        lowest = known().get(low)
        if lowest is None or not lowest.meets(floors):  # (a known pass needs no next step)
            start((low + 1 + high) // 2)
    if score(low).meets(floors):
        return low
    low += 1
    if low > high:
        return None
    while low < high:
        middle = (low + high) // 2
        if speculate is not None:
            start, known = speculate
            start(middle)
            passes = _predict_passes(known(), middle, floors)
            after_low, after_high = (low, middle) if passes else (middle + 1, high)
            if passes is not None and after_low < after_high:
                start((after_low + after_high) // 2)
        if score(middle).meets(floors):
            high = middle
        else:
            low = middle + 1
    return low if score(low).meets(floors) else None


def _predict_passes(known: dict[int, Fidelity], quality: int, floors: Floors) -> bool | None:
    """Whether ``quality`` will meet the floors, read from the scores of the probes done: linearly
    between the nearest probes below and above it, each measure on its own; from a pass below or a
    failure above alone (scores rise with quality). None, no speculation, where nothing says: a
    coin toss would waste a probe's CPU time half the time, which a busy machine pays for."""
    if quality in known:
        return known[quality].meets(floors)
    below = max((q for q in known if q < quality), default=None)
    above = min((q for q in known if q > quality), default=None)
    if below is not None and above is not None:
        share = (quality - below) / (above - below)
        lower, upper = known[below], known[above]
        return Fidelity(lower.screen + share * (upper.screen - lower.screen),
                        lower.detail + share * (upper.detail - lower.detail)).meets(floors)
    if below is not None and known[below].meets(floors):
        return True
    if above is not None and not known[above].meets(floors):
        return False
    return None


def _decode(data: bytes) -> Image.Image:
    with Image.open(io.BytesIO(data)) as decoded:
        decoded.load()
        return decoded if decoded.mode in ("RGB", "L") else decoded.convert("RGB")


def _exactly_grey(image: Image.Image) -> bool:
    red, green, blue = image.split()
    return ImageChops.difference(red, green).getbbox() is None and ImageChops.difference(green, blue).getbbox() is None


def encode_png(image: Image.Image) -> bytes:
    """A lossless PNG for stage files: zlib level 1, since stage files are rewritten often and read once."""
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


write_png_bytes = encode_png

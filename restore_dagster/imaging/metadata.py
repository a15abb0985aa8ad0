"""Write what the family knows about a photo into a finished JPEG or WebP, without re-encoding it.

Photo apps (Immich, Apple Photos, Google Photos, digiKam, Lightroom) read the date from EXIF
``DateTimeOriginal`` and captions, names and places from EXIF and XMP. ``describe_file`` rewrites the
EXIF block of an encoded file and adds an XMP packet; the compressed image data is copied byte for
byte, so publishing a new caption never changes a pixel.

- date: ``DateTimeOriginal``, ``CreateDate`` (DateTimeDigitized) and ``ModifyDate`` (DateTime) all
  get the family's date, so the scanner's date is replaced, not kept beside it for an app to prefer;
  sub-second and offset tags go with it, and ``OffsetTimeOriginal`` is written only when known.
  XMP ``photoshop:DateCreated`` keeps the real precision ("1962", "1962-06").
- caption: EXIF ``ImageDescription`` (UTF-8, as exiftool and the apps write it) and XMP ``dc:description``.
- people: XMP ``Iptc4xmpExt:PersonInImage`` (IPTC's field for names), ``dc:subject`` (keywords, which
  Apple Photos and Lightroom show and search) and ``digiKam:TagsList`` as ``People/<name>`` (the tags
  Immich and digiKam import).
- place: XMP ``Iptc4xmpCore:Location``; GPS only from the family's coordinates: a scan's own GPS is
  where it was scanned, so it is dropped whenever the family gives a place.

The XMP packet replaces any the file had (only a finished JPEG or WebP touch-up, published byte for
byte, can have one): its dates and titles would contradict the family's.
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass
from xml.sax.saxutils import escape

from PIL import Image
from PIL.TiffImagePlugin import IFDRational

from .errors import ImageError
from .exif import DATE_TIME, DATE_TIME_ORIGINAL, EXIF_IFD, GPS_IFD, IMAGE_DESCRIPTION, JPEG_EXIF_LIMIT, MAKER_NOTE

DATE_TIME_DIGITIZED = 0x9004
OFFSET_TIMES = (0x9010, 0x9011, 0x9012)  # OffsetTime, OffsetTimeOriginal, OffsetTimeDigitized
SUBSEC_TIMES = (0x9290, 0x9291, 0x9292)
_EXIF_HEADER = b"Exif\x00\x00"
_XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXTENSION_HEADER = b"http://ns.adobe.com/xmp/extension/\x00"
# One APP1 segment holds at most 65,533 bytes after its length field.
_JPEG_XMP_LIMIT = 65_533 - len(_XMP_HEADER)


@dataclass(frozen=True)
class PhotoFacts:
    """What to write. ``exif_datetime`` is ``YYYY:MM:DD HH:MM:SS``; ``xmp_date`` the reduced-precision ISO date."""

    exif_datetime: str = ""
    offset: str | None = None
    xmp_date: str = ""
    caption: str = ""
    place: str = ""
    coordinates: tuple[float, float] | None = None
    people: tuple[str, ...] = ()
    replace_gps: bool = False  # True when the family gave a place: the scan's own GPS goes

    def is_empty(self) -> bool:
        return not (self.exif_datetime or self.caption or self.place or self.coordinates or self.people)


def describe_file(data: bytes, facts: PhotoFacts) -> bytes:
    """``data`` (a JPEG or WebP) with ``facts`` in its EXIF and XMP; image data unchanged."""
    if data.startswith(b"\xff\xd8"):
        fmt = "JPEG"
    elif data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        fmt = "WEBP"
    else:
        raise ImageError("describe_file: only JPEG and WebP restorations can carry a description")
    with Image.open(io.BytesIO(data)) as image:
        exif = image.getexif()
        size = image.size
    tiff = _exif_with_facts(exif, facts, JPEG_EXIF_LIMIT if fmt == "JPEG" else None)
    xmp = xmp_packet(facts)
    if fmt == "JPEG":
        if len(xmp) > _JPEG_XMP_LIMIT:
            raise ImageError(f"describe_file: the description's XMP is {len(xmp)} bytes, more than one JPEG segment holds")
        return _jpeg_with(data, tiff, xmp)
    return _webp_with(data, tiff, xmp, size)


def _exif_with_facts(exif: Image.Exif, facts: PhotoFacts, limit: int | None) -> bytes:
    # Orientation is left as the file has it: the compressed stage's own files say 1 already, and a
    # finished JPEG touch-up published byte for byte may rely on its own.
    exif_ifd = dict(exif.get_ifd(EXIF_IFD))
    if facts.exif_datetime:
        for tag in OFFSET_TIMES + SUBSEC_TIMES:
            exif_ifd.pop(tag, None)
        exif[DATE_TIME] = facts.exif_datetime
        exif_ifd[DATE_TIME_ORIGINAL] = exif_ifd[DATE_TIME_DIGITIZED] = facts.exif_datetime
        if facts.offset:
            for tag in OFFSET_TIMES:
                exif_ifd[tag] = facts.offset
    if facts.caption:
        # EXIF says ASCII, but every reader that matters takes UTF-8 here (exiftool writes it so).
        exif[IMAGE_DESCRIPTION] = facts.caption.encode("utf-8")
    if facts.replace_gps or facts.coordinates:
        exif.get_ifd(GPS_IFD)  # loads it so that deleting works
        if GPS_IFD in exif:
            del exif[GPS_IFD]
    if facts.coordinates:
        exif[GPS_IFD] = _gps_ifd(*facts.coordinates)
    if exif_ifd:
        exif[EXIF_IFD] = exif_ifd
    data = exif.tobytes()
    if limit is not None and len(data) > limit and MAKER_NOTE in exif_ifd:
        del exif_ifd[MAKER_NOTE]  # an opaque vendor blob goes first, as when the restoration was encoded
        exif[EXIF_IFD] = exif_ifd
        data = exif.tobytes()
    if limit is not None and len(data) > limit:
        raise ImageError(f"describe_file: the EXIF block with the description is {len(data)} bytes, over JPEG's {limit}")
    return data[len(_EXIF_HEADER):] if data.startswith(_EXIF_HEADER) else data


def _gps_ifd(latitude: float, longitude: float) -> dict:
    def dms(value: float) -> tuple:
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
        return (IFDRational(degrees, 1), IFDRational(minutes, 1), IFDRational(seconds, 10000))

    return {
        0: b"\x02\x02\x00\x00",  # GPSVersionID 2.2
        1: "N" if latitude >= 0 else "S",
        2: dms(latitude),
        3: "E" if longitude >= 0 else "W",
        4: dms(longitude),
    }


def xmp_packet(facts: PhotoFacts) -> bytes:
    """An XMP packet with the caption, names, place and reduced-precision date (UTF-8)."""
    fields = []
    if facts.caption:
        fields.append(f'<dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_xml(facts.caption)}</rdf:li></rdf:Alt></dc:description>')
    if facts.people:
        names = "".join(f"<rdf:li>{_xml(name)}</rdf:li>" for name in facts.people)
        fields.append(f"<dc:subject><rdf:Bag>{names}</rdf:Bag></dc:subject>")
        fields.append(f"<Iptc4xmpExt:PersonInImage><rdf:Bag>{names}</rdf:Bag></Iptc4xmpExt:PersonInImage>")
        # Immich imports tags from TagsList (a "/" makes a hierarchy): the names arrive as People › Anna.
        tags = "".join(f"<rdf:li>People/{_xml(name.replace('/', '∕'))}</rdf:li>" for name in facts.people)
        fields.append(f"<digiKam:TagsList><rdf:Seq>{tags}</rdf:Seq></digiKam:TagsList>")
    if facts.xmp_date:
        fields.append(f"<photoshop:DateCreated>{_xml(facts.xmp_date)}</photoshop:DateCreated>")
    if facts.place:
        fields.append(f"<Iptc4xmpCore:Location>{_xml(facts.place)}</Iptc4xmpCore:Location>")
    body = "".join(fields)
    packet = (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/"'
        ' xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/"'
        ' xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"'
        ' xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"'
        ' xmlns:digiKam="http://www.digikam.org/ns/1.0/">'
        f"{body}</rdf:Description></rdf:RDF></x:xmpmeta>"
        '<?xpacket end="w"?>'
    )
    return packet.encode("utf-8")


def _xml(text: str) -> str:
    # Line breaks in a caption survive as character references; other control characters never get here.
    return escape(text).replace("\n", "&#xA;")


# --- containers -----------------------------------------------------------------------------------

def _jpeg_with(data: bytes, tiff: bytes, xmp: bytes) -> bytes:
    """The JPEG with its EXIF and XMP APP1 segments replaced; every other byte copied."""
    out = [b"\xff\xd8"]
    position, inserted = 2, False
    new_segments = _segment(0xE1, _EXIF_HEADER + tiff) + _segment(0xE1, _XMP_HEADER + xmp)
    while position + 4 <= len(data):
        if data[position] != 0xFF:
            raise ImageError("describe_file: a broken JPEG (no marker where one should be)")
        marker = data[position + 1]
        if marker == 0xFF:  # fill byte
            position += 1
            continue
        if marker == 0xDA or not 0xC0 <= marker <= 0xFE:  # start of scan: the rest is image data
            break
        length = struct.unpack(">H", data[position + 2:position + 4])[0]
        segment = data[position:position + 2 + length]
        if not inserted and marker != 0xE0:  # after the JFIF APP0, before everything else
            out.append(new_segments)
            inserted = True
        payload = segment[4:]
        ours = marker == 0xE1 and payload.startswith((_EXIF_HEADER, _XMP_HEADER, _XMP_EXTENSION_HEADER))
        if not ours:
            out.append(segment)
        position += 2 + length
    if not inserted:
        out.append(new_segments)
    out.append(data[position:])
    return b"".join(out)


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _webp_with(data: bytes, tiff: bytes, xmp: bytes, size: tuple[int, int]) -> bytes:
    """The WebP with its EXIF and XMP chunks replaced (extended format, VP8X flags set)."""
    chunks: list[tuple[bytes, bytes]] = []
    position = 12
    while position + 8 <= len(data):
        fourcc = data[position:position + 4]
        length = struct.unpack("<I", data[position + 4:position + 8])[0]
        chunks.append((fourcc, data[position + 8:position + 8 + length]))
        position += 8 + length + (length & 1)
    if not chunks:
        raise ImageError("describe_file: a WebP without chunks")
    chunks = [(fourcc, payload) for fourcc, payload in chunks if fourcc not in (b"EXIF", b"XMP ")]
    if chunks[0][0] == b"VP8X":
        header = bytearray(chunks[0][1])
        chunks = chunks[1:]
    else:  # the simple format: a VP8X header is needed for metadata chunks
        width, height = size
        header = bytearray(b"\x00\x00\x00\x00" + (width - 1).to_bytes(3, "little") + (height - 1).to_bytes(3, "little"))
    header[0] |= 0x08 | 0x04  # EXIF and XMP present
    chunks = [(b"VP8X", bytes(header)), *chunks, (b"EXIF", tiff), (b"XMP ", xmp)]
    body = b"".join(
        fourcc + struct.pack("<I", len(payload)) + payload + (b"\x00" if len(payload) & 1 else b"")
        for fourcc, payload in chunks
    )
    return b"RIFF" + struct.pack("<I", 4 + len(body)) + b"WEBP" + body

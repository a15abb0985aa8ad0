"""The two ways an image helper refuses its input.

Both are ``ValueError`` subclasses so a caller that validates user uploads can catch one family;
the message always says which file (or which image) and why, because it ends up in a Dagster run
log or a gallery warning that a person reads.
"""


class ImageError(ValueError):
    """A file cannot become a scan: not an image, truncated, corrupt, too large, or empty."""


class EncodeError(ValueError):
    """No encoding reaches the quality floor within the byte budget; the message says how close each format came."""


class NotAnImage(ImageError):
    """The bytes are not an image in a supported format (the web upload answers 415)."""


class ImageTooLarge(ImageError):
    """More pixels than the limit, declared in the header: a decompression bomb or an absurd scan (413)."""

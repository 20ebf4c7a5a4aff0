"""Uploaded pictures made safe to serve: decoded, re-encoded and resized with Pillow.

Re-encoding keeps only pixels: EXIF (camera, GPS position), ICC profiles and anything a
crafted file carries in its metadata are dropped. CPU work: call it in a thread.
"""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

ALLOWED_FORMATS = {"PNG", "JPEG", "WEBP"}
MAX_UPLOAD_BYTES = 2 * 1024 * 1024
# Pixels decoded at most: a small file can declare a huge image (a decompression bomb).
MAX_PIXELS = 40_000_000
AVATAR_SIZE = 256


class InvalidImage(ValueError):
    """The upload is not a picture this site takes; the message says why."""


def make_avatar(data: bytes) -> bytes:
    """A square AVATAR_SIZE px WebP of the uploaded picture, centre-cropped."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise InvalidImage("The picture is larger than 2 MB.")
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ALLOWED_FORMATS:
                raise InvalidImage("Upload a PNG, JPEG or WebP picture.")
            if image.width * image.height > MAX_PIXELS:
                raise InvalidImage("The picture has too many pixels.")
            upright = ImageOps.exif_transpose(image)  # phones store rotation in EXIF
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or "transparency" in upright.info
            square = ImageOps.fit(
                upright.convert("RGBA" if has_alpha else "RGB"),
                (AVATAR_SIZE, AVATAR_SIZE),
                Image.Resampling.LANCZOS,
            )
    except InvalidImage:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as error:
        raise InvalidImage("The file is not a picture this site can read.") from error
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt data
        raise InvalidImage("The picture could not be read; it may be damaged.") from error
    out = io.BytesIO()
    square.save(out, "WEBP", quality=85, method=4)
    return out.getvalue()

"""Image references as the OpenAI surfaces send them (URL or data URL) -> ImagePart."""

from __future__ import annotations

from splitlane.core.parts import ImagePart


def image_from_url(url: str) -> ImagePart:
    if url.startswith("data:") and ";base64," in url:
        header, data = url[5:].split(";base64,", 1)
        return ImagePart(media_type=header or "image/png", data=data)
    return ImagePart(url=url)

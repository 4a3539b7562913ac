"""Product pictures made here: the seeded image URLs point nowhere, so every product gets a
deterministic SVG drawn from its id (the same id, the same picture, on every replica and
every day), cached by browsers for a year."""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

router = APIRouter(include_in_schema=False)
ProductId = Annotated[str, Path(pattern=r"^[A-Za-z0-9_.:-]{1,100}$")]


def product_svg(product_id: str, size: int = 480) -> str:
    """A soft two-colour background, a few shapes and a shade, all chosen by sha256(id)."""
    h = hashlib.sha256(product_id.encode()).digest()
    hue1, hue2 = h[0] * 360 // 256, (h[0] * 360 // 256 + 40 + h[1] % 120) % 360
    shapes = []
    for i in range(5):
        b = h[2 + i * 5 : 7 + i * 5]
        x, y = 40 + b[0] * 400 // 256, 40 + b[1] * 400 // 256
        r = 30 + b[2] % 90
        hue = (hue1 + b[3] % 180) % 360
        opacity = 0.25 + (b[4] % 50) / 100
        if b[4] % 3 == 0:
            shapes.append(
                f'<circle cx="{x}" cy="{y}" r="{r}" fill="hsl({hue},65%,55%)" '
                f'fill-opacity="{opacity:.2f}"/>'
            )
        elif b[4] % 3 == 1:
            shapes.append(
                f'<rect x="{x - r}" y="{y - r}" width="{2 * r}" height="{2 * r}" rx="{r // 4}" '
                f'transform="rotate({b[3] % 90} {x} {y})" fill="hsl({hue},60%,50%)" '
                f'fill-opacity="{opacity:.2f}"/>'
            )
        else:
            shapes.append(
                f'<polygon points="{x},{y - r} {x + r},{y + r} {x - r},{y + r}" '
                f'fill="hsl({hue},70%,45%)" fill-opacity="{opacity:.2f}"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" '
        f'viewBox="0 0 480 480" role="img">'
        f'<defs><linearGradient id="g" x1="0" y1="0" x2="1" y2="1">'
        f'<stop offset="0" stop-color="hsl({hue1},70%,92%)"/>'
        f'<stop offset="1" stop-color="hsl({hue2},60%,80%)"/></linearGradient></defs>'
        f'<rect width="480" height="480" fill="url(#g)"/>{"".join(shapes)}</svg>'
    )


@router.get("/images/products/{product_id}.svg")
async def product_image(
    product_id: ProductId, s: Annotated[int, Query(ge=32, le=1200)] = 480
) -> Response:
    return Response(
        product_svg(product_id, s),
        media_type="image/svg+xml",
        headers={
            "Cache-Control": "public, max-age=31536000, immutable",
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
            "X-Content-Type-Options": "nosniff",
        },
    )

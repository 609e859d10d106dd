"""Write the golden vectors of docs/preprocessing.md: input pictures and the exact 28x28 input each must give.

    python tests/golden/make_preprocess_vectors.py     # rewrites tests/golden/preprocess/

Run it only when the spec changes on purpose: the Python, Kotlin and JavaScript conversions
are all held to these files. Pictures are PNG (lossless: every decoder gives the same pixels),
rendered from official *test* garments and a few hand-made edge cases. Each expected output is a
text file of H lines of W grey levels, readable in any language without an image library.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from fmnist_edge.data import load_fashion_mnist
from fmnist_edge.photo.render import CARELESS, render_photo
from fmnist_edge.photo.conversion import NoGarmentError, grey_pixels, negate_if_light, to_model_input

HERE = Path(__file__).parent / "preprocess"
SIZE = (28, 28)


def _rendered(data, index: int, max_side: int, careless: str | None = None) -> Image.Image:
    """A rendered photo of test garment `index` (with one careless condition), shrunk so its long side is at
    most max_side (small files)."""
    extra = np.random.default_rng([7, index, 1 + CARELESS.index(careless)]) if careless else None
    photo = render_photo(data.x_test[index], np.random.default_rng([7, index]), index, careless, extra)
    image = photo.image
    scale = max_side / max(image.size)
    if scale < 1:
        image = image.resize((max(1, round(image.size[0] * scale)), max(1, round(image.size[1] * scale))),
                             Image.Resampling.BOX)
    return image


def pictures(data) -> dict[str, Image.Image]:
    cases: dict[str, Image.Image] = {}
    for i, (index, side) in enumerate([(0, 400), (1, 320), (2, 260), (3, 240), (4, 200), (5, 380), (6, 300),
                                       (7, 150), (8, 360), (9, 220), (10, 400), (11, 96), (12, 180)]):
        cases[f"{i:02d}_photo_{index}"] = _rendered(data, index, side)
    garment = data.x_test[13]
    # A transparent PNG: the garment drawn dark on a transparent canvas (alpha on white makes it dark-on-light).
    rgba = np.zeros((120, 90, 4), np.uint8)
    big = np.asarray(Image.fromarray(garment).resize((80, 80), Image.Resampling.BILINEAR))
    rgba[20:100, 5:85, :3] = (40, 30, 120)
    rgba[20:100, 5:85, 3] = big
    cases["13_transparent_rgba"] = Image.fromarray(rgba, "RGBA")
    # A grey picture with a strong gradient and the garment light on dark.
    yy, xx = np.mgrid[0:150, 0:110]
    wall = 20 + 50 * xx / 110 + 10 * yy / 150
    g = np.asarray(Image.fromarray(data.x_test[14]).resize((70, 70), Image.Resampling.BICUBIC), np.float64)
    wall[40:110, 20:90] += g * 0.7
    cases["14_grey_gradient"] = Image.fromarray(np.clip(wall + 0.5, 0, 255).astype(np.uint8), "L")
    # A tiny picture (smaller than 28 px on a side): upscaled.
    tiny = np.full((20, 16), 230, np.uint8)
    tiny[2:18, 2:14] = 230 - np.asarray(Image.fromarray(data.x_test[15]).resize((12, 16), Image.Resampling.BOX)) // 2
    cases["15_tiny"] = Image.fromarray(tiny, "L")
    # A very wide and a very tall picture.
    cases["16_wide"] = _rendered(data, 16, 400).resize((400, 120), Image.Resampling.BOX)
    cases["17_tall"] = _rendered(data, 17, 400).resize((110, 400), Image.Resampling.BOX)
    # Exactly the model's size: taken as it is (step 0).
    cases["18_exact_size"] = Image.fromarray(data.x_test[18], "L")
    # Nothing to find: a uniform picture, and a picture of pure noise.
    cases["19_uniform"] = Image.fromarray(np.full((64, 80, 3), (200, 190, 170), np.uint8), "RGB")
    cases["20_noise_only"] = Image.fromarray(np.random.default_rng(20).integers(0, 256, (60, 60), np.uint8), "L")
    # One case per careless condition (a crooked phone, a vignette with a flash hot spot, ...), at full size
    # where it is small enough, so the fitted background meets vignettes, edge garments and objects.
    for i, careless in enumerate(CARELESS, start=21):
        cases[f"{i:02d}_careless_{careless}"] = _rendered(data, i, 320, careless)
    # A flash's hot spot larger than the garment and apart from it: the region with the outline wins (step 6),
    # where the largest region would be the spot.
    cases["29_flash_spot_apart"] = _rendered(data, 35, 320, "flash")
    # A wood-grain wall (25_careless_texture is a woven one): stripes a few working pixels apart, which the
    # 3x3 mean of step 4 averages out of the mask.
    cases["30_texture_wood_grain"] = _rendered(data, 36, 320, "texture")
    # A wall whose texture the 3x3 mean leaves noisy on the border ring: step 4 reads the 5x5 mean instead.
    cases["33_texture_wide_mean"] = _rendered(data, 39, 320, "texture")
    # A garment turned 20 degrees either way on a plain wall, dark on light and light on dark: step 8b turns
    # it back upright (a positive tilt for a clockwise lean, a negative one for the other way).
    for name, index, degrees, wall in (("31_turned_clockwise", 37, -20, 225), ("32_turned_anticlockwise", 38, 24, 30)):
        garment = Image.fromarray(data.x_test[index]).resize((112, 112), Image.Resampling.BICUBIC)
        turned = np.asarray(garment.rotate(degrees, resample=Image.Resampling.BILINEAR, expand=True), np.float64)
        picture = np.full((turned.shape[0] + 40, turned.shape[1] + 60), float(wall))
        sign = -1 if wall > 128 else 1
        picture[20:20 + turned.shape[0], 30:30 + turned.shape[1]] += sign * 0.8 * turned
        cases[name] = Image.fromarray(np.clip(picture + 0.5, 0, 255).astype(np.uint8), "L")
    return cases


def main() -> None:
    data = load_fashion_mnist()
    HERE.mkdir(parents=True, exist_ok=True)
    for old in HERE.iterdir():
        old.unlink()
    manifest = []
    for name, image in pictures(data).items():
        picture = f"{name}.png"
        image.save(HERE / picture, format="PNG")
        pixels = np.asarray(Image.open(HERE / picture))
        grey = grey_pixels(pixels)
        entry = {"picture": picture, "width": int(grey.shape[1]), "height": int(grey.shape[0])}
        if grey.shape == SIZE:  # step 0
            output, inverted = negate_if_light(grey)
            entry |= {"exact_size": True, "inverted": inverted}
        else:
            try:
                converted = to_model_input(grey, SIZE)
            except NoGarmentError as exc:
                manifest.append(entry | {"error": "no garment", "message": str(exc)})
                continue
            output = converted.image
            entry |= {"inverted": converted.inverted, "reduction": converted.reduction,
                      "background": list(converted.background), "threshold": converted.threshold,
                      "box": list(converted.box), "tilt": converted.tilt}
        expected = f"{name}.expected.txt"
        (HERE / expected).write_text("\n".join(" ".join(str(int(v)) for v in row) for row in output) + "\n")
        manifest.append(entry | {"expected": expected})
    (HERE / "manifest.json").write_text(json.dumps({"size": list(SIZE), "cases": manifest}, indent=1) + "\n")
    print(f"wrote {len(manifest)} cases to {HERE}")


if __name__ == "__main__":
    main()

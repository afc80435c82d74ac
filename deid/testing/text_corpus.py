"""Synthetic burned-in-text corpus (issue 15): grey frames the way scanners and screen captures carry text.

python3 text_corpus.py OUT_DIR COUNT SEED
writes OUT_DIR/NNN.pgm (8-bit) and OUT_DIR/truth.json: [{file, width, height, lines: [{text, box:[x,y,w,h]}]}].
Every third image has no text (for the false-positive rate). Backgrounds: speckle (ultrasound-like), smooth
gradients with noise, dark fields with anatomy-like blobs. Text: names, IDs and dates in DejaVu Sans / Mono / Serif
(regular and bold), 9-26 px, white, light grey, mid grey or dark on light, near corners or edges.
"""
import json
import random
import sys

from PIL import Image, ImageDraw, ImageFilter, ImageFont

FONT_DIR = "/usr/share/fonts/truetype/dejavu/"
FONTS = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "DejaVuSansMono-Bold.ttf", "DejaVuSerif.ttf"]
FAMILY = ["SMITHSONIAN", "MUELLER", "GARCIA", "NGUYEN", "OKONKWO", "ROSSI", "KOWALSKI", "DUBOIS", "JOHANSSON"]
GIVEN = ["JOHANNA", "PETER", "MARIA", "AHMED", "LI", "SOFIA", "JAN", "CHLOE", "OLUWASEUN"]


def line(r):
    kind = r.randrange(5)
    if kind == 0:
        return f"{r.choice(FAMILY)}^{r.choice(GIVEN)}"
    if kind == 1:
        return f"{r.choice(FAMILY).title()}, {r.choice(GIVEN).title()}"
    if kind == 2:
        return f"MRN {r.randrange(10**6, 10**8)}"
    if kind == 3:
        return f"DOB {r.randrange(1930, 2020)}-{r.randrange(1, 13):02d}-{r.randrange(1, 29):02d}"
    return f"{r.randrange(1, 29):02d}.{r.randrange(1, 13):02d}.{r.randrange(1930, 2020)} ID:{r.randrange(10**5, 10**7)}"


def background(r, w, h):
    kind = r.randrange(3)
    img = Image.effect_noise((w, h), r.choice([20, 40, 60]))
    if kind == 0:  # speckle sector, ultrasound-like
        base = Image.new("L", (w, h), 0)
        d = ImageDraw.Draw(base)
        d.pieslice([w * 0.1, -h * 0.5, w * 0.9, h * 0.95], 55, 125, fill=r.randrange(60, 140))
        return Image.composite(img, base, base).filter(ImageFilter.GaussianBlur(0.6))
    if kind == 1:  # smooth gradient with noise
        grad = Image.linear_gradient("L").resize((w, h)).point(lambda v: v // 2 + r.randrange(0, 60))
        return Image.blend(grad, img, 0.25)
    base = Image.new("L", (w, h), r.randrange(0, 30))  # dark field with blobs
    d = ImageDraw.Draw(base)
    for _ in range(r.randrange(2, 6)):
        cx, cy, rad = r.randrange(w), r.randrange(h), r.randrange(20, max(21, w // 4))
        d.ellipse([cx - rad, cy - rad, cx + rad, cy + rad], fill=r.randrange(60, 200))
    return Image.blend(base.filter(ImageFilter.GaussianBlur(4)), img, 0.15)


def main():
    out, count, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = random.Random(seed)
    truth = []
    for i in range(count):
        w, h = r.choice([(256, 256), (512, 512), (640, 480), (800, 600), (320, 240)])
        img = background(r, w, h)
        lines = []
        if i % 3 != 2:
            d = ImageDraw.Draw(img)
            size = r.randrange(9, 27)
            font = ImageFont.truetype(FONT_DIR + r.choice(FONTS), size)
            fill = r.choice([255, 230, 200, 160])
            x0 = r.choice([4, 8, w // 2])
            y = r.choice([4, 8, h - 4 * (size + 4)])
            for _ in range(r.randrange(1, 4)):
                text = line(r)
                box = d.textbbox((x0, y), text, font=font)
                if box[2] >= w or box[3] >= h:
                    break
                d.text((x0, y), text, font=font, fill=fill)
                lines.append({"text": text, "box": [box[0], box[1], box[2] - box[0], box[3] - box[1]], "size": size})
                y += size + 4
        name = f"{i:03d}.pgm"
        img.save(f"{out}/{name}")
        truth.append({"file": name, "width": w, "height": h, "lines": lines})
    with open(f"{out}/truth.json", "w") as f:
        json.dump(truth, f)


main()

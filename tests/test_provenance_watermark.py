"""The Stable Diffusion invisible watermark, on images these tests mark themselves with a
reimplementation of invisible-watermark 0.2.0's dwtDct encoder (tests/test_provenance_support.py)."""

import cv2
import numpy as np
import pytest
import pywt

from fakelens import provenance
from fakelens.config import Settings
from fakelens.provenance import watermark
from test_provenance_support import imwatermark_encode, photo_like


def reference_decode(bgr, length, scale=36, block=4):
    """imwatermark 0.2.0's EmbedMaxDct.decode, loop for loop (pywt float arithmetic)."""
    row, col, _ = bgr.shape
    yuv = cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV)
    scores = [[] for _ in range(length)]
    ca1, _ = pywt.dwt2(yuv[:row // 4 * 4, :col // 4 * 4, 1], "haar")
    num = 0
    for i in range(ca1.shape[0] // block):
        for j in range(ca1.shape[1] // block):
            blk = ca1[i * block:(i + 1) * block, j * block:(j + 1) * block]
            pos = np.argmax(abs(blk.flatten()[1:])) + 1
            val = abs(blk[pos // block][pos % block])
            scores[num % length].append(1 if (val % scale) > 0.5 * scale else 0)
            num += 1
    return (np.array([np.mean(s) for s in scores]) * 255 > 127).astype(np.uint8)


@pytest.fixture(scope="module")
def image():
    return photo_like(512, 640, seed=3)


@pytest.mark.parametrize("mark", watermark.MARKS, ids=[m.name for m in watermark.MARKS])
def test_each_mark_round_trips(image, mark):
    marked = imwatermark_encode(image.copy(), mark.bits)
    result = watermark.find_marks(marked)
    assert result["found"] == mark.name and result["bit_accuracy"][mark.name] >= 0.95
    # the fast decoder reads exactly what imwatermark's own decoder reads
    assert np.array_equal(watermark.decode_bits(watermark.block_bits(marked), len(mark.bits)),
                          reference_decode(marked, len(mark.bits)))


def test_decoder_matches_reference_on_unmarked_image(image):
    for length in (32, 48, 136):
        assert np.array_equal(watermark.decode_bits(watermark.block_bits(image), length),
                              reference_decode(image, length))


def test_no_false_marks_on_unmarked_images():
    for seed in range(12):
        img = photo_like(384 + 8 * seed, 512, seed=100 + seed)
        result = watermark.find_marks(img)
        assert result["checked"] and result["found"] is None, result
        assert max(result["bit_accuracy"].values()) < watermark.MIN_BIT_ACCURACY


def test_survives_jpeg_95_but_not_80(image):
    """The mark is fragile, as upstream says: JPEG 95 keeps it, JPEG 80 wipes it."""
    mark = watermark.MARKS[2]
    marked = imwatermark_encode(image.copy(), mark.bits)
    q95 = cv2.imdecode(cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 95])[1], cv2.IMREAD_COLOR)
    q80 = cv2.imdecode(cv2.imencode(".jpg", marked, [cv2.IMWRITE_JPEG_QUALITY, 80])[1], cv2.IMREAD_COLOR)
    assert watermark.find_marks(q95)["found"] == mark.name
    assert watermark.find_marks(q80)["found"] is None


def test_small_image_is_not_checked():
    result = watermark.find_marks(photo_like(200, 200))
    assert result["checked"] is False and "too small" in result["reason"]


@pytest.mark.parametrize("size", [(3, 30000), (30000, 5)])
def test_a_strip_is_not_checked_and_says_why(size):
    """Large enough in area, but no whole 4×4 block of the band: said, not a traceback."""
    result = watermark.find_marks(np.full((*size, 3), 120, np.uint8))
    assert not result["checked"] and result["reason"].startswith("too narrow for the invisible watermark")


@pytest.mark.parametrize("size", [(255, 9000), (201, 16000), (254, 12000)])
def test_a_wide_banner_shorter_than_the_rows_read_is_checked(size):
    """Fewer rows than the 256 a wide picture is read by, not a multiple of 4: the rows it has are read
    (it crashed, and the verdict said the provenance was only partly checked)."""
    result = watermark.find_marks(np.random.default_rng(0).integers(0, 256, (*size, 3), dtype=np.uint8))
    assert result["checked"] and result["found"] is None and result["rows_read"] <= size[0]


def test_wide_image_reads_only_the_top_rows():
    mark = watermark.MARKS[1]
    img = photo_like(1200, 2400, seed=5)
    marked = imwatermark_encode(img, mark.bits)
    result = watermark.find_marks(marked, max_pixels=1_000_000)
    assert result["rows_read"] < 1200 and result["found"] == mark.name


def test_marked_png_gives_ai_verdict_through_check(tmp_path):
    mark = watermark.MARKS[1]             # SDV2
    path = tmp_path / "sd.png"
    cv2.imwrite(str(path), imwatermark_encode(photo_like(512, 512, seed=9), mark.bits))
    r = provenance.check(str(path), "image/png", "image", Settings(home=tmp_path))
    assert r["provenance"]["ai_generated"] and r["provenance"]["watermark"] == "SDV2"
    assert r["provenance"]["source"] == "watermark" and r["score"] == pytest.approx(0.95)
    assert "invisible watermark of Stable Diffusion's reference scripts" in r["detail"]["reason"]


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_upright_frame_is_turned_back_for_the_mark(tmp_path, orientation):
    """The media stage hands over EXIF-upright pixels; the mark lives in the stored ones."""
    from PIL import Image

    mark = watermark.MARKS[2]
    stored = imwatermark_encode(photo_like(480, 640, seed=11), mark.bits)
    img = Image.fromarray(stored[:, :, ::-1])
    exif = img.getexif()
    exif[0x0112] = orientation
    path = tmp_path / f"o{orientation}.jpg"
    img.save(path, quality=97, exif=exif)
    upright = cv2.imread(str(path), cv2.IMREAD_COLOR)          # OpenCV applies the orientation
    if orientation in (6, 8):
        assert upright.shape[:2] == (640, 480)
    r = provenance.check(str(path), "image/jpeg", "image", Settings(home=tmp_path), frame=upright)
    assert r["detail"]["watermark"]["pixels"] == "frame"
    assert r["provenance"]["watermark"] == mark.name

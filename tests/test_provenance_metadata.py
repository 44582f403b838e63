"""AI traces in ordinary metadata, on files the tests write with PIL."""

import io
import json
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from fakelens import provenance
from fakelens.config import Settings
from fakelens.provenance.generators import GENERATORS, match_generator
from fakelens.provenance.metadata import read_metadata
from conftest import need_shared
from test_provenance_support import photo_like

A1111 = ("portrait of a woman, studio light\nNegative prompt: blurry\n"
         "Steps: 20, Sampler: DPM++ 2M Karras, CFG scale: 7, Seed: 1234, Size: 512x512, Model hash: 6ce0161689")


@pytest.fixture
def settings(tmp_path):
    return Settings(home=tmp_path)


def _image(size=(320, 240)):
    return Image.fromarray(photo_like(size[1], size[0])[:, :, ::-1])


def _png(tmp_path, chunks: dict, name="t.png"):
    info = PngImagePlugin.PngInfo()
    for k, v in chunks.items():
        info.add_text(k, v)
    path = tmp_path / name
    _image().save(path, pnginfo=info)
    return path


def _check(path, settings, mime):
    return provenance.check(str(path), mime, "image", settings)


def read_metadata_measured(path):
    """read_metadata's answer and the most memory Python held while it read."""
    import tracemalloc

    tracemalloc.start()
    try:
        return read_metadata(str(path)), tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a1111_parameters_chunk(tmp_path, settings):
    r = _check(_png(tmp_path, {"parameters": A1111}), settings, "image/png")
    block = r["provenance"]
    assert block["ai_generated"] and block["source"] == "metadata"
    assert block["ai_tool"] == "Stable Diffusion (AUTOMATIC1111 web UI)"
    assert "PNG text chunk 'parameters'" in r["detail"]["reason"]
    assert r["score"] == pytest.approx(0.93)
    assert block["status"] == "none"          # no credentials, but metadata evidence


def test_comfyui_prompt_and_workflow(tmp_path, settings):
    prompt = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}},
              "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_xl_base_1.0.safetensors"}}}
    r = _check(_png(tmp_path, {"prompt": json.dumps(prompt)}), settings, "image/png")
    assert r["provenance"]["ai_tool"] == "ComfyUI"
    r = _check(_png(tmp_path, {"workflow": json.dumps({"nodes": [{"id": 1, "type": "KSampler"}]})}, "w.png"),
               settings, "image/png")
    assert r["provenance"]["ai_tool"] == "ComfyUI"


def test_a_huge_prompt_chunk_is_not_parsed_whole(tmp_path, settings):
    """A 'prompt' zTXt of "{}," x 1.5 million (a file of a few kB): parsed as JSON, then written out
    again, it took some 25 times its size (a 16 MB one, 450 MB). A graph that size is not parsed; a
    real one beside it is still found."""
    huge = '{"1": {"class_type": "KSampler", "inputs": {}}, "pad": [' + "{}," * 1_500_000 + "{}]}"
    info = PngImagePlugin.PngInfo()
    info.add_text("prompt", huge, zip=True)
    path = tmp_path / "huge.png"
    Image.new("RGB", (64, 64)).save(path, pnginfo=info)
    assert path.stat().st_size < 20_000
    meta, peak = read_metadata_measured(path)
    assert peak < 40_000_000, peak    # the text itself, as Pillow and the reader hold it: 4.5 MB each
    assert meta["error"] is None and meta["ai"] == []
    workflow = json.dumps({"last_node_id": 2, "nodes": [{"id": 1, "type": "KSampler"}], "links": []})
    path = _png(tmp_path, {"prompt": huge[:100] + "x", "workflow": workflow}, "both.png")
    assert [a["generator"] for a in read_metadata(str(path))["ai"]] == ["ComfyUI"]


def test_swarmui_and_easy_diffusion(tmp_path, settings):
    """SwarmUI writes its settings as JSON in 'parameters'; Easy Diffusion one chunk a setting."""
    swarm = json.dumps({"sui_image_params": {"prompt": "a cat", "model": "OfficialStableDiffusion/sd_xl_base_1.0",
                                             "seed": 1, "steps": 20, "cfgscale": 7, "swarm_version": "0.9.5.0"},
                        "sui_extra_data": {"date": "2025-01-01"}})
    r = _check(_png(tmp_path, {"parameters": swarm}, "swarm.png"), settings, "image/png")
    assert r["provenance"]["ai_tool"] == "SwarmUI" and r["score"] == pytest.approx(0.93), r["detail"]["reasons"]
    easy = {"prompt": "a cat", "negative_prompt": "", "seed": "42", "use_stable_diffusion_model": "sd-v1-4",
            "sampler_name": "euler_a", "num_inference_steps": "25", "guidance_scale": "7.5"}
    r = _check(_png(tmp_path, easy, "easy.png"), settings, "image/png")
    assert r["provenance"]["ai_tool"] == "Easy Diffusion" and r["score"] == pytest.approx(0.93), r["detail"]["reasons"]
    # a 'parameters' chunk that only mentions the key is no SwarmUI output
    r = _check(_png(tmp_path, {"parameters": 'see "sui_image_params" in the docs'}, "text.png"), settings, "image/png")
    assert r["score"] is None


def test_invokeai_and_novelai(tmp_path, settings):
    r = _check(_png(tmp_path, {"invokeai_metadata": json.dumps({"positive_prompt": "a cat"})}), settings, "image/png")
    assert r["provenance"]["ai_tool"] == "InvokeAI"
    r = _check(_png(tmp_path, {"Software": "NovelAI", "Source": "NovelAI Diffusion V3 4BDE2A90",
                               "Comment": json.dumps({"steps": 28})}, "n.png"), settings, "image/png")
    assert r["provenance"]["ai_tool"] == "NovelAI"


def test_xmp_digital_source_type_in_jpeg(tmp_path, settings):
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
           '<rdf:Description xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" '
           'Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/>'
           '</rdf:RDF></x:xmpmeta>')
    path = tmp_path / "x.jpg"
    _image().save(path, quality=92, xmp=xmp.encode())
    r = _check(path, settings, "image/jpeg")
    assert r["provenance"]["ai_generated"] and r["provenance"]["digital_source_type"] == "trainedAlgorithmicMedia"
    assert r["score"] == pytest.approx(0.90)
    assert "DigitalSourceType" in r["detail"]["reason"]
    assert r["provenance"]["partly_ai"] is False
    composite = tmp_path / "composite.jpg"
    _image().save(composite, quality=92, xmp=xmp.replace("trainedAlgorithmicMedia",
                                                         "compositeWithTrainedAlgorithmicMedia").encode())
    assert _check(composite, settings, "image/jpeg")["provenance"]["partly_ai"] is True


def test_xmp_element_form_and_https_uri(tmp_path):
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
           '<Iptc4xmpExt:DigitalSourceType>https://cv.iptc.org/newscodes/digitalsourcetype/'
           'compositeWithTrainedAlgorithmicMedia</Iptc4xmpExt:DigitalSourceType>'
           '<xmp:CreatorTool>Adobe Photoshop 25.0</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>')
    path = tmp_path / "x.jpg"
    _image().save(path, xmp=xmp.encode())
    meta = read_metadata(str(path))
    assert meta["digital_source_type"] == "compositeWithTrainedAlgorithmicMedia"
    assert meta["fields"]["XMP CreatorTool"] == "Adobe Photoshop 25.0"
    assert [a["strength"] for a in meta["ai"]] == ["source_type"]


def test_xmp_resource_form(tmp_path):
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
           '<Iptc4xmpExt:DigitalSourceType rdf:resource="http://cv.iptc.org/newscodes/digitalsourcetype/'
           'trainedAlgorithmicMedia"/></rdf:Description></rdf:RDF></x:xmpmeta>')
    path = tmp_path / "x.jpg"
    _image().save(path, xmp=xmp.encode())
    meta = read_metadata(str(path))
    assert meta["digital_source_type"] == "trainedAlgorithmicMedia"
    assert [a["strength"] for a in meta["ai"]] == ["source_type"]


def test_an_xmp_element_of_white_space_is_read_at_once(tmp_path):
    """A DigitalSourceType element holding 100,000 spaces (a file of a few kB once compressed) took
    about a minute of one core in a backtracking search (an hour and more at the 1 MB XMP cap)."""
    xmp = '<x:xmpmeta><Iptc4xmpExt:DigitalSourceType>' + " " * 100_000 + '<'
    path = tmp_path / "spaces.png"
    buffer = io.BytesIO()
    _image().save(buffer, "PNG")
    path.write_bytes(_png_chunk(buffer.getvalue(), b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp.encode()))
    started = time.process_time()   # this process's own CPU time: a busy machine does not count
    meta = read_metadata(str(path))
    assert time.process_time() - started < 5.0   # the old search took about 50 s here
    assert meta["digital_source_type"] is None and meta["ai"] == []


def test_a_malformed_iptc_block_hides_nothing_else(tmp_path, settings):
    """An APP13 block Pillow cannot parse (an IPTC field claiming an impossible length) took the whole
    metadata read down with it: the XMP AI source type beside it went unread."""
    xmp = ('<x:xmpmeta><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType='
           '"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')
    path = tmp_path / "x.jpg"
    _image().save(path, quality=90, xmp=xmp.encode())
    data = path.read_bytes()
    iim = b"\x1c\x02\x41\xff\xff"   # dataset 2:65 with an "extended" length of 32,767 bytes of length
    payload = b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    path.write_bytes(data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    r = _check(path, settings, "image/jpeg")
    assert r["provenance"]["ai_generated"] and r["provenance"]["digital_source_type"] == "trainedAlgorithmicMedia", r


def test_a_verdict_lists_a_few_dozen_png_text_chunks_not_thousands(tmp_path, settings):
    """Every PNG text chunk went into the verdict's metadata (stored, sent to the extension, shown):
    20,000 chunks made a 10 MB verdict. The first 40 are listed and the rest counted; all are still
    searched, so a generator's chunk after them is found."""
    chunks = {f"note{i:05d}": "x" * 600 for i in range(3000)}
    path = _png(tmp_path, {**chunks, "parameters": A1111})
    r = _check(path, settings, "image/png")
    shown = r["detail"]["metadata"]
    assert len(json.dumps(shown)) < 32_000 and shown["PNG text chunks not shown"] == "2961", list(shown)[-3:]
    assert r["provenance"]["ai_generated"] and r["provenance"]["generator"].startswith("Stable Diffusion")


def test_comfyui_webp_and_jpeg_carry_the_node_graph_in_exif(tmp_path, settings):
    """ComfyUI's WebP and JPEG savers write "prompt:{graph}" into EXIF Model and "workflow:{graph}"
    into Make; a camera's Make and Model (or a "prompt:" that is no node graph) are not a generator."""
    graph = {"3": {"class_type": "KSampler", "inputs": {"seed": 1, "steps": 20}}}
    for fmt, name in (("WEBP", "comfy.webp"), ("JPEG", "comfy.jpg")):
        exif = Image.Exif()
        exif[0x0110] = "prompt:" + json.dumps(graph)
        exif[0x010F] = "workflow:" + json.dumps({"nodes": [{"id": 3, "type": "KSampler"}]})
        _image().save(tmp_path / name, fmt, exif=exif.tobytes())
        r = _check(tmp_path / name, settings, f"image/{fmt.lower()}")
        assert r["provenance"]["ai_generated"] and r["provenance"]["generator"] == "ComfyUI", r["detail"]
        assert "EXIF Model holding a ComfyUI node graph" in r["detail"]["reason"]
    exif = Image.Exif()
    exif[0x010F], exif[0x0110] = "Canon", "prompt: Canon EOS R5"
    _image().save(tmp_path / "camera.jpg", exif=exif.tobytes())
    assert read_metadata(str(tmp_path / "camera.jpg"))["ai"] == []


def test_a_lower_case_png_software_chunk_is_read(tmp_path):
    meta = read_metadata(str(_png(tmp_path, {"software": "Midjourney"})))
    assert [(a["generator"], a["strength"]) for a in meta["ai"]] == [("Midjourney", "tool_name")], meta


def test_exif_software_and_user_comment(tmp_path, settings):
    img = _image()
    exif = img.getexif()
    exif[0x0131] = "Midjourney"
    exif[0x010F] = "Canon"
    path = tmp_path / "e.jpg"
    img.save(path, exif=exif)
    r = _check(path, settings, "image/jpeg")
    assert r["provenance"]["ai_tool"] == "Midjourney" and r["score"] == pytest.approx(0.85)
    assert "EXIF Software" in r["detail"]["reason"]

    img = _image()
    exif = img.getexif()
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + A1111.encode("utf-16-be")   # as A1111 writes JPEGs
    path = tmp_path / "u.jpg"
    img.save(path, exif=exif)
    r = _check(path, settings, "image/jpeg")
    assert r["provenance"]["ai_tool"] == "Stable Diffusion (AUTOMATIC1111 web UI)"


def test_a_user_comment_and_a_digital_source_type_are_one_plain_line_of_at_most_500_and_100(tmp_path, settings):
    """Text a file carries is shown as one line without control or bidirectional characters, capped:
    an EXIF UserComment kept its new lines, escape sequences and right-to-left override, and 4,000
    characters; an XMP DigitalSourceType 200,000 characters. A1111's settings past the cut still count."""
    img = _image()
    exif = img.getexif()
    prompt = "line1\nline2 \u202eevil\x1b[31m " + "U" * 600 + "\n"
    exif.get_ifd(0x8769)[0x9286] = b"UNICODE\x00" + (prompt + A1111).encode("utf-16-be")
    path = tmp_path / "u.jpg"
    img.save(path, exif=exif)
    r = _check(path, settings, "image/jpeg")
    comment = r["detail"]["metadata"]["EXIF UserComment"]
    assert len(comment) == 500 and comment.startswith("line1 line2 evil [31m UUU") and comment.endswith("…"), comment
    assert r["provenance"]["ai_tool"] == "Stable Diffusion (AUTOMATIC1111 web UI)"

    source = "http://cv.iptc.org/newscodes/digitalsourcetype/\u202edigital\x1bCapture" + "A" * 200_000
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType="{source}"/>' \
          '</rdf:RDF></x:xmpmeta>'
    path = tmp_path / "x.png"
    _image().save(path, pnginfo=_xmp_chunk(xmp))
    r = _check(path, settings, "image/png")
    for text in (r["provenance"]["digital_source_type"], r["detail"]["metadata"]["XMP DigitalSourceType"]):
        assert len(text) == 100 and text.startswith("digital Capture") and text.endswith("A…"), text[:200]


def _xmp_chunk(xmp: str) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp)
    return info


def test_jpeg_comment(tmp_path, settings):
    path = tmp_path / "c.jpg"
    _image().save(path, comment=A1111.encode())
    r = _check(path, settings, "image/jpeg")
    assert r["provenance"]["ai_generated"] and r["detail"]["metadata"]["JPEG comment"].startswith("portrait")
    path = tmp_path / "d.jpg"
    _image().save(path, comment=b"made with DALL-E 3")
    r = _check(path, settings, "image/jpeg")
    # a name in free text is a hint only: below the threshold, not an AI verdict
    assert r["provenance"]["ai_generated"] is False and r["score"] < 0.4
    assert "DALL" in r["detail"]["reason"]


def test_camera_metadata_is_not_ai(tmp_path, settings):
    img = _image()
    exif = img.getexif()
    exif[0x0131], exif[0x010F], exif[0x0110] = "Ver.1.00", "NIKON CORPORATION", "NIKON Z 9"
    exif[0x010E] = "imagen de la playa"        # Spanish "image": must not read as Google Imagen
    path = tmp_path / "cam.jpg"
    img.save(path, exif=exif, comment=b"holiday")
    r = _check(path, settings, "image/jpeg")
    assert r["score"] is None and r["provenance"]["ai_generated"] is False
    assert r["detail"]["metadata"]["EXIF Make"] == "NIKON CORPORATION"
    assert "says nothing either way" in r["detail"]["reason"]


def test_nothing_found_names_only_what_was_looked_for(tmp_path, settings):
    """A picture too small for the invisible watermark, or a video (no metadata or watermark read),
    must not read "no ... watermark found"."""
    small = tmp_path / "small.jpg"
    _image((200, 200)).save(small)
    r = _check(small, settings, "image/jpeg")
    assert r["detail"]["reason"] == ("No Content Credentials or AI metadata found; the watermark was not looked "
                                     "for: too small for the invisible watermark (200×200 < 256×256 pixels). "
                                     "Most sites strip them, so this says nothing either way")
    large = tmp_path / "large.jpg"
    _image((320, 320)).save(large)
    assert _check(large, settings, "image/jpeg")["detail"]["reason"] == (
        "No Content Credentials, AI metadata or known invisible watermark found. Most sites strip them, "
        "so this says nothing either way")
    video = need_shared("deepfake-clips", "ff_real.mp4")
    r = provenance.check(str(video), "video/mp4", "video", settings)
    assert r["detail"]["reason"] == "No Content Credentials found. Most sites strip them, so this says nothing either way"


def test_generator_table():
    assert len(GENERATORS) >= 10
    for text, name in [("DALL·E 3", "DALL·E (OpenAI)"), ("Adobe Firefly Image 3", "Adobe Firefly"),
                       ("stable-diffusion-xl", "Stable Diffusion"), ("Google Imagen 3", "Google Imagen"),
                       ("Midjourney v6", "Midjourney"), ("FLUX.1-dev", "FLUX (Black Forest Labs)")]:
        assert match_generator(text) == name, text
    for text in ["Adobe Photoshop 25.0", "GIMP 2.10", "Canon EOS R5", "imagen", "influx", None, ""]:
        assert match_generator(text) is None, text


def test_unreadable_metadata_is_reported(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + np.random.default_rng(0).bytes(100))
    meta = read_metadata(str(path))
    assert meta["error"] and meta["ai"] == []


def _iptc_jpeg(path, tag: int, text: str, artist: str | None = None):
    """A JPEG with one IPTC IIM field (record 2, `tag`) in a Photoshop APP13 segment."""
    exif = Image.Exif()
    if artist:
        exif[0x013B] = artist
    _image().save(path, quality=90, exif=exif.tobytes())
    data = path.read_bytes()
    raw = text.encode()
    iim = b"\x1c\x02" + bytes([tag]) + struct.pack(">H", len(raw)) + raw
    iim += b"\x00" * (len(iim) % 2)
    payload = b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    path.write_bytes(data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    return path


@pytest.mark.parametrize("tag, text, artist", [
    (120, "OpenAI chief executive Sam Altman speaks at a conference in San Francisco", None),   # caption
    (110, "Illustration made with OpenAI Sora / Pexels", None),                                  # credit
    (120, "A street in Lisbon", "Midjourney"),                                                   # EXIF Artist
])
def test_a_generator_named_in_a_caption_or_credit_is_only_a_hint(tmp_path, settings, tag, text, artist):
    """News photos name OpenAI in captions, credits name tools: that is no AI label."""
    r = _check(_iptc_jpeg(tmp_path / "news.jpg", tag, text, artist), settings, "image/jpeg")
    assert not r["provenance"]["ai_generated"], r["detail"]
    assert r["score"] == pytest.approx(0.35)   # a hint, below the threshold and the uncertain band
    assert read_metadata(str(tmp_path / "news.jpg"))["ai"][0]["strength"] == "comment"
    # a hint names no generator in the block, and is listed once (it was twice: with " — a hint only" and without)
    assert r["provenance"]["generator"] is None, r["provenance"]
    hint = r["provenance"]["reasons"][0]
    assert hint.endswith(" — a hint only") and hint[: -len(" — a hint only")] not in r["provenance"]["reasons"]


def test_a_caption_hint_does_not_name_the_tool_of_an_ai_source_type(tmp_path, settings):
    """An IPTC AI source type took its tool from any earlier finding, a credit's words too: "Photo
    illustration: Sora Kobayashi" made the block's generator "OpenAI image generation"."""
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description photoshop:Credit="Photo illustration: '
           'OpenAI Sora" Iptc4xmpExt:DigitalSourceType="http://cv.iptc.org/newscodes/digitalsourcetype/'
           'compositeWithTrainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')
    path = tmp_path / "credit.jpg"
    _image().save(path, quality=92, xmp=xmp.encode())
    r = _check(path, settings, "image/jpeg")
    block = r["provenance"]
    assert block["ai_generated"] and block["partly_ai"], r["detail"]["reasons"]
    assert block["ai_tool"] is None and block["generator"] is None, block
    assert [(a["strength"], a["generator"]) for a in read_metadata(str(path))["ai"]] == [
        ("comment", "OpenAI Sora (video generation)"), ("source_type", None)]
    # a tool field still names it
    tool = tmp_path / "tool.jpg"
    _image().save(tool, quality=92, xmp=xmp.replace('photoshop:Credit="Photo illustration: OpenAI Sora"',
                                                     'xmp:CreatorTool="Midjourney"').encode())
    assert _check(tool, settings, "image/jpeg")["provenance"]["ai_tool"] == "Midjourney"


@pytest.mark.parametrize("fmt, name", [("GIF", "c.gif"), ("PNG", "c.png")])
def test_a_gif_or_png_comment_is_not_called_a_jpeg_comment(tmp_path, settings, fmt, name):
    path = tmp_path / name
    if fmt == "PNG":
        info = PngImagePlugin.PngInfo()
        info.add_text("comment", "made with Midjourney")
        _image().save(path, pnginfo=info)
    else:
        _image().convert("P").save(path, comment=b"made with Midjourney")
    r = _check(path, settings, f"image/{fmt.lower()}")
    assert f"{fmt} comment names Midjourney" in r["detail"]["reason"], r["detail"]
    assert f"{fmt} comment" in r["detail"]["metadata"] and "JPEG comment" not in r["detail"]["metadata"]


def test_iptc_originating_program_is_a_tool_name(tmp_path, settings):
    r = _check(_iptc_jpeg(tmp_path / "made.jpg", 65, "Midjourney"), settings, "image/jpeg")
    assert r["provenance"]["ai_generated"] and r["score"] == pytest.approx(0.85)


def test_huge_parameters_chunk_is_read_at_once(tmp_path):
    """A PNG text chunk of "Steps: 1 " x 25,000 (225 KB; a 3 KB file can hold four times that)
    once held the backend for minutes in a backtracking search; now it is one linear pass."""
    path = _png(tmp_path, {"parameters": "Steps: 1 " * 25_000})
    started = time.monotonic()
    meta = read_metadata(str(path))
    assert time.monotonic() - started < 5.0   # the old search took about 90 s here
    assert meta["ai"] == []
    a1111 = read_metadata(str(_png(tmp_path, {"parameters": A1111}, "a.png")))["ai"]
    assert a1111[0]["generator"] == "Stable Diffusion (AUTOMATIC1111 web UI)"


def _png_chunk(data: bytes, kind: bytes, body: bytes) -> bytes:
    """`data` (a PNG) with one more chunk before its first IDAT."""
    import zlib
    at = data.find(b"IDAT") - 4
    return (data[:at] + struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) + data[at:])


def _png_chunk_after_pixels(data: bytes, kind: bytes, body: bytes) -> bytes:
    """`data` (a PNG) with one more chunk after its pixels, just before IEND."""
    at = data.rfind(b"IEND") - 4
    return (data[:at] + struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF) + data[at:])


_XMP_AI = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType='
           '"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')


@pytest.mark.parametrize("kind, body, strength", [
    (b"tEXt", b"parameters\0" + A1111.encode(), "generator_chunk"),
    (b"zTXt", b"parameters\0\0" + zlib.compress(A1111.encode()), "generator_chunk"),
    (b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + _XMP_AI.encode(), "source_type"),
    (b"iTXt", b"XML:com.adobe.xmp\0\1\0\0\0" + zlib.compress(_XMP_AI.encode()), "source_type"),
], ids=["tEXt", "zTXt", "iTXt", "iTXt compressed"])
def test_text_chunks_after_the_pixels_are_read(tmp_path, settings, kind, body, strength):
    """PNG text may follow IDAT (the format allows it anywhere): it was read only before the pixels,
    so A1111 settings or an IPTC AI source type written there gave "No AI metadata found"."""
    import cv2

    data = cv2.imencode(".png", photo_like(240, 320))[1].tobytes()
    path = tmp_path / "late.png"
    path.write_bytes(_png_chunk_after_pixels(data, kind, body))
    assert [a["strength"] for a in read_metadata(str(path))["ai"]] == [strength]
    r = _check(path, settings, "image/png")
    assert r["provenance"]["ai_generated"] and r["provenance"]["source"] == "metadata", r["detail"]["reasons"]


def test_a_deeply_nested_prompt_chunk_hides_nothing(tmp_path, settings):
    """A ComfyUI-looking 'prompt' of "[" x 200,000 raised RecursionError in the JSON parser, which
    took the whole metadata step down, and with it the watermark (no image size): a PNG with an IPTC
    AI source type and the SD watermark then read "No ... AI metadata or known invisible watermark found"."""
    import cv2

    from fakelens.provenance import watermark
    from test_provenance_support import imwatermark_encode

    marked = imwatermark_encode(photo_like(512, 512, seed=7), watermark.MARKS[1].bits)
    data = cv2.imencode(".png", marked)[1].tobytes()
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description Iptc4xmpExt:DigitalSourceType='
           '"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>')
    data = _png_chunk(data, b"iTXt", b"XML:com.adobe.xmp\0\0\0\0\0" + xmp.encode())
    path = tmp_path / "deep.png"
    path.write_bytes(_png_chunk(data, b"tEXt", b"prompt\0" + b"[" * 200_000))
    r = provenance.check(str(path), "image/png", "image", settings, frame=cv2.imread(str(path)))
    assert r["provenance"]["ai_generated"] and r["provenance"]["watermark"] == "SDV2", r["detail"]["reasons"]
    assert {e["source"] for e in r["detail"]["evidence"]} == {"metadata", "watermark"}


def test_a_failed_metadata_step_still_reads_the_watermark_and_says_so(tmp_path, settings, monkeypatch):
    """Whatever breaks the metadata reader, the watermark is still read (from the media stage's
    frame size and a decode of our own), and the summary says what could not be read instead of
    claiming nothing was found."""
    import cv2

    from fakelens.provenance import watermark
    from test_provenance_support import imwatermark_encode

    def broken(path):
        raise RuntimeError("a bug in the metadata reader")

    monkeypatch.setattr(provenance, "read_metadata", broken)
    marked = tmp_path / "marked.png"
    cv2.imwrite(str(marked), imwatermark_encode(photo_like(512, 512, seed=8), watermark.MARKS[1].bits))
    r = provenance.check(str(marked), "image/png", "image", settings, frame=cv2.imread(str(marked)))
    assert r["provenance"]["watermark"] == "SDV2" and r["detail"]["watermark"]["pixels"] == "decoded"

    plain = tmp_path / "plain.png"
    cv2.imwrite(str(plain), photo_like(512, 512, seed=9))
    r = provenance.check(str(plain), "image/png", "image", settings, frame=cv2.imread(str(plain)))
    first = r["provenance"]["reasons"][0]
    assert r["score"] is None and "metadata could not be read" in first, first
    assert not first.startswith("No Content Credentials")      # the verdict would say "none" then
    # and with no frame at all the watermark is said to be unread too
    r = provenance.check(str(plain), "image/png", "image", settings)
    assert r["provenance"]["reasons"][0].startswith("The metadata and the invisible watermark could not be read")


def test_a_text_chunk_over_pillows_1_mb_limit_is_read(tmp_path, settings):
    """A valid PNG whose zTXt unpacks to 2 MB: Pillow's default 1 MB per-chunk limit refused the whole
    file ("not a readable image") and the A1111 settings beside it were missed."""
    import zlib

    import cv2

    data = cv2.imencode(".png", photo_like(240, 320))[1].tobytes()
    data = _png_chunk(data, b"tEXt", b"parameters\0" + A1111.encode())
    path = tmp_path / "padded.png"
    path.write_bytes(_png_chunk(data, b"zTXt", b"Comment\0\0" + zlib.compress(b" " * 2_000_000)))
    meta = read_metadata(str(path))
    assert meta["error"] is None and meta["ai"][0]["generator"] == "Stable Diffusion (AUTOMATIC1111 web UI)"
    r = _check(path, settings, "image/png")
    assert r["provenance"]["ai_generated"] and r["score"] == pytest.approx(0.93)


@pytest.mark.parametrize("make, model", [("Planet Computers", "Gemini PDA"), ("Veo", "Veo Cam 3"),
                                         ("FLIR", "Firefly DL"), ("Kandinsky Optics", "Kling K1")])
def test_a_camera_named_like_a_generator_is_not_ai(tmp_path, settings, make, model):
    """EXIF Make/Model name the camera (a Gemini PDA phone, a Veo sports camera, a FLIR Firefly),
    never the program that made the picture: recorded, not matched, whatever they say."""
    img = _image()
    exif = img.getexif()
    exif[0x010F], exif[0x0110] = make, model
    path = tmp_path / "cam.jpg"
    img.save(path, exif=exif)
    r = _check(path, settings, "image/jpeg")
    assert r["score"] is None and not r["provenance"]["ai_generated"], r["detail"]["reason"]
    assert r["detail"]["metadata"]["EXIF Model"] == model


def test_generator_names_that_are_also_products():
    for text in ["Gemini PDA", "Gemini Camera", "Veo", "Veo Cam 3", "FLIR Firefly", "Firefly Split 4K"]:
        assert match_generator(text) is None, text
    for text, name in [("Google Gemini", "Google Gemini"), ("Gemini 2.5 Flash Image", "Google Gemini"),
                       ("Nano Banana", "Google Gemini"), ("Google Veo", "Google Veo"), ("Veo 3", "Google Veo"),
                       ("Adobe Firefly", "Adobe Firefly"), ("Adobe_Firefly", "Adobe Firefly")]:
        assert match_generator(text) == name, text


@pytest.mark.parametrize("field, value", [("EXIF Software", "Veo 2.1.0"), ("EXIF Software", "SD 3 Card Reader"),
                                          ("XMP CreatorTool", "Dalle"), ("XMP CreatorTool", "Kling photo"),
                                          ("EXIF Software", "Grok photo studio"), ("XMP CreatorTool", "Kandinsky Studio")])
def test_a_tool_named_like_a_generator_is_not_ai(tmp_path, settings, field, value):
    """Tool fields matched loose patterns: a Veo camera's firmware 2.1.0 read as Veo 2, an SD card
    reader as SD 3, "Dalle" as DALL·E, any "Kling": "AI-generated (file metadata)" at 0.85."""
    img = _image()
    path = tmp_path / "tool.jpg"
    if field == "EXIF Software":
        exif = img.getexif()
        exif[0x0131] = value
        img.save(path, exif=exif)
    else:
        img.save(path, xmp=('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
                            f'xmp:CreatorTool="{value}"/></rdf:RDF></x:xmpmeta>').encode())
    r = _check(path, settings, "image/jpeg")
    assert r["detail"]["metadata"][field] == value
    assert r["score"] is None and not r["provenance"]["ai_generated"], r["detail"]["reason"]


def test_generators_real_forms_still_match():
    for text, name in [("DALL·E 3", "DALL·E (OpenAI)"), ("DALL-E", "DALL·E (OpenAI)"), ("dall-e-3", "DALL·E (OpenAI)"),
                       ("Veo 3", "Google Veo"), ("Veo3", "Google Veo"), ("Veo 3.1", "Google Veo"),
                       ("SD 1.5", "Stable Diffusion"), ("SD3.5 Large", "Stable Diffusion"), ("SD 3 Medium", "Stable Diffusion"),
                       ("SDXL 1.0", "Stable Diffusion"), ("Kling AI", "Kling"), ("KlingAI", "Kling"),
                       ("Kling 2.1", "Kling"), ("kling-v1.6", "Kling"), ("Grok", "Grok / Aurora (xAI)"),
                       ("Grok Imagine", "Grok / Aurora (xAI)"), ("xAI Aurora", "Grok / Aurora (xAI)"),
                       ("Kandinsky 3.1", "Kandinsky"), ("Forge WebUI", "Stable Diffusion (AUTOMATIC1111 web UI)"), ("Imagen 4", "Google Imagen")]:
        assert match_generator(text) == name, text
    for text in ["Veo 2.1.0", "SD 3 Card Reader", "SD 2.0 converter", "Dalle", "Dalle Rocca", "Kling photo",
                 "Grok photo studio", "Kandinsky Studio", "imagen 2 de 5", "Pixel Forge Studio web UI"]:
        assert match_generator(text) is None, text


def test_current_generators_are_named():
    for text, name in [("FLUX1.1 [pro]", "FLUX (Black Forest Labs)"), ("flux1-dev", "FLUX (Black Forest Labs)"),
                       ("FLUX.2 [pro]", "FLUX (Black Forest Labs)"), ("gpt-image-1", "OpenAI image generation"),
                       ("GPT-4o", "OpenAI image generation"), ("Microsoft Copilot", "Microsoft Designer / Bing Image Creator"),
                       ("Recraft V3", "Recraft"), ("Seedream 4.0", "Seedream / Dreamina (ByteDance)"),
                       ("Dreamina", "Seedream / Dreamina (ByteDance)"), ("Jimeng AI", "Seedream / Dreamina (ByteDance)"),
                       ("Hailuo AI", "Hailuo (MiniMax)"), ("MiniMax image-01", "Hailuo (MiniMax)"),
                       ("Qwen-Image", "Qwen-Image (Alibaba)"), ("Krea AI", "Krea"), ("Reve Image", "Reve"),
                       ("HiDream-I1", "HiDream"), ("Kwai-Kolors", "Kolors (Kuaishou)"), ("Kolors 2.0", "Kolors (Kuaishou)"),
                       ("Playground v2.5", "Playground AI"), ("Image Playground", "Apple Image Playground"),
                       ("Ideogram 3.0", "Ideogram"), ("SwarmUI 0.9.6", "SwarmUI"), ("Easy Diffusion 3.0", "Easy Diffusion")]:
        assert match_generator(text) == name, text
    for text in ["Flux Capacitor Studio", "recrafted by hand", "Jimeng Li", "Hailuo Zhang", "minimax search",
                 "Krea Studio", "un rêve", "reve de Paris", "Kolors paint", "GitHub Copilot", "Playground"]:
        assert match_generator(text) is None, text


def test_every_jpeg_comment_is_read(tmp_path, settings):
    """Pillow keeps only the last COM segment in info["comment"]: an optimiser's comment after the
    generator's hid it."""
    path = tmp_path / "two.jpg"
    _image().save(path, comment=b"Optimized by JPEGmini")
    data = path.read_bytes()
    first = b"Made with Midjourney"
    path.write_bytes(data[:2] + b"\xff\xfe" + struct.pack(">H", len(first) + 2) + first + data[2:])
    r = _check(path, settings, "image/jpeg")
    assert "Midjourney" in r["detail"]["reason"] and r["score"] == pytest.approx(0.35)
    assert "JPEGmini" in r["detail"]["metadata"]["JPEG comment"]


def test_a_failed_credentials_step_is_not_called_none_found(tmp_path, settings, monkeypatch):
    def broken(*args):
        raise RuntimeError("a bug in the C2PA reader")

    monkeypatch.setattr(provenance, "read_c2pa", broken)
    plain = tmp_path / "plain.jpg"
    _image().save(plain)
    r = provenance.check(str(plain), "image/jpeg", "image", settings)
    assert r["provenance"]["reasons"][0] == "Content Credentials could not be checked (an error in FakeLens)"
    assert r["provenance"]["unreadable"] is False   # not known to be there: "present, but…" would claim they are
    assert r["provenance"]["failed"] is True   # the badge's tooltip said "Content Credentials: none"


# --- formats whose metadata was not read, a 'Dream' chunk, generator names -------------------------

_DST_XMP = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            'xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/" Iptc4xmpExt:DigitalSourceType='
            '"http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"/></rdf:RDF></x:xmpmeta>'
            '<?xpacket end="w"?>')


def _gif_with_xmp(path, xmp: str, after_the_pixels=False):
    """A GIF with XMP in its application extension as Adobe writes it: "XMP DataXMP", the packet raw
    (not in sub-blocks), then the 258-byte "magic trailer" that makes it read as sub-blocks."""
    buf = io.BytesIO()
    _image().convert("P", palette=Image.ADAPTIVE).save(buf, "GIF")
    gif = buf.getvalue()
    ext = b"\x21\xff\x0bXMP DataXMP" + xmp.encode() + bytes([1] + list(range(255, -1, -1))) + b"\x00"
    flags = gif[10]
    at = len(gif) - 1 if after_the_pixels else 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)
    assert gif[-1:] == b";"
    path.write_bytes(gif[:at] + ext + gif[at:])
    return path


@pytest.mark.parametrize("after_the_pixels", [False, True])
def test_xmp_in_a_gif_is_read(tmp_path, settings, after_the_pixels):
    """Pillow keeps only the position of a GIF's XMP extension: the same AI source type that gives 0.90
    in JPEG, PNG, WebP and TIFF was "No Content Credentials, AI metadata or … found"."""
    path = _gif_with_xmp(tmp_path / "x.gif", _DST_XMP, after_the_pixels)
    r = _check(path, settings, "image/gif")
    assert r["provenance"]["ai_generated"], r["detail"]["reason"]
    assert r["provenance"]["digital_source_type"] == "trainedAlgorithmicMedia"
    assert r["score"] == pytest.approx(0.90)
    # a plain GIF, and one whose XMP names nothing, are still nothing
    plain = tmp_path / "plain.gif"
    _image().convert("P").save(plain)
    assert read_metadata(str(plain))["ai"] == []
    assert read_metadata(str(_gif_with_xmp(tmp_path / "p.gif", "<x:xmpmeta/>")))["ai"] == []


def test_a_huge_gif_xmp_extension_is_read_only_in_part(tmp_path):
    """Bounded like the other XMP reads (1 MB): the AI source type at the start is found, and a 20 MB
    packet is not read whole."""
    path = _gif_with_xmp(tmp_path / "big.gif", _DST_XMP.replace("<?xpacket end", " " * 20_000_000 + "<?xpacket end"))
    meta, peak = read_metadata_measured(path)
    assert meta["digital_source_type"] == "trainedAlgorithmicMedia"
    assert peak < 10_000_000, peak


def test_iptc_in_an_mpo_jpeg_is_read(tmp_path, settings):
    """Phone photos with a second image (MPF; Pillow says "MPO", Ultra HDR too): IPTC was read only
    for "JPEG" and "TIFF"."""
    buf = io.BytesIO()
    _image().save(buf, "MPO", save_all=True, append_images=[_image((160, 120))], quality=90)
    data = buf.getvalue()
    raw = b"Midjourney"
    iim = b"\x1c\x02\x41" + struct.pack(">H", len(raw)) + raw
    payload = b"Photoshop 3.0\x00" + b"8BIM" + struct.pack(">H", 0x0404) + b"\x00\x00" + struct.pack(">I", len(iim)) + iim
    path = tmp_path / "phone.jpg"
    path.write_bytes(data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:])
    with Image.open(path) as im:
        assert im.format == "MPO"
    r = _check(path, settings, "image/jpeg")
    assert r["detail"]["metadata"].get("IPTC OriginatingProgram") == "Midjourney", r["detail"]
    assert r["provenance"]["ai_generated"] and r["score"] == pytest.approx(0.85)


def test_a_dream_chunk_counts_only_in_invokeais_format(tmp_path, settings):
    """Only the key 'Dream' was checked: any PNG with a chunk Dream="Summer holiday 2019" was
    "written by InvokeAI" at 0.93. InvokeAI (and the dream.py it grew from) wrote the dream> command."""
    r = _check(_png(tmp_path, {"Dream": "Summer holiday 2019"}, "holiday.png"), settings, "image/png")
    assert r["score"] is None and not r["provenance"]["ai_generated"], r["detail"]["reason"]
    for value in ['"a castle on a hill [blurry]" -s 50 -S 1234 -W 512 -H 512 -C 7.500000 -A k_lms',
                  '"ashley judd riding a camel" -n2 -s150 -S 416354203']:
        r = _check(_png(tmp_path, {"Dream": value}, "dream.png"), settings, "image/png")
        assert r["provenance"]["ai_tool"] == "InvokeAI" and r["score"] == pytest.approx(0.93), value


def test_generator_names_video_model_ids_and_words():
    for text, name in [("Sora", "OpenAI Sora (video generation)"), ("sora-2-pro", "OpenAI Sora (video generation)"),
                       ("OpenAI Sora", "OpenAI Sora (video generation)"), ("DALLE3", "DALL·E (OpenAI)"),
                       ("dalle-3", "DALL·E (OpenAI)"), ("imagen-3.0-generate-002", "Google Imagen"),
                       ("imagen-4-generate-001", "Google Imagen"), ("veo-3.0-generate-001", "Google Veo"),
                       ("veo-2.0-generate-001", "Google Veo"), ("Draw Things", "Draw Things"), ("NovelAI", "NovelAI")]:
        assert match_generator(text) == name, text
    for text in ["Kids draw things", "a novel AI approach", "Dalle 2 alle 5", "dalle", "imagen-generate"]:
        assert match_generator(text) is None, text
    # free text (captions, credits, comments): a given name is not the product
    for text in ["Sora Kim at the beach", "Photo: Sora Shimazaki / Pexels"]:
        assert match_generator(text, free_text=True) is None, text
    for text in ["Made with OpenAI Sora", "a Sora 2 clip", "sora-2"]:
        assert match_generator(text, free_text=True) == "OpenAI Sora (video generation)", text
    assert match_generator("Midjourney v6", free_text=True) == "Midjourney"


def test_a_photographer_called_sora_is_no_hint(tmp_path, settings):
    for tag, text, artist in [(110, "Sora Shimazaki / Pexels", None), (120, "A street in Lisbon", "Sora Kim")]:
        r = _check(_iptc_jpeg(tmp_path / "news.jpg", tag, text, artist), settings, "image/jpeg")
        assert r["score"] is None and read_metadata(str(tmp_path / "news.jpg"))["ai"] == [], r["detail"]


def test_a_tool_field_is_quoted_and_cannot_close_the_quotes_to_write_a_verdict_of_its_own(tmp_path, settings):
    """A CreatorTool that closed FakeLens's single quotes wrote a trusted signer's "Not AI" after them."""
    text = "Midjourney'. Not AI: Content Credentials signed by “Reuters” (on FakeLens's trust list) say so"
    xmp = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description>'
           f'<xmp:CreatorTool>{text}</xmp:CreatorTool></rdf:Description></rdf:RDF></x:xmpmeta>')
    path = tmp_path / "x.jpg"
    _image().save(path, quality=92, xmp=xmp.encode())
    reason = _check(path, settings, "image/jpeg")["detail"]["reason"]
    # (cut at 80 characters, and now says so)
    assert reason == ("XMP CreatorTool says “Midjourney'. Not AI: Content Credentials signed by Reuters (on FakeLens's "
                      "tru…” (metadata: can be copied or forged)"), reason

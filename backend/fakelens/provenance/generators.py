"""The one table of known AI image/video generators, matched against tool names found in
C2PA claims, EXIF Software, XMP CreatorTool, PNG text chunks and comments.

To add a generator, add one line: (display name, regular expression). Patterns are matched
case-insensitively against short tool-name fields and free text alike, so keep them specific
(word boundaries, and the maker or a version where the bare word is something else too: "imagen"
is Spanish for "image", and there are Gemini phones, Veo cameras and FLIR Firefly cameras).
"""

import re

GENERATORS: list[tuple[str, str]] = [
    ("DALL·E (OpenAI)", r"\bdall[\s·\-_.]?e\b"),
    ("OpenAI image generation", r"\bgpt-?image\b|\bchatgpt\b|\bopenai\b|\bsora\b"),
    ("Midjourney", r"\bmidjourney\b"),
    ("Adobe Firefly", r"\badobe[\s_-]?firefly\b"),
    ("Stable Diffusion", r"\bstable[\s_-]?diffusion\b|\bsdxl\b|\bsd[\s_-]?(1\.[45]|2\.[01]|3(\.5)?)\b|\bstability\s?ai\b|\bdreamstudio\b"),
    ("Stable Diffusion (AUTOMATIC1111 web UI)", r"\bautomatic1111\b|\ba1111\b|\bstable-diffusion-webui\b|\bsd\.next\b|\bforge\b.*\bwebui\b"),
    ("ComfyUI", r"\bcomfyui\b"),
    ("InvokeAI", r"\binvoke\s?ai\b"),
    ("NovelAI", r"\bnovel\s?ai\b"),
    ("Fooocus", r"\bfooocus\b"),
    ("Google Imagen", r"\bgoogle\s+imagen\b|\bimagen\s?[234]\b"),
    ("Google Gemini", r"\bgoogle\s+gemini\b|\bgemini[\s-](?:app|advanced|\d(?:\.\d)?[\s-](?:flash|pro))\b"
                      r"|\bnano[\s-]?banana\b|\bmade with google ai\b"),
    ("Google Veo", r"\bgoogle\s+veo\b|\bveo\s?[123]\b"),
    ("FLUX (Black Forest Labs)", r"\bflux\.1\b|\bflux[\s_-](dev|schnell|pro|kontext)\b|\bblack forest labs\b"),
    ("Microsoft Designer / Bing Image Creator", r"\bbing image creator\b|\bmicrosoft designer\b|\bimage creator from microsoft\b"),
    ("Meta AI", r"\bmeta ai\b|\bimagine with meta\b"),
    ("Leonardo.Ai", r"\bleonardo\.?ai\b"),
    ("Ideogram", r"\bideogram\b"),
    ("Runway", r"\brunway\s?ml\b|\brunway gen-?\d\b"),
    ("Kling", r"\bkling\b"),
    ("Pika", r"\bpika\s?labs?\b"),
    ("Luma Dream Machine", r"\bluma\s?(ai|labs)?\s?dream machine\b"),
    ("Grok / Aurora (xAI)", r"\bgrok\b|\bxai aurora\b"),
    ("Kandinsky", r"\bkandinsky\b"),
    ("Hunyuan", r"\bhunyuan\b"),
    ("NightCafe", r"\bnightcafe\b"),
    ("Craiyon", r"\bcraiyon\b"),
    ("Playground AI", r"\bplayground\s?ai\b|\bplaygroundai\b"),
    ("DreamShaper / Civitai model", r"\bcivitai\b"),
    ("Draw Things", r"\bdraw things\b"),
]

_COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in GENERATORS]


def match_generator(text: str | None) -> str | None:
    """Display name of the first known generator named in `text`, or None."""
    if not text or not isinstance(text, str):
        return None
    text = text[:4000]
    for name, pattern in _COMPILED:
        if pattern.search(text):
            return name
    return None

"""The one table of known AI image/video generators, matched against tool names found in
C2PA claims, EXIF Software, XMP CreatorTool, PNG text chunks and comments.

To add a generator, add one line: (display name, regular expression). Patterns are matched
case-insensitively against short tool-name fields and free text alike, so keep them specific
(word boundaries, and the maker or a version where the bare word is something else too: "imagen"
is Spanish for "image", and there are Gemini phones, Veo cameras and FLIR Firefly cameras). A version
ends where the name does (_V): "Veo 2.1.0" is a camera's firmware, not Veo 2.

Free text (captions, credits, comments: match_generator(text, free_text=True)) is matched with the
stricter pattern in FREE_TEXT where a name is also a given name: a photographer called Sora Kim is
no OpenAI product, while a tool field that says "Sora" is.
"""

import re

_V = r"(?![.\d])"   # after a version: no further part ("2.1.0"), so a firmware number is not a model's

GENERATORS: list[tuple[str, str]] = [
    # not "Dalle" (an Italian word and surname; "dalle 2 alle 5" is "from 2 to 5"): "DALLE3", "dalle-3"
    ("DALL·E (OpenAI)", r"\bdall[·‧\-_]e\b|\bdalle[-_]?[23]\b"),
    ("OpenAI Sora (video generation)", r"\bsora\b"),   # before "OpenAI": "OpenAI Sora" is Sora
    ("OpenAI image generation", r"\bgpt-?image\b|\bgpt-?4o\b|\bchatgpt\b|\bopenai\b"),
    ("Midjourney", r"\bmidjourney\b"),
    ("Adobe Firefly", r"\badobe[\s_-]?firefly\b"),
    # "SD 2.0" and "SD 3.0" are also SD card versions: only the model's own forms ("SD 1.5", "SD3.5 Large")
    ("Stable Diffusion", r"\bstable[\s_-]?diffusion\b|\bsdxl\b|\bsd[\s_-]?(?:1\.[45]|2\.1)\b" + _V
                         + r"|\bsd[\s_-]?3(?:\.5)?[\s_-](?:large|medium|turbo)\b|\bsd3\.5\b" + _V
                         + r"|\bstability\s?ai\b|\bdreamstudio\b"),
    ("Stable Diffusion (AUTOMATIC1111 web UI)", r"\bautomatic1111\b|\ba1111\b|\bstable-diffusion-webui\b|\bsd\.next\b"
                                                r"|\bforge[\s_-]?webui\b|\bwebui[\s_-]forge\b"),
    ("ComfyUI", r"\bcomfyui\b"),
    ("SwarmUI", r"\b(?:stable)?swarmui\b"),
    ("Easy Diffusion", r"\beasy[\s_-]?diffusion\b"),
    ("InvokeAI", r"\binvoke\s?ai\b"),
    ("NovelAI", r"\bnovelai\b"),   # one word: not "a novel AI approach"
    ("Fooocus", r"\bfooocus\b"),
    # not "imagen 2 de 5"; Google's model ids: "imagen-3.0-generate-002"
    ("Google Imagen", r"\bgoogle\s+imagen\b|\bimagen\s?[234]\b(?!\s+de\b)|\bimagen-\d(?:\.\d)?-generate-\d{3}\b"),
    ("Google Gemini", r"\bgoogle\s+gemini\b|\bgemini[\s-](?:app|advanced|\d(?:\.\d)?[\s-](?:flash|pro))\b"
                      r"|\bnano[\s-]?banana\b|\bmade with google ai\b"),
    ("Google Veo", r"\bgoogle\s+veo\b|\bveo\s?[123](?:\.\d)?\b" + _V + r"|\bveo-\d(?:\.\d)?-generate-\d{3}\b"),
    # "FLUX.1 [dev]", "FLUX1.1 [pro]", "flux1-dev", "FLUX.2", "Flux Schnell"
    ("FLUX (Black Forest Labs)", r"\bflux\.?[12](?:\.\d)?\b|\bflux[\s_-](dev|schnell|pro|kontext)\b|\bblack forest labs\b"),
    ("Microsoft Designer / Bing Image Creator", r"\bbing image creator\b|\bmicrosoft designer\b|\bimage creator from microsoft\b"
                                                r"|\bmicrosoft[\s_-]copilot\b|\bcopilot[\s_-]designer\b"),
    ("Meta AI", r"\bmeta ai\b|\bimagine with meta\b"),
    ("Leonardo.Ai", r"\bleonardo\.?ai\b"),
    ("Ideogram", r"\bideogram\b"),
    ("Runway", r"\brunway\s?ml\b|\brunway gen-?\d\b"),
    ("Kling", r"\bkling[\s_-]?ai\b|\bkling[\s_-]v?[12](?:\.\d)?\b" + _V),   # not "Kling photo"
    ("Pika", r"\bpika\s?labs?\b"),
    ("Luma Dream Machine", r"\bluma\s?(ai|labs)?\s?dream machine\b"),
    ("Grok / Aurora (xAI)", r"\bgrok(?:[\s-]imagine\b|[\s-]?[234](?:\.\d)?\b" + _V + r"|$)|\bxai[\s_-](?:grok|aurora)\b"),
    ("Kandinsky", r"\bkandinsky[\s_-]?[2-5](?:\.\d)?\b" + _V),   # the model's versions, not the painter
    ("Hunyuan", r"\bhunyuan\b"),
    ("NightCafe", r"\bnightcafe\b"),
    ("Craiyon", r"\bcraiyon\b"),
    ("Playground AI", r"\bplayground\s?ai\b|\bplaygroundai\b|\bplayground[\s_-]v[23](?:\.5)?\b" + _V),
    ("Apple Image Playground", r"\bimage playground\b"),
    ("Recraft", r"\brecraft(?:\.ai\b|[\s_-]?ai\b|[\s_-]?v\d\b)"),         # not the verb: "Recraft V3", "Recraft AI"
    ("Seedream / Dreamina (ByteDance)", r"\bseedream\b|\bdreamina\b|\bjimeng[\s_-]?ai\b|即梦"),   # Jimeng is also a name
    ("Hailuo (MiniMax)", r"\bhailuo[\s_-]?(?:ai\b|0\d\b)|\bminimax[\s_-](?:hailuo|image-?01|video-?01)\b"),
    ("Qwen-Image (Alibaba)", r"\bqwen[\s_-]?image\b"),
    ("Krea", r"\bkrea[\s_.-]?ai\b|\bkrea[\s_-]1\b" + _V),
    ("Reve", r"\breve[\s_-](?:image|ai)\b|\breve\.art\b"),        # not the French word ("rêve")
    ("HiDream", r"\bhidream\b"),
    ("Kolors (Kuaishou)", r"\bkwai[\s_-]?kolors\b|\bkolors[\s_-]v?\d(?:\.\d)?\b" + _V),
    ("DreamShaper / Civitai model", r"\bcivitai\b"),
    ("Draw Things", r"(?-i:\bDraw Things\b)"),   # the app's name as written: not "kids draw things"
]

# stricter patterns for free text, by display name: "OpenAI Sora", "Sora 2" / "sora-2-pro" (OpenAI's
# model ids), never "made by Sora Kim"
FREE_TEXT: dict[str, str] = {
    "OpenAI Sora (video generation)": r"\bopenai[\s_-]+sora\b|\bsora[\s_-]?2\b" + _V,
}

_COMPILED = [(name, re.compile(pattern, re.IGNORECASE)) for name, pattern in GENERATORS]
_COMPILED_FREE = [(name, re.compile(FREE_TEXT.get(name, pattern), re.IGNORECASE)) for name, pattern in GENERATORS]


def match_generator(text: str | None, free_text: bool = False) -> str | None:
    """Display name of the first known generator named in `text`, or None. `free_text`: a caption,
    credit or comment (FREE_TEXT's stricter patterns), not a field naming the program."""
    if not text or not isinstance(text, str):
        return None
    text = text[:4000]
    for name, pattern in _COMPILED_FREE if free_text else _COMPILED:
        if pattern.search(text):
            return name
    return None

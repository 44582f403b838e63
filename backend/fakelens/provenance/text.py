"""Text a file carries (a certificate's names, a claim generator, metadata fields) made fit to show:
anyone writes it, and it is shown beside FakeLens's own words in the tooltip, the popup, the report
and the terminal. Control characters (a terminal's escape sequences, new lines), bidirectional
overrides (which turned "(not on FakeLens's trust list)" backwards after a signer's name) and runs of blank
characters (which pushed it out of view) are taken out, and the length is capped."""

import re

from ..terminal import CONTROL_OR_BIDI

# whitespace, and characters that show as a blank without being one (Braille blank, Hangul fillers,
# zero-width ones)
_BLANKS = re.compile("[\\s\u200b-\u200d\u2060\ufeff\u2800\u3164\u115f\u1160\uffa0]+")


def plain(value, limit: int = 100) -> str | None:
    """`value` as one line of at most `limit` characters (cut with "…"); None stays None."""
    if value is None:
        return None
    text = _BLANKS.sub(" ", CONTROL_OR_BIDI.sub(" ", str(value))).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


# quote marks in a name FakeLens puts in quotes: one closed them and wrote its own "(trusted)" after
# them. Double ones go; single ones become a plain apostrophe, which keeps "O’Reilly" readable
_QUOTES = str.maketrans({**dict.fromkeys("\"“”„‟«»〝〞〟＂❝❞⹂″‶"), **dict.fromkeys("‘’‚‛‹›❛❜＇`′‵", "'")})


def quoted(text, limit: int = 100) -> str:
    """Text a file supplies, said as its words: one plain line in “…”, with its own double quote marks
    taken out (a tool's name closed the quotes and wrote FakeLens's trust words after them)."""
    return f"“{plain(text, limit).translate(_QUOTES)}”"


def signer_words(name: str | None) -> str:
    """A signer's name as a claim, in quotes (a certificate's name is whatever its maker typed), or
    "an unknown signer"."""
    return quoted(name) if name else "an unknown signer"


# the IPTC DigitalSourceType vocabulary's terms (cv.iptc.org/newscodes/digitalsourcetype), in common words:
# the report printed the bare token ("digitalCapture"), which few readers know
SOURCE_TYPE_WORDS = {
    "digitalCapture": "camera capture", "computationalCapture": "computational camera capture (a phone's, say)",
    "compositeCapture": "composite of camera captures", "screenCapture": "screen capture",
    "negativeFilm": "scan of a film negative", "positiveFilm": "scan of a film positive (a slide)",
    "print": "scan of a print", "humanEdits": "edited by a person", "minorHumanEdits": "minor edits by a person",
    "algorithmicallyEnhanced": "enhanced by an algorithm", "digitalCreation": "made on a computer by a person",
    "digitalArt": "digital art, made by a person", "dataDrivenMedia": "made from data (a visualisation, say)",
    "virtualRecording": "virtual recording (of a game or simulation, say)",
    "compositeSynthetic": "composite of synthetic elements", "trainedAlgorithmicMedia": "AI-generated",
    "compositeWithTrainedAlgorithmicMedia": "composite with AI-generated elements",
    "algorithmicMedia": "made by an algorithm, not a trained AI model",
}


def source_type_words(token: str | None) -> str | None:
    """An IPTC DigitalSourceType token in words, the token kept after them: "camera capture
    (digitalCapture)"; one not in the vocabulary as it is."""
    return f"{SOURCE_TYPE_WORDS[token]} ({token})" if isinstance(token, str) and token in SOURCE_TYPE_WORDS else token

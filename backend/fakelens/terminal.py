"""Text for a terminal or a spreadsheet that a file, a server or a file name wrote: its control and
bidirectional characters written as escapes (an escape sequence in a signer's name or a redirect's
address rewrote the verdict line on screen), and a CSV cell that a spreadsheet would run as a formula
quoted."""

import re

# C0 and C1 controls, and the bidirectional marks, embeddings, overrides and isolates
CONTROL_OR_BIDI = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def shown(text) -> str:
    """`text` with control and bidi characters as visible escapes (\\x1b, \\u202e)."""
    return CONTROL_OR_BIDI.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), str(text))


def csv_cell(value):
    """A value for a CSV cell: text a spreadsheet takes for a formula (=, +, -, @, a tab or a return
    first) gets a leading apostrophe; numbers and the rest as they are."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value

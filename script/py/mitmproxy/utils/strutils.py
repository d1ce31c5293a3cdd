"""String helpers as in mitmproxy.utils.strutils."""
import codecs


def always_bytes(str_or_bytes, *encode_args):
    if str_or_bytes is None or isinstance(str_or_bytes, bytes):
        return str_or_bytes
    if isinstance(str_or_bytes, str):
        return str_or_bytes.encode(*(encode_args or ("utf-8", "surrogateescape")))
    raise TypeError(
        "Expected str or bytes, but got {}.".format(type(str_or_bytes).__name__)
    )


def always_str(str_or_bytes, *decode_args):
    if str_or_bytes is None or isinstance(str_or_bytes, str):
        return str_or_bytes
    if isinstance(str_or_bytes, bytes):
        return str_or_bytes.decode(*(decode_args or ("utf-8", "surrogateescape")))
    raise TypeError(
        "Expected str or bytes, but got {}.".format(type(str_or_bytes).__name__)
    )


def escaped_str_to_bytes(data):
    """Turn a string with Python escapes ("\\n", "\\x00") into the bytes it
    stands for (the 0.18-era replace() took its pattern this way)."""
    if not isinstance(data, str):
        raise ValueError("data must be str, but is {}".format(type(data).__name__))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return codecs.escape_decode(data.encode("utf-8", "surrogateescape"))[0]


def bytes_to_escaped_str(data, keep_spacing=False, escape_single_quotes=False):
    if not isinstance(data, bytes):
        raise ValueError("data must be bytes, but is {}".format(type(data).__name__))
    ret = repr(data)[2:-1]
    if not escape_single_quotes:
        ret = ret.replace("\\'", "'")
    if keep_spacing:
        ret = ret.replace("\\n", "\n").replace("\\r", "\r").replace("\\t", "\t")
    return ret


def _control_table(keep_spacing):
    table = {c: ord(".") for c in range(32)}
    table[127] = ord(".")
    if keep_spacing:
        for c in "\r\n\t":
            del table[ord(c)]
    return table


_CONTROL = _control_table(False)
_CONTROL_SPACING = _control_table(True)


def escape_control_characters(text, keep_spacing=True):
    """text with each ASCII control character shown as "." (tabs and line
    breaks kept when keep_spacing)."""
    if not isinstance(text, str):
        raise ValueError("text type must be unicode but is {}".format(type(text).__name__))
    return text.translate(_CONTROL_SPACING if keep_spacing else _CONTROL)


def is_mostly_bin(s):
    """Whether the start of s looks like binary data rather than text."""
    if not s:
        return False
    if len(s) > 100:
        # About 100 bytes, not cutting a UTF-8 sequence in two.
        cut = 100
        while cut < min(104, len(s)) and (s[cut] & 0xC0) == 0x80:
            cut += 1
        s = s[:cut] if cut < min(104, len(s)) else s[:100]
    low = sum(1 for b in s if b < 9 or 13 < b < 32)
    high = sum(1 for b in s if b > 126)
    ascii_ = len(s) - low - high
    if ascii_ / len(s) > 0.7:
        return False
    if (ascii_ + high) / len(s) > 0.95:
        try:
            s.decode()
            return False
        except ValueError:
            pass
    return True


def is_xml(s):
    """Whether s starts with "<" after XML whitespace."""
    for b in s:
        if b in (9, 10, 13, 32):
            continue
        return b == 60
    return False


def clean_hanging_newline(t):
    """t without one final newline (one an editor added)."""
    if t and t[-1] == "\n":
        return t[:-1]
    return t


def hexdump(s):
    """(offset, hex, text) for each 16 bytes of s."""
    for i in range(0, len(s), 16):
        part = s[i:i + 16]
        hx = " ".join("%02x" % b for b in part).ljust(47)
        text = escape_control_characters(part.decode("ascii", "replace").replace("\ufffd", "."), False)
        yield ("%010x" % i, hx, text)


NO_ESCAPE = r"(?<!\\)(?:\\\\)*"
MULTILINE_CONTENT = r"[\s\S]*?"
SINGLELINE_CONTENT = r".*?"
MULTILINE_CONTENT_LINE_CONTINUATION = r"(?:.|(?<=\\)\n)*?"


def split_special_areas(data, area_delimiter):
    """data as [code, special area, code, ...]: the areas are what the
    regular expressions area_delimiter match; joined, the parts are data."""
    import re

    return re.split("({})".format("|".join(area_delimiter)), data, flags=re.MULTILINE)


def escape_special_areas(data, area_delimiter, control_characters):
    """data with control_characters inside special areas moved to Unicode's
    private use plane (U+E000 + code), so that regular expressions leave
    them alone; unescape_special_areas undoes it."""
    import re

    rex = re.compile("[{}]".format(control_characters))
    parts = split_special_areas(data, area_delimiter)
    return "".join(
        rex.sub(lambda m: chr(ord(m.group(0)) + 0xE000), x) if i % 2 else x for i, x in enumerate(parts)
    )


def unescape_special_areas(data):
    """The inverse of escape_special_areas."""
    import re

    return re.sub("[\ue000-\ue0ff]", lambda m: chr(ord(m.group(0)) - 0xE000), data)


def cut_after_n_lines(content, n):
    """content up to and including its n-th line break."""
    assert n > 0
    pos = content.find("\n")
    while pos >= 0 and n > 1:
        pos = content.find("\n", pos + 1)
        n -= 1
    if pos >= 0:
        content = content[:pos + 1]
    return content

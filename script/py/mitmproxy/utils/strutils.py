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

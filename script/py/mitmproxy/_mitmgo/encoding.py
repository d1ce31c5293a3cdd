"""Content-Encoding codecs: gzip and deflate with the standard library, br
and zstd through the Go side (or the brotli/zstandard modules if present)."""
import gzip
import zlib

from . import runtime

_cache = {}


def _norm(name):
    return (name or "").strip().lower()


def decode(data, encoding):
    """Remove the content-encoding; ValueError if it is invalid."""
    enc = _norm(encoding)
    if enc in ("", "identity", "none"):
        return data
    if not data:
        return b""
    hit = _cache.get("d")
    if hit is not None and hit[0] == enc and hit[1] is data:
        return hit[2]
    try:
        if enc in ("gzip", "x-gzip"):
            out = gzip.decompress(data)
        elif enc == "deflate":
            try:
                out = zlib.decompress(data)
            except zlib.error:
                out = zlib.decompress(data, -15)
        elif enc == "deflateraw":
            out = zlib.decompress(data, -15)
        elif enc in ("br", "zstd"):
            out = _external("decode", enc, data)
        else:
            raise ValueError("Invalid Content-Encoding: %s" % encoding)
    except ValueError:
        raise
    except Exception as e:
        raise ValueError("%s when decoding %s content" % (type(e).__name__, enc)) from e
    _cache["d"] = (enc, data, out)
    return out


def encode(data, encoding):
    """Apply the content-encoding; ValueError if it is unknown."""
    enc = _norm(encoding)
    if enc in ("", "identity", "none"):
        return data
    if enc in ("gzip", "x-gzip"):
        return gzip.compress(data, compresslevel=1, mtime=0)
    if enc == "deflate":
        return zlib.compress(data, 1)
    if enc == "deflateraw":
        c = zlib.compressobj(1, zlib.DEFLATED, -15)
        return c.compress(data) + c.flush()
    if enc in ("br", "zstd"):
        return _external("encode", enc, data)
    raise ValueError("Invalid Content-Encoding: %s" % encoding)


def _external(direction, enc, data):
    try:
        if enc == "br":
            import brotli  # type: ignore
            return brotli.decompress(data) if direction == "decode" else brotli.compress(data, quality=1)
        import zstandard  # type: ignore
        if direction == "decode":
            return zstandard.ZstdDecompressor().decompressobj().decompress(data)
        return zstandard.ZstdCompressor(level=1).compress(data)
    except ImportError:
        pass
    try:
        return runtime.request("codec", dir=direction, enc=enc, data=data)
    except runtime.HostUnavailable:
        raise ValueError("%s content needs the mitmgo host to %s" % (enc, direction))
    except RuntimeError as e:
        raise ValueError(str(e))

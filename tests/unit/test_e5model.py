"""The E5S1 codec, q4_0 quantisation and model patches, on a tiny synthetic model file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flocon.analysis import e5model as em

H = 64
FF = 128


def _pieces() -> tuple[list[bytes], list[float]]:
    pieces = [b"<s>", b"<pad>", b"</s>", b"<unk>", "▁".encode(), "▁ab".encode(), b"a", b"b", b"c"]
    pieces += ["▁é".encode(), b"ab"]
    scores = [0.0, 0.0, 0.0, 0.0, -3.0, -1.0, -4.0, -4.0, -5.0, -2.0, -2.5]
    return pieces, scores


def _tensors(rng: np.random.Generator, voc: int) -> dict[str, tuple[int, int, bytes]]:
    def q4(rows: int, cols: int) -> tuple[int, int, bytes]:
        w = rng.normal(0, 0.05, (rows, cols)).astype(np.float32)
        return em.DTYPE_Q4_0, rows * cols, em.quantize_q4_0(w).tobytes()

    def f32(n: int) -> tuple[int, int, bytes]:
        return em.DTYPE_F32, n, rng.normal(0, 1, n).astype("<f4").tobytes()

    out = {
        "emb.word": q4(voc, H),
        "emb.pos": f32(16 * H),
        "emb.type": f32(2 * H),
        "emb.ln.w": f32(H),
        "emb.ln.b": f32(H),
    }
    for name, (rows, cols) in {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H)}.items():
        out[f"l0.{name}.w"] = q4(rows, cols)
        out[f"l0.{name}.b"] = f32(rows)
    out["l0.fi.w"], out["l0.fi.b"] = q4(FF, H), f32(FF)
    out["l0.fo.w"], out["l0.fo.b"] = q4(H, FF), f32(H)
    for ln in ("aln", "oln"):
        out[f"l0.{ln}.w"], out[f"l0.{ln}.b"] = f32(H), f32(H)
    return out


def _write(path: Path, seed: int = 0) -> dict[str, tuple[int, int, bytes]]:
    pieces, scores = _pieces()
    tensors = _tensors(np.random.default_rng(seed), len(pieces))
    em.write_e5s1(
        path,
        config={"H": H, "NL": 1, "NH": 2, "FF": FF, "VOC": len(pieces), "MAXP": 16, "TVS": 2},
        eps=1e-12,
        pieces=pieces,
        scores=scores,
        specials={"bos": 0, "eos": 2, "pad": 1, "unk": 3},
        norm={ord("É"): (ord("é"),), ord("\t"): (ord(" "),)},
        tensors=tensors,
    )
    return tensors


def test_q4_0_round_trip() -> None:
    rng = np.random.default_rng(1)
    w = rng.normal(0, 0.1, (8, 96)).astype(np.float32)
    raw = em.quantize_q4_0(w)
    assert raw.shape == (8, 3 * 18)
    deq = em.dequantize_q4_0(raw)
    assert deq.shape == w.shape
    # error at most one step d = max|w| / 8 of the block (half a step, except where the
    # positive side is clamped at +7 d)
    step = np.abs(w.reshape(-1, 32)).max(1) / 8
    err = np.abs(deq - w).reshape(-1, 32)
    assert np.all(err <= step[:, None] * 1.001)
    assert err.mean() < step.mean() / 3
    # quantising already-quantised values is exact (the format is a fixed point)
    assert np.array_equal(em.quantize_q4_0(deq), raw)
    assert np.array_equal(em.dequantize_q4_0(raw.reshape(-1), w.size), deq.reshape(-1))
    zeros = em.dequantize_q4_0(em.quantize_q4_0(np.zeros((1, 32), np.float32)))
    assert not zeros.any()


def test_q4_0_layout_matches_engine() -> None:
    # byte j: weight j in the low nibble, weight j + 16 in the high one; value (q - 8) * d
    w = np.arange(-16, 16, dtype=np.float32)[None, :]
    raw = em.quantize_q4_0(w)
    d = raw[0, :2].copy().view("<f2")[0]
    assert d == np.float16(2.0)  # -16 / -8
    assert raw[0, 2] & 0x0F == 0  # weight 0 = -16 -> nibble 0
    assert raw[0, 2] >> 4 == 8  # weight 16 = 0 -> nibble 8


def test_reader_writer_round_trip(tmp_path: Path) -> None:
    p = tmp_path / "m.bin"
    tensors = _write(p)
    f = em.read_e5s1(p)
    assert f.config["H"] == H and f.config["FF"] == FF and f.config["qk"] == 32
    assert f.specials == {"bos": 0, "eos": 2, "pad": 1, "unk": 3}
    assert f.norm[ord("É")] == (ord("é"),)
    assert set(f.tensors) == set(tensors)
    for name, (dtype, n, raw) in tensors.items():
        t = f.tensors[name]
        assert (t.dtype, t.n) == (dtype, n)
        assert t.offset % 64 == 0
        assert f.raw(name) == raw
    assert f.array("l0.fi.w").shape == (FF * H,)
    p2 = tmp_path / "m2.bin"
    em.write_e5s1(
        p2,
        config=f.config,
        eps=f.eps,
        pieces=f.pieces,
        scores=f.scores,
        specials=f.specials,
        norm=f.norm,
        tensors={n: (t.dtype, t.n, f.raw(n)) for n, t in f.tensors.items()},
    )
    assert p2.read_bytes() == p.read_bytes()


def test_bad_magic(tmp_path: Path) -> None:
    p = tmp_path / "x.bin"
    p.write_bytes(b"NOPE" + b"\0" * 64)
    with pytest.raises(ValueError, match="magic"):
        em.read_e5s1(p)


def test_tokenizer(tmp_path: Path) -> None:
    p = tmp_path / "m.bin"
    _write(p)
    tok = em.read_e5s1(p).tokenizer()
    assert tok.normalize("ab  c") == "▁ab▁c"
    assert tok.normalize(" ab") == "▁ab"
    assert tok.content_ids("ab") == [5]  # "▁ab" beats "▁" + "ab"
    assert tok.content_ids("ab c") == [5, 4, 8]
    assert tok.content_ids("É") == [9]  # normalisation map
    assert tok.content_ids("x") == [4, 3]  # unknown character
    assert tok.encode("ab", is_query=False)[0] == 0
    assert tok.encode("ab", is_query=False)[-1] == 2


def test_patch_apply_and_cache(tmp_path: Path) -> None:
    base = tmp_path / "base.bin"
    tensors = _write(base)
    rng = np.random.default_rng(7)
    new_w = em.quantize_q4_0(rng.normal(0, 0.05, (H, H)).astype(np.float32)).tobytes()
    new_b = rng.normal(0, 1, H).astype("<f4").tobytes()
    patch = tmp_path / "p.patch"
    manifest = em.write_patch(patch, base, {"l0.q.w": new_w, "l0.q.b": new_b}, meta={"x": 1})
    assert manifest["base_sha256"] == em.sha256_file(base)
    cache = tmp_path / "cache"
    out = em.apply_patch(patch, cache, base=base)
    assert em.sha256_file(out) == manifest["result_sha256"]
    f = em.read_e5s1(out)
    assert f.raw("l0.q.w") == new_w
    assert f.raw("l0.q.b") == new_b
    assert f.raw("l0.k.w") == tensors["l0.k.w"][2]
    mtime = out.stat().st_mtime_ns
    assert em.apply_patch(patch, cache, base=base) == out  # idempotent: reused
    assert out.stat().st_mtime_ns == mtime
    out.write_bytes(out.read_bytes()[:-1] + b"\x01")  # a corrupt cached file is rebuilt
    assert em.sha256_file(em.apply_patch(patch, cache, base=base)) == manifest["result_sha256"]


def test_patch_refuses_other_base(tmp_path: Path) -> None:
    base = tmp_path / "base.bin"
    _write(base)
    other = tmp_path / "other.bin"
    _write(other, seed=1)
    patch = tmp_path / "p.patch"
    em.write_patch(patch, base, {"l0.q.b": np.zeros(H, "<f4").tobytes()})
    with pytest.raises(em.PatchError, match="not the one this patch was made for"):
        em.apply_patch(patch, tmp_path / "cache", base=other)
    with pytest.raises(em.PatchError, match="bytes"):
        em.write_patch(patch, base, {"l0.q.b": b"\0" * 4})
    bad = tmp_path / "bad.patch"
    bad.write_bytes(b"not a zip")
    with pytest.raises(em.PatchError, match="unreadable"):
        em.apply_patch(bad, tmp_path / "cache", base=base)

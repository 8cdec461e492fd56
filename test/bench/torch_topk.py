"""Time 1,000-probe top-k verification in PyTorch eager, for the perf bench's ratio.

The model is make_fixtures.py's SASRec (the training-time module a user exports) loaded with the
ONNX initializers the bench wrote: builder weights are [in, out] for MatMul, so each Linear gets
the transpose, and q/k/v are stacked into the fused qkv projection. Output "last", dropout 0,
inference mode. Probes are left-padded int64 rows [P, T]; the pad column is excluded from top-k.
Usage: torch_topk.py DIR BATCH K THREADS — DIR holds manifest.json, weights.bin, probes.bin;
writes DIR/lists.bin (int32 [P, K]) and prints one JSON line.
"""
import json
import os
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_fixtures import SASRec  # noqa: E402


def load(directory):
    manifest = json.load(open(os.path.join(directory, "manifest.json")))
    raw = np.fromfile(os.path.join(directory, "weights.bin"), dtype=np.float32)
    weights = {
        name: torch.from_numpy(raw[e["offset"] : e["offset"] + int(np.prod(e["dims"]))].reshape(e["dims"]).copy())
        for name, e in manifest["weights"].items()
    }
    return manifest, weights


def state_dict(weights, blocks):
    sd = {
        "item_emb.weight": weights["item_emb.weight"],
        "pos_emb.weight": weights["pos_emb.weight"],
        "ln.weight": weights["ln.weight"],
        "ln.bias": weights["ln.bias"],
    }
    for b in range(blocks):
        p = f"blocks.{b}"
        sd[f"{p}.attn.qkv.weight"] = torch.cat([weights[f"{p}.attn.{n}.weight"].t() for n in "qkv"], 0)
        sd[f"{p}.attn.qkv.bias"] = torch.cat([weights[f"{p}.attn.{n}.bias"] for n in "qkv"], 0)
        for name in ("attn.out", "ff.0", "ff.3"):
            sd[f"{p}.{name}.weight"] = weights[f"{p}.{name}.weight"].t().contiguous()
            sd[f"{p}.{name}.bias"] = weights[f"{p}.{name}.bias"]
        for name in ("ln1", "ln2"):
            sd[f"{p}.{name}.weight"] = weights[f"{p}.{name}.weight"]
            sd[f"{p}.{name}.bias"] = weights[f"{p}.{name}.bias"]
    return sd


def top_k(model, probes, batch, k):
    out = []
    for start in range(0, probes.shape[0], batch):
        scores = model(probes[start : start + batch])
        scores[:, 0] = -float("inf")  # the pad id never ranks
        out.append(torch.topk(scores, k, dim=1).indices.to(torch.int32))
    return torch.cat(out)


def main():
    directory, batch, k, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
    torch.set_num_threads(threads)
    manifest, weights = load(directory)
    n, d = weights["item_emb.weight"].shape
    model = SASRec(n - 1, d=d, blocks=manifest["blocks"], heads=manifest["heads"], dropout=0.0, tied=True, output="last")
    model.load_state_dict(state_dict(weights, manifest["blocks"]))
    model.eval()
    t = manifest["seqLen"]
    probes = torch.from_numpy(np.fromfile(os.path.join(directory, "probes.bin"), dtype=np.int64).reshape(-1, t))
    with torch.inference_mode():
        top_k(model, probes[:batch], batch, k)  # warm-up
        best = float("inf")
        for _ in range(manifest["repeats"]):
            start = time.perf_counter()
            lists = top_k(model, probes, batch, k)
            best = min(best, time.perf_counter() - start)
    lists.numpy().tofile(os.path.join(directory, "lists.bin"))
    print(json.dumps({"seconds": best, "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()

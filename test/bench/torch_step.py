"""Time one SASRec training step in PyTorch at the shape of the RecMark bench, for the ratio.

Same architecture as test/fixtures/sasrec_opset17.onnx (d=64, 2 blocks, 1 head, 3650 items,
T=50), same step: forward, cross-entropy at the last position over all ids, backward, AdamW.
Run with Debian's python3 (python3-torch). Prints one JSON line.
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "fixtures"))
from make_fixtures import SASRec  # noqa: E402


def blas():
    try:
        return os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
    except OSError:
        return "unknown"


def main():
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 128
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    torch.manual_seed(1)
    torch.set_num_threads(os.cpu_count() or 1)
    model = SASRec(3650, d=64, blocks=2, heads=1, dropout=0.0, tied=True, output="last")
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.0)
    seq = torch.randint(1, 3651, (batch, 50))
    target = torch.randint(1, 3651, (batch,))
    for _ in range(3):  # warm-up
        opt.zero_grad()
        F.cross_entropy(model(seq), target).backward()
        opt.step()
    start = time.perf_counter()
    for _ in range(steps):
        opt.zero_grad()
        F.cross_entropy(model(seq), target).backward()
        opt.step()
    seconds = time.perf_counter() - start
    print(json.dumps({"stepsPerSecond": steps / seconds, "torch": torch.__version__, "threads": torch.get_num_threads(), "blas": blas()}))


if __name__ == "__main__":
    main()

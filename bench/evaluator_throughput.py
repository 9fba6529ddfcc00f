"""Training throughput of the zoo's evaluator networks on this CPU: what a CIFAR-10 evaluator recipe costs.

    OMP_NUM_THREADS=1 .venv/bin/python bench/evaluator_throughput.py [--threads 1] [--iters 4]

Times full training steps (forward, backward, Nesterov SGD) of each architecture genzoo can train as an
evaluator (genzoo.core.metrics.extractors.evaluator.EvaluatorNet, channels-last) on random 32x32 RGB
batches of 512, in fp32 and under bf16 autocast, and prints images/s and the minutes one epoch of the
50,000 CIFAR-10 training images takes, which is how the shipped resnet-cifar10 recipe was sized.
"""

from __future__ import annotations

import argparse
import time

import torch
import torch.nn.functional as F

from genzoo.core.metrics.extractors.evaluator import EvaluatorNet


def images_per_second(arch: str, width: int, bf16: bool, batch: int, iters: int) -> float:
    torch.manual_seed(0)
    model = EvaluatorNet(arch, 32, 3, 10, width=width)
    model.net.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, nesterov=True)
    x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    y = torch.randint(10, (batch,))
    start = 0.0
    for i in range(iters + 1):  # the first step warms up oneDNN's kernels and is not timed
        if i == 1:
            start = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = F.cross_entropy(model(x)[1], y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return batch * iters / (time.perf_counter() - start)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--iters", type=int, default=4)
    ap.add_argument("--batch", type=int, default=512)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    print("| network | precision | images/s | min per CIFAR-10 epoch |\n|---|---|---|---|")
    for arch, width in (("resnet", 32), ("resnet9", 32), ("resnet9", 64)):
        for bf16 in (False, True):
            rate = images_per_second(arch, width, bf16, args.batch, args.iters)
            print(f"| {arch} width {width} | {'bf16 autocast' if bf16 else 'fp32'} | {rate:.0f} | "
                  f"{50_000 / rate / 60:.1f} |", flush=True)
    print(f"\ntorch {torch.__version__}, {args.threads} thread(s), CPU capability "
          f"{torch.backends.cpu.get_cpu_capability()}")


if __name__ == "__main__":
    main()

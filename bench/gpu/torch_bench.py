#!/usr/bin/env python3
"""PyTorch eager side of the GPU benchmark (bench/gpu/run.sh).

    python3 bench/gpu/torch_bench.py clip      --batch 256 --iters 50
    python3 bench/gpu/torch_bench.py grounding --batch 8 --height 800 --width 1333 --iters 10

Builds the randomly initialised model of the real shape (transformers
CLIPModel ViT-B/32, GroundingDinoForObjectDetection with its default
GroundingDINO-T config), feeds it one fixed synthetic batch per iteration
and prints one JSON line:

    {"graph": "image", "images_per_s": ..., "ms_per_batch": ..., "max_abs_diff_gpu_cpu": ...}

Each timed iteration copies the batch's uint8 pixels host -> device,
normalises on the GPU, runs the model and copies the output back, as the
Go path does with a uint8_nhwc bundle. CLIP runs under fp16 autocast,
Grounding DINO in fp32 (TF32 as PyTorch's defaults allow). The GPU vs CPU
difference compares the first output on one batch (--diff-batch images)
between the GPU run (same precision as timed) and an fp32 CPU run of the
same weights.
"""

from __future__ import annotations

import argparse
import json
import sys
import time


def fail(msg: str) -> None:
    print(f"torch_bench: {msg}", file=sys.stderr)
    sys.exit(2)


try:
    import numpy as np
    import torch
except ImportError as e:  # run.sh checks first; this is for direct use
    fail(f"{e}: needs torch and numpy")

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def normalizer(mean, std, device):
    """uint8 [B,H,W,3] -> float32 [B,3,H,W] normalised (0-1 scale mean/std)."""
    mul = torch.tensor([1 / 255 / s for s in std], device=device)
    add = torch.tensor([-m / s for m, s in zip(mean, std)], device=device)
    return lambda u8: (u8.float() * mul + add).permute(0, 3, 1, 2).contiguous()


def timed(step, iters: int, warmup: int) -> float:
    """Seconds per call of step() after warmup, with CUDA synchronised."""
    for _ in range(warmup):
        step()
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    torch.cuda.synchronize()
    return (time.perf_counter() - t0) / iters


def max_diff(a, b) -> float:
    a, b = a.float().cpu(), b.float().cpu()
    finite = torch.isfinite(a) & torch.isfinite(b)
    if not torch.equal(torch.isfinite(a), torch.isfinite(b)):
        return float("inf")
    return float((a[finite] - b[finite]).abs().max()) if finite.any() else 0.0


def bench_clip(args) -> dict:
    import transformers as tf

    torch.manual_seed(0)
    cfg = tf.CLIPConfig()  # defaults: ViT-B/32 vision tower, 512-d projection
    try:
        model = tf.CLIPModel._from_config(cfg, attn_implementation=args.attn)
    except (TypeError, ValueError):
        model = tf.CLIPModel(cfg)
    model.eval()
    size = cfg.vision_config.image_size
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.integers(0, 256, (args.batch, size, size, 3), dtype=np.uint8))

    def run(m, u8, device, autocast):
        norm = normalizer(CLIP_MEAN, CLIP_STD, device)
        with torch.no_grad(), torch.autocast("cuda", dtype=torch.float16, enabled=autocast):
            x = norm(u8.to(device))
            return m.visual_projection(m.vision_model(pixel_values=x)[1]).float()

    gpu = model.to("cuda")
    sec = timed(lambda: run(gpu, pixels, "cuda", True).cpu(), args.iters, args.warmup)
    n = min(args.diff_batch or args.batch, args.batch)
    out_gpu = run(gpu, pixels[:n], "cuda", True)
    out_cpu = run(model.to("cpu").float(), pixels[:n], "cpu", False)
    return {"graph": "image", "model": "CLIP ViT-B/32 (random init)", "precision": "fp16 autocast",
            "batch": args.batch, "images_per_s": args.batch / sec, "ms_per_batch": 1000 * sec,
            "max_abs_diff_gpu_cpu": max_diff(out_gpu, out_cpu), "diff_batch": n}


def bench_grounding(args) -> dict:
    import transformers as tf

    torch.manual_seed(0)
    # defaults: Swin-T + BERT-base, 900 queries (GroundingDINO-T); --single-stage drops the
    # two-stage query selection, whose top-k over near-equal random scores reorders with rounding
    cfg = tf.GroundingDinoConfig(two_stage=not args.single_stage)
    model = tf.GroundingDinoForObjectDetection(cfg).eval()
    rng = np.random.default_rng(0)
    pixels = torch.from_numpy(rng.integers(0, 256, (args.batch, args.height, args.width, 3), dtype=np.uint8))
    ids = torch.full((args.batch, args.tokens), 2000, dtype=torch.long)
    ids[:, 0], ids[:, -1] = 101, 102
    ids[:, 3::4] = 1012  # "." every few tokens: several phrases, as a vocabulary prompt has
    ids[:, -1] = 102
    att = torch.ones_like(ids)

    def run(m, u8, device):
        norm = normalizer(IMAGENET_MEAN, IMAGENET_STD, device)
        b = u8.shape[0]
        with torch.no_grad():
            out = m(pixel_values=norm(u8.to(device)), input_ids=ids[:b].to(device),
                    attention_mask=att[:b].to(device), return_dict=True)
            return out.pred_boxes.float(), out.logits[:, :, : ids.shape[1]].float()

    gpu = model.to("cuda")
    sec = timed(lambda: [t.cpu() for t in run(gpu, pixels, "cuda")], args.iters, args.warmup)
    n = min(args.diff_batch or 2, args.batch)
    boxes_gpu, logits_gpu = run(gpu, pixels[:n], "cuda")
    boxes_cpu, logits_cpu = run(model.to("cpu"), pixels[:n], "cpu")
    return {"graph": "grounding", "model": "Grounding DINO-T (random init" + (", single stage)" if args.single_stage else ")"),
            "precision": "fp32",
            "batch": args.batch, "size": [args.height, args.width], "tokens": args.tokens,
            "images_per_s": args.batch / sec, "ms_per_batch": 1000 * sec,
            "max_abs_diff_gpu_cpu": max_diff(boxes_gpu, boxes_cpu), "max_abs_diff_gpu_cpu_logits":
                max_diff(logits_gpu, logits_cpu), "diff_batch": n}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("graph", choices=["clip", "grounding"])
    ap.add_argument("--batch", type=int)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--height", type=int, default=800)
    ap.add_argument("--width", type=int, default=1333)
    ap.add_argument("--tokens", type=int, default=32, help="grounding prompt length, [CLS] and [SEP] included")
    ap.add_argument("--diff-batch", type=int, help="images compared GPU vs CPU (default: clip all, grounding 2)")
    ap.add_argument("--attn", default="eager", help="CLIP attention implementation (eager, sdpa)")
    ap.add_argument("--single-stage", action="store_true", help="grounding: no two-stage query selection")
    args = ap.parse_args()
    if not torch.cuda.is_available():
        fail("torch.cuda.is_available() is False: no CUDA GPU for PyTorch")
    try:
        import transformers  # noqa: F401
    except ImportError:
        fail("transformers is not importable (pip install transformers)")
    if args.graph == "clip":
        args.batch = args.batch or 256
        res = bench_clip(args)
    else:
        args.batch = args.batch or 8
        res = bench_grounding(args)
    res["device"] = torch.cuda.get_device_name(0)
    res["torch"] = torch.__version__
    print(json.dumps(res))


if __name__ == "__main__":
    main()

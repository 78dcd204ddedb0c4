#!/usr/bin/env python3
"""Self-test of the export code paths without transformers, open_clip or weights.

    python3 tools/export/selftest.py [--keep DIR] [--go]

Builds a small CLIP-like model in PyTorch (a patch-conv + attention image
tower, a 49408-token embedding + causal attention text tower pooled at the
first end-of-text token, as CLIP's) and runs clip.export_clip on it - the
same code as `clip.py`: uint8 NHWC prefix, RoiAlign region graph, fp16
conversion, fixtures and model.json - for fp32 and fp16 bundles, then checks:

* each ONNX file with onnx.checker and strict type inference;
* model.json: files and their sha256, roles, image spec, tokenizer;
* fixtures.json: the fields model/bundle/fixtures.go accepts, finite values;
* the uint8 prefix against the host normalisation, in PyTorch;
* the export-friendly Grounding DINO text mask against the loop it replaces;
* with --go: `go run ./cmd/groundbeam models verify DIR` on each bundle
  (needs the Go toolchain and ONNX Runtime; the verify command's output is
  printed as it is).

Needs torch, torchvision, onnx, numpy and Pillow (Debian: python3-torch,
python3-torchvision, python3-onnx, python3-numpy, python3-pil). Exit status 0
when every check passes.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402

FAILURES = []


def check(cond: bool, what: str) -> None:
    """Records and prints one check."""
    print(f"  {'ok  ' if cond else 'FAIL'} {what}")
    if not cond:
        FAILURES.append(what)


def tiny_clip_parts(seed: int = 0):
    """A ClipParts of a small random CLIP-like model of CLIP's vocabulary."""
    import torch
    from torch import nn

    import clip

    torch.manual_seed(seed)
    S, D, W = 64, 24, 32

    class Block(nn.Module):
        """Pre-norm attention + MLP block written out as matmuls."""

        def __init__(self, width, heads, causal):
            super().__init__()
            self.ln1, self.ln2 = nn.LayerNorm(width), nn.LayerNorm(width)
            self.qkv, self.out = nn.Linear(width, 3 * width), nn.Linear(width, width)
            self.fc1, self.fc2 = nn.Linear(width, 4 * width), nn.Linear(4 * width, width)
            self.heads, self.causal = heads, causal

        def forward(self, x):
            b, t, c = x.shape
            q, k, v = self.qkv(self.ln1(x)).chunk(3, dim=-1)
            h = self.heads

            def split(z):
                return z.reshape(b, t, h, c // h).transpose(1, 2)

            att = split(q) @ split(k).transpose(-1, -2) / (c // h) ** 0.5
            if self.causal:
                mask = torch.full((t, t), torch.finfo(att.dtype).min, device=x.device).triu(1)
                att = att + mask
            y = (att.softmax(-1) @ split(v)).transpose(1, 2).reshape(b, t, c)
            x = x + self.out(y)
            return x + self.fc2(nn.functional.gelu(self.fc1(self.ln2(x))))

    class Image(nn.Module):
        def __init__(self):
            super().__init__()
            self.patch = nn.Conv2d(3, W, kernel_size=16, stride=16, bias=False)
            self.cls = nn.Parameter(torch.randn(W) * 0.02)
            self.pos = nn.Parameter(torch.randn((S // 16) ** 2 + 1, W) * 0.02)
            self.block = Block(W, 4, causal=False)
            self.ln = nn.LayerNorm(W)
            self.proj = nn.Linear(W, D, bias=False)

        def forward(self, pixel_values):
            x = self.patch(pixel_values).flatten(2).transpose(1, 2)
            x = torch.cat([self.cls.expand(x.shape[0], 1, -1), x], dim=1) + self.pos
            x = self.block(x)
            return self.proj(self.ln(x[:, 0]))

    class Text(nn.Module):
        def __init__(self):
            super().__init__()
            self.tok = nn.Embedding(49408, W)
            self.pos = nn.Parameter(torch.randn(77, W) * 0.01)
            self.block = Block(W, 4, causal=True)
            self.ln = nn.LayerNorm(W)
            self.proj = nn.Linear(W, D, bias=False)

        def forward(self, input_ids):
            x = self.block(self.tok(input_ids) + self.pos)
            x = self.ln(x)
            eot = (input_ids == clip.EOT).int().argmax(-1)
            return self.proj(x[torch.arange(x.shape[0], device=x.device), eot])

    return clip.ClipParts(Image().eval(), Text().eval(), S, clip.OPENAI_MEAN, clip.OPENAI_STD, 77, D,
                          lambda text: None, f"selftest tiny CLIP-like model (seed {seed})")


def check_bundle(folder: str, fp16: bool, uint8: bool) -> None:
    """Structural checks of one written bundle."""
    import numpy as np
    import onnx

    m = json.load(open(os.path.join(folder, "model.json")))
    check(m["format_version"] == 1 and m["kind"] == "clip", "model.json format_version 1, kind clip")
    files = common.bundle_files(folder)
    check(m["files"] == files, f"model.json lists every file with its sha256 ({len(files)} files)")
    for need in ("image.onnx", "text.onnx", "region.onnx", "fixtures.json", common.CLIP_BPE_FILE,
                 "fixtures/image0.png"):
        check(need in files, f"bundle has {need}")
    check(m["image"]["input"] == (common.INPUT_UINT8_NHWC if uint8 else common.INPUT_FLOAT32_NCHW),
          f"image.input is {m['image']['input']}")
    check(m["text"] == {"tokenizer": "clip_bpe", "vocab": common.CLIP_BPE_FILE, "context_length": 77},
          "text spec is clip_bpe / bpe_simple_vocab_16e6.txt.gz / 77")
    check(m["inputs"] == {"image": "pixel_values", "input_ids": "input_ids", "boxes": "boxes"} and
          m["outputs"] == {"image_embeds": "image_embeds", "text_embeds": "text_embeds",
                           "region_embeds": "region_embeds"}, "input and output roles as model/tiny's")
    elem = onnx.TensorProto
    for fname, ins, outs in (("image.onnx", {"pixel_values": (elem.UINT8 if uint8 else elem.FLOAT, 4)},
                              {"image_embeds": (elem.FLOAT, 2)}),
                             ("text.onnx", {"input_ids": (elem.INT64, 2)}, {"text_embeds": (elem.FLOAT, 2)}),
                             ("region.onnx", {"pixel_values": (elem.UINT8 if uint8 else elem.FLOAT, 4),
                                              "boxes": (elem.FLOAT, 2)}, {"region_embeds": (elem.FLOAT, 2)})):
        model = onnx.load(os.path.join(folder, fname))
        try:
            onnx.checker.check_model(model)
            onnx.shape_inference.infer_shapes(model, strict_mode=True)
            ok = True
        except Exception as e:  # printed below
            print(f"    {fname}: {e}")
            ok = False
        check(ok, f"{fname} passes onnx.checker and strict type inference")
        got_in = {v.name: (v.type.tensor_type.elem_type, len(v.type.tensor_type.shape.dim)) for v in model.graph.input}
        got_out = {v.name: (v.type.tensor_type.elem_type, len(v.type.tensor_type.shape.dim))
                   for v in model.graph.output}
        check(got_in == ins and got_out == outs, f"{fname} inputs {got_in} outputs {got_out}")
        types = {t.data_type for t in model.graph.initializer if t.data_type in (elem.FLOAT, elem.FLOAT16)}
        ops = [n.op_type for n in model.graph.node]
        if fp16:
            check(elem.FLOAT16 in types, f"{fname} holds float16 weights")
        else:
            check(types <= {elem.FLOAT}, f"{fname} holds float32 weights only")
        if fname == "region.onnx":
            ra = [n for n in model.graph.node if n.op_type == "RoiAlign"]
            attrs = {a.name: onnx.helper.get_attribute_value(a) for a in ra[0].attribute} if ra else {}
            check(len(ra) == 1 and attrs.get("coordinate_transformation_mode") == b"half_pixel" and
                  attrs.get("sampling_ratio") == 2 and attrs.get("output_height") == 64 and
                  ra[0].input[1] == "boxes",
                  "region.onnx: one RoiAlign (half_pixel, sampling_ratio 2, 64x64) fed by the boxes input itself")
        if uint8 and fname != "text.onnx":
            first = [n for n in model.graph.node if "pixel_values" in n.input]
            check(bool(first) and first[0].op_type == "Cast", f"{fname}: the uint8 input goes into a Cast first")
        del ops
    fx = json.load(open(os.path.join(folder, "fixtures.json")))
    allowed = {"format_version", "source", "tolerance", "parity", "tokens", "cases"}
    case_fields = {"name", "graph", "image", "text", "boxes", "output", "shape", "values", "tolerance"}
    check(set(fx) <= allowed and all(set(c) <= case_fields for c in fx["cases"]),
          "fixtures.json has only the fields model/bundle/fixtures.go accepts")
    check(fx["tolerance"] == (0.05 if fp16 else 0.001), f"tolerance {fx['tolerance']} for {'fp16' if fp16 else 'fp32'}")
    graphs = sorted(c["graph"] for c in fx["cases"])
    check(graphs == ["image", "region", "text", "text"], f"cases cover the graphs: {graphs}")
    ok = all(int(np.prod(c["shape"])) == len(c["values"]) and np.all(np.isfinite(c["values"])) for c in fx["cases"])
    check(ok, "every case's shape matches its finite values")
    check(fx["tokens"][0] == {"text": "a photo of a cat", "ids": [49406, 320, 1125, 539, 320, 2368, 49407]},
          "token fixture for 'a photo of a cat'")
    from PIL import Image
    with Image.open(os.path.join(folder, "fixtures/image0.png")) as im:
        check(im.size == (64, 64) and im.mode == "RGB", f"fixture image is 64x64 RGB ({im.size}, {im.mode})")


def check_uint8_prefix() -> None:
    """The graph-side normalisation equals the host-side one."""
    import numpy as np
    import torch

    pix = common.fixture_pixels(40, 30, seed=3)
    for scale, mean, std in ((1.0, (0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
                             (255.0, (123.675, 116.28, 103.53), (58.395, 57.12, 57.375))):
        norm = common.make_uint8_normalize(mean, std, scale)
        got = norm(torch.from_numpy(pix[None])).numpy()
        want = common.normalize_float(pix, mean, std, scale)
        check(got.shape == (1, 3, 30, 40) and float(np.max(np.abs(got - want))) < 1e-5,
              f"uint8 prefix = host normalisation (scale {scale:g}), max diff {float(np.max(np.abs(got - want))):.2g}")


def check_fixture_size() -> None:
    """Grounding fixture sizes are fixed points of the resize rule."""
    w, h = common.grounding_fixture_size(800, 1333, 32)
    check((w, h) == (1312, 800) and common.grounding_input_size(w, h, 800, 1333) == (w, h),
          f"grounding fixture size for 800/1333/32 is {w}x{h}, unchanged by the resize rule")
    check(common.grounding_input_size(640, 427, 800, 1333) == (1199, 800), "resize rule gives 640x427 -> 1199x800 "
          "(model/glip.InputSize's documented case)")


def check_text_masks() -> None:
    """grounding_dino's export-friendly text masks equal HF's loop on
    random prompts (with and without padding)."""
    import torch

    import grounding_dino as gd

    gen = torch.Generator().manual_seed(0)
    ok = True
    for trial in range(200):
        b, n = 1 + trial % 3, 2 + int(torch.randint(0, 30, (1,), generator=gen))
        ids = torch.randint(1000, 3000, (b, n), generator=gen)
        special = torch.tensor(gd.SPECIAL_TOKENS)
        ids = torch.where(torch.rand(b, n, generator=gen) < 0.25, special[torch.randint(0, 4, (b, n), generator=gen)],
                          ids)
        ids[:, 0] = 101
        for r in range(b):
            pad = int(torch.randint(0, max(n - 1, 1), (1,), generator=gen)) if trial % 2 else 0
            ids[r, n - 1 - pad] = 102
            if pad:
                ids[r, n - pad:] = 0
        want_m, want_p = gd.reference_text_masks(ids)
        got_m, got_p = gd.text_masks(ids)
        if not (torch.equal(want_m, got_m) and torch.equal(want_p, got_p)):
            ok = False
            print(f"    mismatch for ids {ids.tolist()}")
            break
    check(ok, "export-friendly text masks = HF's loop on 200 random prompts")


def check_dynamic_shapes() -> None:
    """grounding_dino.export_patches keeps sizes that go through
    torch.as_tensor symbolic in the trace (HF's spatial_shapes)."""
    import io
    import types

    import onnx
    import torch

    import grounding_dino as gd

    class SpatialShapes(torch.nn.Module):
        def forward(self, x):
            maps = (torch.nn.functional.avg_pool2d(x, 2), torch.nn.functional.avg_pool2d(x, 4))
            shapes = torch.as_tensor([(f.shape[2], f.shape[3]) for f in maps], dtype=torch.long)
            return shapes.prod(1).cumsum(0).float()

    fake = types.ModuleType("fake_modeling")
    fake.generate_masks_with_special_tokens_and_transfer_map = None
    results = {}
    for patched in (False, True):
        f = io.BytesIO()
        ctx = gd.export_patches(fake) if patched else contextlib.nullcontext()
        with ctx:
            torch.onnx.export(SpatialShapes(), (torch.zeros(1, 3, 16, 24),), f, opset_version=17,
                              input_names=["x"], output_names=["y"], dynamic_axes={"x": {2: "H", 3: "W"}})
        g = onnx.load_from_string(f.getvalue()).graph
        producer = {o: n.op_type for n in g.node for o in n.output}
        results[patched] = ("Shape" in producer.values(), producer.get("y"))
    check(results[True][0] and results[True][1] != "Constant",
          f"as_tensor over traced sizes stays symbolic under export_patches ({results[True]})")
    check(torch.as_tensor is not None and not results[False][0],
          f"without the patch the same trace is constant ({results[False]}), so the patch is what matters")


def go_verify(folder: str) -> None:
    """Runs the Go side's bundle check on folder, when it exists."""
    root = common.REPO_ROOT
    cmd = ["go", "run", "./cmd/groundbeam", "models", "verify", folder]
    print(f"  $ {' '.join(cmd)}")
    p = subprocess.run(cmd, cwd=root, capture_output=True, text=True)
    out = (p.stdout + p.stderr).strip()
    print("    " + out.replace("\n", "\n    "))
    check(p.returncode == 0, f"groundbeam models verify {os.path.basename(folder)} exits 0")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", metavar="DIR", help="write the bundles under DIR instead of a temporary folder")
    ap.add_argument("--go", action="store_true", help="also run `groundbeam models verify` on each bundle")
    args = ap.parse_args()

    import clip

    print("checks without export")
    check_uint8_prefix()
    check_fixture_size()
    check_text_masks()
    check_dynamic_shapes()
    base = args.keep or tempfile.mkdtemp(prefix="groundbeam-export-selftest-")
    for fp16 in (False, True):
        for input_kind in (common.INPUT_UINT8_NHWC, common.INPUT_FLOAT32_NCHW):
            if fp16 and input_kind == common.INPUT_FLOAT32_NCHW:
                continue
            name = f"clip-selftest-{'fp16' if fp16 else 'fp32'}-{'u8' if input_kind == common.INPUT_UINT8_NHWC else 'f32'}"
            folder = os.path.join(base, name)
            print(f"bundle {folder}")
            common.prepare_folder(folder, overwrite=True)
            parts = tiny_clip_parts()
            clip.export_clip(parts, folder, name=name, input_kind=input_kind, fp16=fp16, text=True, region=True,
                             sampling_ratio=2, fixture_image=None,
                             tolerance=clip.FP16_TOLERANCE if fp16 else clip.FP32_TOLERANCE, allow=False,
                             device="cpu", bpe=common.DEFAULT_BPE, seed=0)
            check_bundle(folder, fp16, input_kind == common.INPUT_UINT8_NHWC)
            if args.go:
                go_verify(folder)
    print(f"bundles in {base}")
    if FAILURES:
        print(f"{len(FAILURES)} checks failed")
        sys.exit(1)
    print("all checks passed")


if __name__ == "__main__":
    common.run_main(main)

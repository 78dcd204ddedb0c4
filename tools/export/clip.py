#!/usr/bin/env python3
"""Export a CLIP model to a groundbeam clip bundle.

    python tools/export/clip.py --hf PATH OUT                 # transformers CLIPModel folder
    python tools/export/clip.py --open-clip ARCH --pretrained FILE OUT
    python tools/export/clip.py --random-init --arch ViT-B/32 OUT   # real shapes, random weights

OUT receives model.json, image.onnx, text.onnx, region.onnx, CLIP's BPE
merges file (bpe_simple_vocab_16e6.txt.gz, copied from model/bpe) and
fixtures (fixtures.json, fixtures/image0.png). The graphs:

* image.onnx  pixel_values uint8 [B,S,S,3] (or float32 [B,3,S,S] with
  --input float32_nchw) -> image_embeds float32 [B,D]: the projected image
  embedding, not L2-normalised (model/clip normalises);
* text.onnx   input_ids int64 [B,77] -> text_embeds float32 [B,D]: the
  projected embedding at the first end-of-text token, not normalised;
* region.onnx pixel_values uint8 [1,H,W,3] (or float32 [1,3,H,W]) + boxes
  float32 [K,4] (x1,y1,x2,y2 pixels) -> region_embeds float32 [K,D]: each
  box cropped and resized to SxS by ONNX RoiAlign (avg, half_pixel,
  sampling_ratio 2) and run through the same image tower - the contract of
  model/tiny's CLIPRegion.

With --fp16 the graphs compute in float16 (inputs and outputs stay as
above; the uint8 normalisation and RoiAlign stay float32). Nothing is
downloaded: --hf and --pretrained name local files; --random-init needs no
weights at all.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ExportError  # noqa: E402

# Reference tokenizations from OpenAI CLIP's tokenizer (start 49406 and end
# 49407 included, no padding), used when no tokenizer is loadable (random
# init): the Go tokenizer must reproduce them.
KNOWN_CLIP_IDS = {
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "A man riding a wave on top of a surfboard.": [49406, 320, 786, 6765, 320, 4535, 525, 1253, 539, 320, 10176,
                                                   1972, 269, 49407],
    "Two dogs playing with a red frisbee in the park": [49406, 1237, 3255, 1629, 593, 320, 736, 45768, 530, 518,
                                                        1452, 49407],
    "The cat's toy mouse is under the sofa!": [49406, 518, 2368, 568, 5988, 9301, 533, 1798, 518, 15723, 256,
                                               49407],
}
FIXTURE_TEXTS = ["a photo of a cat", "A man riding a wave on top of a surfboard."]

OPENAI_MEAN = (0.48145466, 0.4578275, 0.40821073)
OPENAI_STD = (0.26862954, 0.26130258, 0.27577711)
SOT, EOT = 49406, 49407

# Architectures --random-init knows: vision (width, layers, heads, patch,
# image), text (width, layers, heads), projection dim.
ARCHS = {
    "ViT-B/32": dict(v=(768, 12, 12, 32, 224), t=(512, 12, 8), proj=512),
    "ViT-B/16": dict(v=(768, 12, 12, 16, 224), t=(512, 12, 8), proj=512),
    "ViT-L/14": dict(v=(1024, 24, 16, 14, 224), t=(768, 12, 12), proj=768),
    "ViT-L/14@336": dict(v=(1024, 24, 16, 14, 336), t=(768, 12, 12), proj=768),
}

# Tolerances `groundbeam models verify` applies (fixtures.json). fp32: ONNX
# Runtime and PyTorch agree to ~1e-5 on CLIP embeddings whose values are
# O(0.1-1); 1e-3 leaves room for other CPUs and thread counts while a wrong
# graph (preprocessing, pooling, projection) is off by O(0.1) or more.
# fp16: float16 keeps ~3 significant digits per operation, and the error
# grows through the towers' 12-24 residual blocks; measured fp16 CLIP
# embeddings differ from fp32 by up to ~1e-2, so 5e-2 accepts them and
# still rejects a wrong graph.
FP32_TOLERANCE = 1e-3
FP16_TOLERANCE = 5e-2


class ClipParts:
    """What the exporter needs from a CLIP model, whatever its library."""

    def __init__(self, image_tower, text_tower, image_size, mean, std, context_length, embed_dim, tokenize, source):
        self.image_tower = image_tower
        self.text_tower = text_tower
        self.image_size = image_size
        self.mean = mean
        self.std = std
        self.context_length = context_length
        self.embed_dim = embed_dim
        self.tokenize = tokenize  # text -> full ids, or None when unknown
        self.source = source


def _hf_parts(args) -> ClipParts:
    """A transformers CLIPModel, from a local folder or a random config."""
    torch = common.require("torch")
    tf = common.require("transformers", why="--hf and --random-init (default backend) load transformers' CLIPModel")
    if args.random_init:
        a = ARCHS[args.arch]
        (vw, vl, vh, patch, size), (tw, tl, th) = a["v"], a["t"]
        cfg = tf.CLIPConfig(
            text_config=dict(hidden_size=tw, intermediate_size=4 * tw, num_hidden_layers=tl, num_attention_heads=th,
                             max_position_embeddings=77, vocab_size=49408, bos_token_id=SOT, eos_token_id=EOT),
            vision_config=dict(hidden_size=vw, intermediate_size=4 * vw, num_hidden_layers=vl,
                               num_attention_heads=vh, patch_size=patch, image_size=size),
            projection_dim=a["proj"])
        torch.manual_seed(args.seed)
        try:
            model = tf.CLIPModel._from_config(cfg, attn_implementation="eager")
        except (TypeError, ValueError):
            model = tf.CLIPModel(cfg)
        source = f"random init {args.arch} (seed {args.seed})"
        mean, std = OPENAI_MEAN, OPENAI_STD
        tok = None
    else:
        try:
            model = tf.CLIPModel.from_pretrained(args.hf, attn_implementation="eager", local_files_only=True)
        except TypeError:
            model = tf.CLIPModel.from_pretrained(args.hf, local_files_only=True)
        source = f"transformers CLIPModel {args.hf}"
        mean, std = OPENAI_MEAN, OPENAI_STD
        try:
            proc = tf.CLIPImageProcessor.from_pretrained(args.hf, local_files_only=True)
            mean, std = tuple(proc.image_mean), tuple(proc.image_std)
        except Exception as e:  # no preprocessor_config.json: OpenAI's values
            print(f"  note: no image processor config in {args.hf} ({e.__class__.__name__}); using OpenAI mean/std")
        try:
            tok = tf.CLIPTokenizer.from_pretrained(args.hf, local_files_only=True)
        except Exception as e:
            print(f"  note: no CLIP tokenizer in {args.hf} ({e.__class__.__name__}); using known reference ids")
            tok = None
    model.eval()
    size = model.config.vision_config.image_size

    class Image(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.vision_model, self.visual_projection = model.vision_model, model.visual_projection

        def forward(self, pixel_values):
            pooled = self.vision_model(pixel_values=pixel_values)[1]
            return self.visual_projection(pooled)

    class Text(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.text_model, self.text_projection = model.text_model, model.text_projection

        def forward(self, input_ids):
            pooled = self.text_model(input_ids=input_ids)[1]
            return self.text_projection(pooled)

    def tokenize(text):
        if tok is None:
            return None
        return list(tok(text)["input_ids"])

    return ClipParts(Image().eval(), Text().eval(), size, mean, std, 77, model.config.projection_dim, tokenize, source)


def _open_clip_parts(args) -> ClipParts:
    """An open_clip model: ARCH from open_clip's configs, weights from a local file."""
    torch = common.require("torch")
    oc = common.require("open_clip", "open_clip_torch", "--open-clip uses open_clip")
    arch = args.open_clip if args.open_clip else args.arch.replace("/", "-")
    if arch.startswith("hf-hub:"):
        raise ExportError("--open-clip hf-hub:... would download; give an architecture name and --pretrained FILE")
    if args.random_init:
        torch.manual_seed(args.seed)
        model = oc.create_model(arch, pretrained=None)
        source = f"random init open_clip {arch} (seed {args.seed})"
    else:
        if not args.pretrained or not os.path.isfile(args.pretrained):
            raise ExportError("--open-clip needs --pretrained FILE (a local checkpoint)")
        model = oc.create_model(arch, pretrained=args.pretrained)
        source = f"open_clip {arch} {os.path.basename(args.pretrained)}"
    model.eval()
    size = model.visual.image_size
    if isinstance(size, (tuple, list)):
        if size[0] != size[1]:
            raise ExportError(f"{arch}: non-square image size {size}")
        size = size[0]
    mean = tuple(getattr(model.visual, "image_mean", None) or OPENAI_MEAN)
    std = tuple(getattr(model.visual, "image_std", None) or OPENAI_STD)
    ctx = int(getattr(model, "context_length", 77))
    tok = oc.get_tokenizer(arch)

    class Image(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, pixel_values):
            return self.m.encode_image(pixel_values)

    class Text(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids):
            return self.m.encode_text(input_ids)

    def tokenize(text):
        row = tok([text])[0].tolist()
        if EOT not in row:
            raise ExportError(f"{arch}'s tokenizer gave no end-of-text token ({EOT}) for {text!r}: not CLIP BPE")
        return row[: row.index(EOT) + 1]

    with torch.no_grad():
        dim = int(model.encode_text(torch.zeros(1, ctx, dtype=torch.long)).shape[-1])
    return ClipParts(Image().eval(), Text().eval(), size, mean, std, ctx, dim, tokenize, source)


def load_parts(args) -> ClipParts:
    """The model the arguments name."""
    if args.open_clip or (args.random_init and args.backend == "open_clip"):
        return _open_clip_parts(args)
    return _hf_parts(args)


def reference_ids(parts: ClipParts, text: str):
    """The reference tokenizer's full ids for text (the model's tokenizer,
    else the known OpenAI ids); None when neither knows the text."""
    ids = parts.tokenize(text)
    if ids is None:
        ids = KNOWN_CLIP_IDS.get(text)
    if ids is not None and (ids[0] != SOT or ids[-1] != EOT):
        raise ExportError(f"tokenizer ids for {text!r} do not start with {SOT} and end with {EOT}: not CLIP BPE")
    return ids


def export_clip(parts: ClipParts, out: str, *, name: str, input_kind: str, fp16: bool, text: bool, region: bool,
                sampling_ratio: int, fixture_image: str, tolerance: float, allow: bool, device: str,
                bpe: str, seed: int) -> dict:
    """Writes the bundle for parts into out; returns the manifest."""
    torch = common.require("torch")
    np = common.require("numpy")
    S, ctx = parts.image_size, parts.context_length
    uint8 = input_kind == common.INPUT_UINT8_NHWC
    dev = common.device_of(device)
    image_tower = parts.image_tower.to(dev).float()
    text_tower = parts.text_tower.to(dev).float()

    def normalize():
        return common.make_uint8_normalize(parts.mean, parts.std, 1.0).to(dev) if uint8 else None

    fx = common.Fixtures(out, f"{parts.source}; PyTorch fp32 references; {common.versions()}", tolerance)
    ort = common.OrtRunner()
    if not ort.available:
        print("  note: onnxruntime is not importable: parity is not measured (fixtures.json has no parity)")

    # Fixture inputs and PyTorch references (fp32, the original towers).
    pixels = common.load_fixture_image(fixture_image, S, S, seed)
    img_rel = fx.add_image("image0", pixels)
    x = torch.from_numpy(common.normalize_float(pixels, parts.mean, parts.std, 1.0)).to(dev)
    s = float(S)
    boxes = np.array([[10, 20, 100, 120], [0, 0, s, s], [50.5, 60.25, s - 12, s - 3.5]], dtype=np.float32)
    with torch.no_grad():
        ref_image = image_tower(x).float().cpu().numpy()
        region_ref_module = common.make_region_module(image_tower, None, S, sampling_ratio)
        ref_region = region_ref_module(x, torch.from_numpy(boxes).to(dev)).float().cpu().numpy()
    texts = []
    for t in FIXTURE_TEXTS + [k for k in KNOWN_CLIP_IDS if k not in FIXTURE_TEXTS]:
        ids = reference_ids(parts, t)
        if ids is None:
            continue
        if len(ids) > ctx:
            raise ExportError(f"fixture text {t!r} has {len(ids)} tokens, more than the context length {ctx}")
        fx.add_tokens(t, ids)
        if t in FIXTURE_TEXTS:
            texts.append((t, ids))
    if text and not texts:
        raise ExportError("no reference tokenizer and no known ids for the fixture texts")

    with tempfile.TemporaryDirectory() as tmp:
        graphs = {}
        # Image graph.
        img_mod = common.with_image_input(image_tower, normalize())
        dummy = (torch.zeros(2, S, S, 3, dtype=torch.uint8) if uint8 else torch.zeros(2, 3, S, S)).to(dev)
        p = os.path.join(tmp, "image.onnx")
        common.export_onnx(img_mod, (dummy,), p, input_names=["pixel_values"], output_names=["image_embeds"],
                           dynamic_axes={"pixel_values": {0: "B"}, "image_embeds": {0: "B"}})
        graphs["image.onnx"] = p
        # Text graph.
        if text:
            p = os.path.join(tmp, "text.onnx")
            ids = torch.zeros(2, ctx, dtype=torch.long, device=dev)
            ids[:, 0], ids[:, 1] = SOT, EOT
            common.export_onnx(text_tower, (ids,), p, input_names=["input_ids"], output_names=["text_embeds"],
                               dynamic_axes={"input_ids": {0: "B"}, "text_embeds": {0: "B"}})
            graphs["text.onnx"] = p
        # Region graph: the image at any size, K boxes.
        if region:
            reg_mod = common.make_region_module(image_tower, normalize(), S, sampling_ratio)
            H, W = S + 32, S + 64
            dummy = (torch.zeros(1, H, W, 3, dtype=torch.uint8) if uint8 else torch.zeros(1, 3, H, W)).to(dev)
            b = torch.tensor([[0.0, 0.0, 10.0, 10.0], [5.0, 5.0, 50.0, 40.0]], device=dev)
            p = os.path.join(tmp, "region.onnx")
            common.export_onnx(reg_mod, (dummy, b), p, input_names=["pixel_values", "boxes"],
                               output_names=["region_embeds"],
                               dynamic_axes={"pixel_values": {1: "H", 2: "W"} if uint8 else {2: "H", 3: "W"},
                                             "boxes": {0: "K"}, "region_embeds": {0: "K"}})
            graphs["region.onnx"] = p
        for fname, p in graphs.items():
            dst = os.path.join(out, fname)
            if fp16:
                onnx = common.require("onnx")
                keep = common.prefix_nodes(onnx.load(p), "pixel_values") if uint8 else []
                common.convert_to_fp16(p, dst, fp32_nodes=keep)
            else:
                shutil.move(p, dst)  # /tmp may be another filesystem

    # Cases and parity (ONNX Runtime CPU on the written graphs).
    feed_img = pixels[None] if uint8 else common.normalize_float(pixels, parts.mean, parts.std, 1.0)
    fx.add_case("image0", "image", "image_embeds", ref_image, image=img_rel)
    if ort.available:
        got = ort.run(os.path.join(out, "image.onnx"), {"pixel_values": feed_img}, "image_embeds")
        common.check_parity(fx, "image_embeds", common.max_abs_diff(got, ref_image), tolerance, allow)
    if region:
        fx.add_case("region0", "region", "region_embeds", ref_region, image=img_rel, boxes=boxes)
        if ort.available:
            got = ort.run(os.path.join(out, "region.onnx"), {"pixel_values": feed_img, "boxes": boxes},
                          "region_embeds")
            common.check_parity(fx, "region_embeds", common.max_abs_diff(got, ref_region), tolerance, allow)
    if text:
        for i, (t, ids) in enumerate(texts):
            row = np.zeros((1, ctx), dtype=np.int64)
            row[0, : len(ids)] = ids
            with torch.no_grad():
                ref = text_tower(torch.from_numpy(row).to(dev)).float().cpu().numpy()
            fx.add_case(f"text{i}", "text", "text_embeds", ref, text=t)
            if ort.available:
                got = ort.run(os.path.join(out, "text.onnx"), {"input_ids": row}, "text_embeds")
                common.check_parity(fx, "text_embeds", common.max_abs_diff(got, ref), tolerance, allow)
    fixtures = fx.write()

    vocab = common.copy_clip_bpe(out, bpe)
    inputs = {"image": "pixel_values"}
    outputs = {"image_embeds": "image_embeds"}
    if text:
        inputs["input_ids"], outputs["text_embeds"] = "input_ids", "text_embeds"
    if region:
        inputs["boxes"], outputs["region_embeds"] = "boxes", "region_embeds"
    manifest = {
        "name": name, "kind": "clip", "image_onnx": "image.onnx",
        "text_onnx": "text.onnx" if text else None, "region_onnx": "region.onnx" if region else None,
        "fixtures": fixtures, "inputs": inputs, "outputs": outputs, "embedding_dim": int(parts.embed_dim),
        "image": common.image_spec(resize="square", size=S, channel_order="RGB", scale=1, mean=parts.mean,
                                   std=parts.std, input_kind=input_kind),
        "text": {"tokenizer": "clip_bpe", "vocab": vocab, "context_length": ctx},
    }
    return common.write_manifest(out, manifest)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="bundle folder to write")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf", metavar="PATH", help="local transformers CLIPModel folder (config + weights)")
    src.add_argument("--open-clip", metavar="ARCH", help="open_clip architecture (e.g. ViT-B-32); with --pretrained")
    src.add_argument("--random-init", action="store_true", help="random weights of --arch's real shapes")
    ap.add_argument("--pretrained", metavar="FILE", help="open_clip checkpoint file")
    ap.add_argument("--arch", default="ViT-B/32", choices=sorted(ARCHS), help="--random-init architecture")
    ap.add_argument("--backend", default="hf", choices=["hf", "open_clip"], help="--random-init library")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--input", default=common.INPUT_UINT8_NHWC,
                    choices=[common.INPUT_UINT8_NHWC, common.INPUT_FLOAT32_NCHW], help="image input of the graphs")
    ap.add_argument("--fp16", action="store_true", help="float16 graphs (float32 inputs/outputs)")
    ap.add_argument("--no-text", action="store_true", help="leave out the text tower")
    ap.add_argument("--no-region", action="store_true", help="leave out the region graph")
    ap.add_argument("--region-sampling-ratio", type=int, default=2,
                    help="RoiAlign samples per output pixel and axis (0: adaptive); default 2 as model/tiny")
    ap.add_argument("--fixture-image", metavar="PATH", help="photo for the fixtures (default: synthetic)")
    ap.add_argument("--tolerance", type=float, help=f"verify tolerance (default {FP32_TOLERANCE:g} fp32, "
                                                    f"{FP16_TOLERANCE:g} fp16)")
    ap.add_argument("--allow-parity-failure", action="store_true", help="write the bundle even if parity fails")
    ap.add_argument("--device", default="cpu", help="torch device for tracing and references (cpu, cuda)")
    ap.add_argument("--bpe", default=common.DEFAULT_BPE, help="CLIP BPE merges file to ship")
    ap.add_argument("--seed", type=int, default=0, help="random-init and fixture-image seed")
    ap.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    args = ap.parse_args()
    if args.pretrained and not args.open_clip:
        ap.error("--pretrained goes with --open-clip")

    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out) and not args.overwrite:
        raise ExportError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    precision = common.pick_precision(args.fp16, FP32_TOLERANCE, FP16_TOLERANCE, args.tolerance)
    print(f"loading CLIP ({'random init ' + args.arch if args.random_init else args.hf or args.open_clip})")
    parts = load_parts(args)
    common.prepare_folder(out, args.overwrite)
    print(f"exporting to {out}: image {parts.image_size}px, D={parts.embed_dim}, {precision.name}, {args.input}")
    m = export_clip(parts, out, name=args.name or os.path.basename(out.rstrip("/")), input_kind=args.input,
                    fp16=args.fp16, text=not args.no_text, region=not args.no_region,
                    sampling_ratio=args.region_sampling_ratio, fixture_image=args.fixture_image,
                    tolerance=precision.tolerance, allow=args.allow_parity_failure, device=args.device,
                    bpe=args.bpe, seed=args.seed)
    print(f"wrote {out}/model.json ({len(m['files'])} files)")


if __name__ == "__main__":
    common.run_main(main)

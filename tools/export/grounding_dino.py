#!/usr/bin/env python3
"""Export Grounding DINO (transformers' GroundingDinoForObjectDetection) to a
groundbeam grounding bundle (the GLIP contract).

    python tools/export/grounding_dino.py --hf PATH OUT     # local folder, e.g. grounding-dino-tiny
    python tools/export/grounding_dino.py --random-init OUT # GroundingDINO-T shapes, random weights

OUT receives model.json, model.onnx, vocab.txt (BERT uncased WordPiece) and
fixtures (fixtures.json, fixtures/image0.png). model.onnx:

  inputs   pixel_values   uint8 [B,H,W,3] RGB (or float32 [B,3,H,W] with
                          --input float32_nchw), H and W multiples of 32
           input_ids      int64 [B,T]   BERT ids, T <= 256
           attention_mask int64 [B,T]
           pixel_mask     int64 [B,H,W] 1 over each image's pixels, 0 over padding
  outputs  pred_boxes     float32 [B,900,4] cx,cy,w,h as fractions of the
                          unpadded image (box_format cxcywh_norm)
           logits         float32 [B,900,T] raw token logits (sigmoid in Go);
                          -inf where attention_mask is 0

Three changes to the model, all inside the wrapper or only while tracing:

1. HF's text-mask helper (generate_masks_with_special_tokens_and_transfer_map)
   uses aten::isin and aten::cummax (or, in older transformers, a Python
   loop over torch.nonzero), none of which the TorchScript exporter can
   turn into a graph that holds for other prompts. text_masks() computes
   the same block-diagonal mask and position ids with comparisons and
   min/max reductions over a [B,T,T] grid; it is checked against the
   original on the fixture prompt here and against a loop on random
   prompts in selftest.py.
2. HF builds spatial_shapes with torch.as_tensor over the feature maps'
   sizes, which tracing records as a constant: the graph would keep the
   traced image size in its sampling offsets and reference points. While
   tracing, torch.as_tensor over nested lists holding traced sizes stacks
   them instead, so H and W stay dynamic.
3. logits are cut to T tokens (HF pads them to 256 with -inf), and padded
   pixels are zeroed after normalisation (pixel_mask), as HF's processor
   pads - so a uint8 batch padded with any colour gives the float results.

One ONNX file with dynamic H, W, B and T, rather than one per size bucket:
the Go side pads each batch to a multiple of 32 (model/teacher), so a
fixed-size graph would need padding to a bucket that Go does not know.
Tracing at 800x1344 takes Swin's "window padding needed" branch at every
stage, which is a no-op when no padding is needed, so the traced branch
holds for every size; the patch-embedding and patch-merging padding
branches are not needed for multiples of 32. The export is checked against
PyTorch at the fixture size and at --check-sizes (other sizes than the
trace) when onnxruntime is importable, and fails if any differs. If a
future transformers breaks that, --canvas S exports a graph for one square
S x S canvas (pad_multiple S, which today's Go code pads every batch to).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ExportError  # noqa: E402

# BERT ids of [CLS], [SEP], "." and "?": the tokens that end a phrase in
# Grounding DINO's text masks (HF's SPECIAL_TOKENS).
SPECIAL_TOKENS = [101, 102, 1012, 1029]
MAX_TEXT_LEN = 256
DEFAULT_PROMPT = "a cat. a remote control."
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)
REPO_BERT_VOCAB = os.path.join(common.REPO_ROOT, "model", "wordpiece", "testdata", "bert-base-uncased-vocab.txt")

# Tolerances `groundbeam models verify` applies. fp32: logits are O(1-30)
# and pass through a Swin-T, a BERT and 6+6 fused encoder/decoder layers
# with bilinear deformable sampling; ONNX Runtime and PyTorch agree to
# ~1e-4 relative there, so 5e-3 absolute leaves room without hiding a
# wrong graph (wrong preprocessing or masks move logits by O(1)). fp16 is
# experimental: ~3 significant digits per op over that depth moves logits
# by up to a few tenths, and a near-tie in the 900-query top-k can swap
# queries, so its tolerance is wide (0.5) and its parity must be read.
FP32_TOLERANCE = 5e-3
FP16_TOLERANCE = 0.5


def text_masks(input_ids):
    """Export-friendly equivalent of HF's
    generate_masks_with_special_tokens_and_transfer_map.

    For input_ids [B,T] returns (mask bool [B,T,T], position_ids int64 [B,T]):
    tokens from just after one special token (SPECIAL_TOKENS) up to and
    including the next special token c, where 0 < c < T-1, form a block
    that attends to itself, with positions 0, 1, ... inside the block;
    every other token attends only to itself, at position 0. Rows start
    with [CLS] (101), as the tokenizer writes them.

    Built from Equal, Less/GreaterOrEqual, Where and ReduceMin/ReduceMax on
    a [B,T,T] grid (T <= 256), which every runtime has."""
    torch = common.require("torch")
    n = input_ids.shape[1]
    special = input_ids == SPECIAL_TOKENS[0]
    for tok in SPECIAL_TOKENS[1:]:
        special = special | (input_ids == tok)
    pos = torch.arange(n, device=input_ids.device)
    posf = pos.to(torch.float32)
    sp = special[:, None, :]                       # [B,1,T]: is k special
    after = pos[None, None, :] >= pos[None, :, None]  # [1,T,T]: k >= j
    far = torch.full_like(posf, 1e4)[None, None, :]
    none = torch.full_like(posf, -1.0)[None, None, :]
    grid = posf[None, None, :]
    nxt = torch.where(sp & after, grid, far).amin(-1)    # first special at or after j
    prv = torch.where(sp & ~after, grid, none).amax(-1)  # last special before j
    valid = (nxt > 0) & (nxt < posf[-1])  # posf[-1] = T-1, kept as a float tensor while tracing
    block = torch.where(valid, nxt, -1.0 - posf[None, :])  # own id for tokens outside blocks
    mask = block[:, :, None] == block[:, None, :]
    position_ids = torch.where(valid, posf[None, :] - prv - 1, torch.zeros_like(prv)).to(torch.long)
    return mask, position_ids


def reference_text_masks(input_ids):
    """The semantics of HF's loop version of the text-mask helper, written
    out for testing text_masks (walks the special tokens in order, as HF
    does, carrying the previous one across rows)."""
    torch = common.require("torch")
    b, n = input_ids.shape
    special = torch.zeros_like(input_ids, dtype=torch.bool)
    for tok in SPECIAL_TOKENS:
        special |= input_ids == tok
    mask = torch.eye(n, dtype=torch.bool).unsqueeze(0).repeat(b, 1, 1)
    position_ids = torch.zeros((b, n), dtype=torch.long)
    previous = 0
    for row, col in torch.nonzero(special).tolist():
        if col == 0 or col == n - 1:
            mask[row, col, col] = True
            position_ids[row, col] = 0
        else:
            mask[row, previous + 1: col + 1, previous + 1: col + 1] = True
            position_ids[row, previous + 1: col + 1] = torch.arange(0, col - previous)
        previous = col
    return mask, position_ids


@contextlib.contextmanager
def export_patches(modeling):
    """While active: the modeling module's text-mask helper is text_masks,
    and torch.as_tensor over nested lists holding tensors (traced sizes)
    stacks them, so they stay dynamic in the trace."""
    torch = common.require("torch")
    name = "generate_masks_with_special_tokens_and_transfer_map"
    if not hasattr(modeling, name):
        raise ExportError(f"{modeling.__name__} has no {name}: this transformers version is not one the exporter "
                          "knows; check the text-mask code and update text_masks")
    original_masks = getattr(modeling, name)
    original_as_tensor = torch.as_tensor

    def holds_tensor(x):
        if isinstance(x, torch.Tensor):
            return True
        return isinstance(x, (list, tuple)) and any(holds_tensor(v) for v in x)

    def stack(x):
        if isinstance(x, (list, tuple)):
            return torch.stack([stack(v) for v in x])
        if isinstance(x, torch.Tensor):
            return x.reshape(())
        return torch.tensor(x)

    def as_tensor(data, dtype=None, device=None):
        if torch.jit.is_tracing() and isinstance(data, (list, tuple)) and holds_tensor(data):
            out = stack(data)
            return out.to(device=device or out.device, dtype=dtype or out.dtype)
        return original_as_tensor(data, dtype=dtype, device=device)

    setattr(modeling, name, lambda input_ids: text_masks(input_ids))
    torch.as_tensor = as_tensor
    try:
        yield original_masks
    finally:
        setattr(modeling, name, original_masks)
        torch.as_tensor = original_as_tensor


def make_wrapper(model, normalize):
    """The exported module: the bundle's inputs -> (pred_boxes, logits[..., :T])."""
    torch = common.require("torch")

    class Grounding(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.model = model
            self.normalize = normalize

        def forward(self, pixel_values, input_ids, attention_mask, pixel_mask):
            x = self.normalize(pixel_values) if self.normalize is not None else pixel_values
            x = x * pixel_mask[:, None].to(x.dtype)
            out = self.model(pixel_values=x, input_ids=input_ids, attention_mask=attention_mask,
                             pixel_mask=pixel_mask, return_dict=True)
            return out.pred_boxes, out.logits[:, :, : input_ids.shape[1]]

    return Grounding()


def bert_tokenizer(tf, vocab: str):
    """A lowercasing WordPiece tokenizer over the vocab.txt at vocab.
    transformers 4 reads the file from vocab_file=; transformers 5 keeps
    vocab_file= only for from_pretrained and takes the vocabulary itself as
    vocab=, so the file is read here and the result checked either way."""
    with open(vocab, encoding="utf-8") as f:
        vmap = {line.rstrip("\n"): i for i, line in enumerate(f)}
    want = vmap.get("[CLS]")
    if want is None:
        raise ExportError(f"{vocab} has no [CLS] token: not a BERT vocab.txt")
    attempts = []
    for kwargs in ({"vocab_file": vocab}, {"vocab": vmap}):
        try:
            tok = tf.BertTokenizerFast(do_lower_case=True, **kwargs)
        except (TypeError, ValueError) as e:
            attempts.append(f"{list(kwargs)[0]}=: {e}")
            continue
        if tok.convert_tokens_to_ids("[CLS]") == want and len(tok) >= len(vmap):
            return tok
        attempts.append(f"{list(kwargs)[0]}=: {len(tok)} tokens, [CLS] = {tok.convert_tokens_to_ids('[CLS]')}")
    raise ExportError(f"transformers {tf.__version__} builds no tokenizer over {vocab} "
                      f"({len(vmap)} tokens, [CLS] = {want}): " + "; ".join(attempts))


def set_text_attention(model, impl: str) -> None:
    """Sets the BERT text backbone's attention implementation. The rest
    of the model is loaded with eager attention (plain ops the exporter
    follows); transformers 5 hands BERT a 4-D boolean phrase mask, which its
    eager attention adds to the scores instead of masking with, so the
    text backbone keeps transformers' default (sdpa) unless asked."""
    if impl == "keep":
        return
    tb = getattr(getattr(model, "model", None), "text_backbone", None)
    if tb is None or not hasattr(tb, "config"):
        raise ExportError("--text-attention: the model has no model.text_backbone to set")
    tb.config._attn_implementation = impl
    print(f"  text backbone attention: {getattr(tb.config, '_attn_implementation', impl)}")


def load(args):
    """(model, tokenizer, vocab_path, mean, std, source)."""
    torch = common.require("torch")
    tf = common.require("transformers", why="the exporter loads GroundingDinoForObjectDetection")
    if args.single_stage and not args.random_init:
        raise ExportError("--single-stage is for --random-init (a checkpoint's config decides its stages)")
    if args.random_init:
        cfg = tf.GroundingDinoConfig(two_stage=not args.single_stage)
        torch.manual_seed(args.seed)
        try:
            model = tf.GroundingDinoForObjectDetection._from_config(cfg, attn_implementation="eager")
        except (TypeError, ValueError):
            model = tf.GroundingDinoForObjectDetection(cfg)
        vocab = args.vocab or REPO_BERT_VOCAB
        if not os.path.isfile(vocab):
            raise ExportError(f"--random-init needs a BERT vocab.txt: {vocab} not found (pass --vocab)")
        tok = bert_tokenizer(tf, vocab)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        source = f"random init GroundingDINO-T config (seed {args.seed}{', single stage' if args.single_stage else ''})"
    else:
        try:
            model = tf.GroundingDinoForObjectDetection.from_pretrained(args.hf, local_files_only=True,
                                                                       attn_implementation="eager")
        except (TypeError, ValueError):
            model = tf.GroundingDinoForObjectDetection.from_pretrained(args.hf, local_files_only=True)
        tok = tf.AutoTokenizer.from_pretrained(args.hf, local_files_only=True)
        mean, std = IMAGENET_MEAN, IMAGENET_STD
        try:
            proc = tf.AutoImageProcessor.from_pretrained(args.hf, local_files_only=True)
            mean, std = tuple(proc.image_mean), tuple(proc.image_std)
        except Exception as e:
            print(f"  note: no image processor config in {args.hf} ({e.__class__.__name__}); using ImageNet mean/std")
        vocab = args.vocab or os.path.join(args.hf, "vocab.txt")
        if not os.path.isfile(vocab):
            tmp = tempfile.mkdtemp(prefix="gdino-vocab-")
            files = tok.save_vocabulary(tmp)
            vocab = next((f for f in files if f.endswith("vocab.txt")), None)
            if not vocab:
                raise ExportError(f"{args.hf}: tokenizer has no WordPiece vocab.txt (pass --vocab)")
        source = f"transformers GroundingDinoForObjectDetection {args.hf}"
    set_text_attention(model, args.text_attention)
    if not getattr(tok, "do_lower_case", True) and not getattr(tok, "init_kwargs", {}).get("do_lower_case", True):
        raise ExportError("the tokenizer does not lowercase; groundbeam's WordPiece bundle spec says lowercase")
    model.eval()
    return model, tok, vocab, mean, std, source


def parse_size(s: str):
    """'HxW' -> (H, W)."""
    try:
        h, w = s.lower().split("x")
        return int(h), int(w)
    except ValueError:
        raise ExportError(f"size {s!r}: want HxW, e.g. 800x1344") from None


def pad_to(pixels, ph: int, pw: int):
    """uint8 [h,w,3] padded at the bottom and right to [ph,pw,3] (zeros;
    the graph zeroes padding after normalisation anyway) and its pixel
    mask [ph,pw]."""
    np = common.require("numpy")
    h, w = pixels.shape[:2]
    out = np.zeros((ph, pw, 3), dtype=np.uint8)
    out[:h, :w] = pixels
    mask = np.zeros((ph, pw), dtype=np.int64)
    mask[:h, :w] = 1
    return out, mask


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", help="bundle folder to write")
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--hf", metavar="PATH", help="local transformers GroundingDinoForObjectDetection folder")
    src.add_argument("--random-init", action="store_true", help="random weights, GroundingDINO-T config")
    ap.add_argument("--vocab", help="BERT vocab.txt to ship (default: the model's; random init: model/wordpiece's)")
    ap.add_argument("--name", help="bundle name (default: the folder's name)")
    ap.add_argument("--input", default=common.INPUT_UINT8_NHWC,
                    choices=[common.INPUT_UINT8_NHWC, common.INPUT_FLOAT32_NCHW], help="image input of the graph")
    ap.add_argument("--fp16", action="store_true", help="float16 graph (experimental; see FP16_TOLERANCE)")
    ap.add_argument("--shortest-edge", type=int, default=800)
    ap.add_argument("--max-size", type=int, default=1333)
    ap.add_argument("--pad-multiple", type=int, default=32)
    ap.add_argument("--trace-size", default="800x1344", help="HxW the graph is traced at (see the module doc)")
    ap.add_argument("--check-sizes", default="800x1088,1088x800",
                    help="other HxW sizes at which ONNX Runtime must match PyTorch ('' for none)")
    ap.add_argument("--canvas", type=int, default=0,
                    help="fixed S x S graph instead of dynamic H, W (pad_multiple S, S >= --max-size)")
    ap.add_argument("--prompt", default=DEFAULT_PROMPT, help="fixture prompt")
    ap.add_argument("--fixture-image", metavar="PATH", help="photo for the fixture (default: synthetic)")
    ap.add_argument("--tolerance", type=float, help=f"verify tolerance (default {FP32_TOLERANCE:g} fp32, "
                                                    f"{FP16_TOLERANCE:g} fp16)")
    ap.add_argument("--allow-parity-failure", action="store_true", help="write the bundle even if parity fails")
    ap.add_argument("--device", default="cpu", help="torch device for tracing and references")
    ap.add_argument("--single-stage", action="store_true",
                    help="random init without the two-stage query selection (learned queries instead of the top "
                         "900 encoder proposals): outputs then vary smoothly with rounding, for parity checks")
    ap.add_argument("--text-attention", default="sdpa", choices=["sdpa", "eager", "keep"],
                    help="BERT text backbone attention (keep: as loaded, eager like the rest)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--overwrite", action="store_true", help="replace a non-empty OUT")
    args = ap.parse_args()

    torch = common.require("torch")
    np = common.require("numpy")
    out = os.path.abspath(args.out)
    if os.path.exists(out) and os.listdir(out) and not args.overwrite:
        raise ExportError(f"{out} exists and is not empty (pass --overwrite to replace it)")
    precision = common.pick_precision(args.fp16, FP32_TOLERANCE, FP16_TOLERANCE, args.tolerance)
    uint8 = args.input == common.INPUT_UINT8_NHWC
    dev = common.device_of(args.device)
    pad_multiple = args.pad_multiple
    if args.canvas:
        if args.canvas < args.max_size or args.canvas % 32:
            raise ExportError(f"--canvas {args.canvas}: want a multiple of 32 >= --max-size {args.max_size}")
        pad_multiple = args.canvas

    print(f"loading Grounding DINO ({'random init' if args.random_init else args.hf})")
    model, tok, vocab, mean, std, source = load(args)
    common.prepare_folder(out, args.overwrite)
    model = model.to(dev).float()
    modeling = sys.modules[type(model).__module__]
    normalize = common.make_uint8_normalize(mean, std, 1.0).to(dev) if uint8 else None
    wrapper = make_wrapper(model, normalize).eval()
    ref_wrapper = make_wrapper(model, None).eval()

    fx = common.Fixtures(out, f"{source}; PyTorch fp32 references; {common.versions()}", precision.tolerance)
    ort = common.OrtRunner()
    if not ort.available:
        print("  note: onnxruntime is not importable: parity and dynamic sizes are not checked")

    ids = list(tok(args.prompt)["input_ids"])
    if ids[0] != 101 or ids[-1] != 102 or len(ids) > MAX_TEXT_LEN:
        raise ExportError(f"prompt {args.prompt!r} tokenizes to {len(ids)} ids {ids[:4]}...: want [CLS] ... [SEP], "
                          f"at most {MAX_TEXT_LEN}")
    fx.add_tokens(args.prompt, ids)
    for extra in ("A man riding a wave on top of a surfboard.", "traffic light. fire hydrant. stop sign."):
        fx.add_tokens(extra, tok(extra)["input_ids"])
    ids_t = torch.tensor([ids], dtype=torch.long, device=dev)
    att_t = torch.ones_like(ids_t)
    want_m, want_p = reference_text_masks(ids_t.cpu())
    got_m, got_p = text_masks(ids_t.cpu())
    if not (torch.equal(want_m, got_m) and torch.equal(want_p, got_p)):
        raise ExportError("text_masks differs from the reference text masks on the fixture prompt")

    def inputs(pixels, mask):
        """Graph feeds (numpy) and PyTorch reference inputs for one image."""
        feed_px = pixels[None] if uint8 else common.normalize_float(pixels, mean, std, 1.0)
        float_px = common.normalize_float(pixels, mean, std, 1.0)
        feeds = {"pixel_values": feed_px, "input_ids": np.array([ids], dtype=np.int64),
                 "attention_mask": np.ones((1, len(ids)), dtype=np.int64), "pixel_mask": mask[None]}
        return feeds, torch.from_numpy(float_px).to(dev), torch.from_numpy(mask[None]).to(dev)

    def reference(px_t, mask_t):
        """PyTorch fp32 outputs of the original model (HF's own text masks)."""
        with torch.no_grad():
            boxes, logits = ref_wrapper(px_t, ids_t, att_t, mask_t)
        return boxes.float().cpu().numpy(), logits.float().cpu().numpy()

    # Fixture image: unchanged by the resize rule and, unless --canvas, by padding.
    fw, fh = common.grounding_fixture_size(args.shortest_edge, args.max_size, 32)
    pixels = common.load_fixture_image(args.fixture_image, fw, fh, args.seed)
    img_rel = fx.add_image("image0", pixels)
    ph, pw = (args.canvas, args.canvas) if args.canvas else (fh, fw)
    padded, mask = pad_to(pixels, ph, pw)
    feeds, px_t, mask_t = inputs(padded, mask)
    ref_boxes, ref_logits = reference(px_t, mask_t)

    # Export.
    th, tw = (args.canvas, args.canvas) if args.canvas else parse_size(args.trace_size)
    if th % 32 or tw % 32:
        raise ExportError(f"trace size {th}x{tw}: want multiples of 32")
    dummy_px = (torch.zeros(1, th, tw, 3, dtype=torch.uint8) if uint8 else torch.zeros(1, 3, th, tw)).to(dev)
    dummy_px += torch.randint_like(dummy_px, 0, 200) if uint8 else torch.randn_like(dummy_px)
    dummy_mask = torch.ones(1, th, tw, dtype=torch.long, device=dev)
    hw = {} if args.canvas else ({1: "H", 2: "W"} if uint8 else {2: "H", 3: "W"})
    dyn = {"pixel_values": {0: "B", **hw}, "input_ids": {0: "B", 1: "T"}, "attention_mask": {0: "B", 1: "T"},
           "pixel_mask": {0: "B", **({} if args.canvas else {1: "H", 2: "W"})},
           "pred_boxes": {0: "B"}, "logits": {0: "B", 2: "T"}}
    dst = os.path.join(out, "model.onnx")
    with tempfile.TemporaryDirectory() as tmp:
        p = os.path.join(tmp, "model.onnx")
        print(f"  tracing at {th}x{tw} ({'canvas' if args.canvas else 'dynamic H, W'})")
        with export_patches(modeling):
            common.export_onnx(wrapper, (dummy_px, ids_t, att_t, dummy_mask), p,
                               input_names=["pixel_values", "input_ids", "attention_mask", "pixel_mask"],
                               output_names=["pred_boxes", "logits"], dynamic_axes=dyn)
        if args.fp16:
            onnx = common.require("onnx")
            keep = common.prefix_nodes(onnx.load(p), "pixel_values") if uint8 else []
            common.convert_to_fp16(p, dst, fp32_nodes=keep)
        else:
            shutil.move(p, dst)

    fx.add_case("ground0", "grounding", "logits", ref_logits, image=img_rel, text=args.prompt)
    fx.add_case("ground0-boxes", "grounding", "boxes", ref_boxes, image=img_rel, text=args.prompt)
    if ort.available:
        boxes, logits = [ort.run(dst, feeds, o) for o in ("pred_boxes", "logits")]
        common.check_parity(fx, "boxes", common.max_abs_diff(boxes, ref_boxes), precision.tolerance,
                            args.allow_parity_failure)
        common.check_parity(fx, "logits", common.max_abs_diff(logits, ref_logits), precision.tolerance,
                            args.allow_parity_failure)
        if not args.canvas:
            for s in filter(None, args.check_sizes.split(",")):
                h, w = parse_size(s)
                px = common.fixture_pixels(w, h, args.seed + 1)
                f2, p2, m2 = inputs(px, np.ones((h, w), dtype=np.int64))
                rb, rl = reference(p2, m2)
                db = common.max_abs_diff(ort.run(dst, f2, "pred_boxes"), rb)
                dl = common.max_abs_diff(ort.run(dst, f2, "logits"), rl)
                print(f"  size {h}x{w}: max diff boxes {db:.3g}, logits {dl:.3g}")
                if max(db, dl) > precision.tolerance and not args.allow_parity_failure:
                    raise ExportError(f"at {h}x{w} the graph (traced at {th}x{tw}) differs from PyTorch by "
                                      f"{max(db, dl):.3g}: the dynamic-size trace does not hold for this "
                                      "transformers version; export with --canvas 1344 instead")
    fixtures = fx.write()

    shutil.copyfile(vocab, os.path.join(out, "vocab.txt"))
    inputs_roles = {"image": "pixel_values", "input_ids": "input_ids", "attention_mask": "attention_mask",
                    "pixel_mask": "pixel_mask"}
    manifest = {
        "name": args.name or os.path.basename(out.rstrip("/")), "kind": "grounding", "onnx": "model.onnx",
        "fixtures": fixtures, "inputs": inputs_roles, "outputs": {"boxes": "pred_boxes", "logits": "logits"},
        "box_format": "cxcywh_norm", "logits_activation": "none",
        "image": common.image_spec(resize="shortest_edge", shortest_edge=args.shortest_edge, max_size=args.max_size,
                                   pad_multiple=pad_multiple, channel_order="RGB", scale=1, mean=mean, std=std,
                                   input_kind=args.input),
        "text": {"tokenizer": "wordpiece", "vocab": "vocab.txt", "lowercase": True, "max_tokens": MAX_TEXT_LEN},
    }
    m = common.write_manifest(out, manifest)
    print(f"wrote {out}/model.json ({len(m['files'])} files)")


if __name__ == "__main__":
    common.run_main(main)

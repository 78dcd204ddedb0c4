"""Shared pieces of the groundbeam exporters.

Everything here works with torch, numpy, onnx and Pillow alone; onnxruntime
is optional (parity checks run only when it is importable). Nothing here
reaches the network: models are built by the caller from local paths or
from a config.

What this module provides:

* bundle writing: sha256 of every file, model.json (format_version 1, field
  names as in model/bundle/manifest.go);
* fixtures: fixtures.json (format_version 1, as model/bundle/fixtures.go
  reads it) and fixture images at exactly the graph's input size;
* Uint8Normalize, the uint8 NHWC -> normalised float32 NCHW prefix that
  model.json's ``"image": {"input": "uint8_nhwc"}`` declares;
* RoiAlignCrops, an autograd function that runs torchvision's roi_align in
  PyTorch and exports as one ONNX RoiAlign (opset >= 16, half_pixel) fed
  straight from the boxes input, so box coordinates never pass through fp16;
* export_onnx, a torch.onnx.export wrapper (TorchScript exporter, opset 17);
* convert_to_fp16, a float32 -> float16 rewrite of an ONNX model that keeps
  float32 graph inputs and outputs and runs chosen nodes in float32;
* parity helpers (onnxruntime vs PyTorch, non-finite values handled).
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import inspect
import json
import math
import os
import shutil
import sys
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

FORMAT_VERSION = 1
FIXTURES_VERSION = 1
MANIFEST_FILE = "model.json"
FIXTURES_FILE = "fixtures.json"
DEFAULT_OPSET = 17

# Image inputs (model/bundle/manifest.go: InputFloat32NCHW, InputUInt8NHWC).
INPUT_UINT8_NHWC = "uint8_nhwc"
INPUT_FLOAT32_NCHW = "float32_nchw"

# CLIP BPE merges file name and its licence (model/bpe/vocab.go).
CLIP_BPE_FILE = "bpe_simple_vocab_16e6.txt.gz"
CLIP_BPE_LICENSE = "LICENSE-clip-bpe"

REPO_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFAULT_BPE = os.path.join(REPO_ROOT, "model", "bpe", "vocab", CLIP_BPE_FILE)
DEFAULT_BPE_LICENSE = os.path.join(REPO_ROOT, "model", "bpe", "vocab", CLIP_BPE_LICENSE)


class ExportError(RuntimeError):
    """A problem the user can act on; main() prints it without a traceback."""


def require(module: str, pip_name: Optional[str] = None, why: str = ""):
    """Imports module or raises ExportError naming the package to install."""
    try:
        return importlib.import_module(module)
    except Exception as e:  # ImportError, or e.g. RuntimeError from a torchvision built for another torch
        hint = f"pip install {pip_name or module}"
        raise ExportError(f"{module} is not importable ({e}); {why + ': ' if why else ''}{hint}") from None


def optional(module: str):
    """Imports module, or returns None when it is not installed."""
    try:
        return importlib.import_module(module)
    except ImportError:
        return None
    except Exception as e:  # installed but broken (built for another torch, say): say so, go on without it
        print(f"  note: {module} is installed but does not import ({e.__class__.__name__}: {e}); going on without it")
        return None


def run_main(main):
    """Runs main(), printing ExportError as one line and exiting 2."""
    try:
        main()
    except ExportError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def versions() -> str:
    """The versions of the libraries in play, for fixtures' source field."""
    parts = []
    for name in ("torch", "torchvision", "transformers", "open_clip", "onnx", "onnxruntime"):
        mod = sys.modules.get(name) or optional(name)
        if mod is not None:
            parts.append(f"{name} {getattr(mod, '__version__', '?')}")
    return " / ".join(parts)


# --------------------------------------------------------------------------
# Bundle writing


def sha256_file(path: str) -> str:
    """Hex sha256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def bundle_files(folder: str) -> Dict[str, str]:
    """sha256 of every regular file below folder except model.json, keyed
    by its slash-separated path relative to folder."""
    out = {}
    for root, dirs, files in os.walk(folder):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            rel = os.path.relpath(path, folder).replace(os.sep, "/")
            if rel == MANIFEST_FILE:
                continue
            if os.path.islink(path) or not os.path.isfile(path):
                raise ExportError(f"{path} is not a regular file; a bundle holds regular files only")
            out[rel] = sha256_file(path)
    return out


def image_spec(*, resize: str, channel_order: str, scale: float, mean: Sequence[float], std: Sequence[float],
               input_kind: str, size: int = 0, shortest_edge: int = 0, max_size: int = 0,
               pad_multiple: int = 0) -> Dict[str, Any]:
    """model.json's "image" object (ImageSpec in manifest.go)."""
    if input_kind not in (INPUT_UINT8_NHWC, INPUT_FLOAT32_NCHW):
        raise ExportError(f"image input {input_kind!r}: want {INPUT_UINT8_NHWC} or {INPUT_FLOAT32_NCHW}")
    if scale not in (1, 255):
        raise ExportError(f"image scale {scale}: want 1 or 255")
    spec: Dict[str, Any] = {"resize": resize}
    for key, value in (("shortest_edge", shortest_edge), ("max_size", max_size), ("size", size),
                       ("pad_multiple", pad_multiple)):
        if value:
            spec[key] = int(value)
    spec.update({
        "channel_order": channel_order,
        "scale": float(scale),
        "mean": [float(v) for v in mean],
        "std": [float(v) for v in std],
        "input": input_kind,
    })
    return spec


def write_manifest(folder: str, manifest: Dict[str, Any]) -> Dict[str, Any]:
    """Fills manifest["files"] with the sha256 of every file now in folder,
    checks that every file the manifest names is there, and writes
    folder/model.json. Call it last, once every other file is written."""
    m = dict(manifest)
    m["format_version"] = FORMAT_VERSION
    m["files"] = bundle_files(folder)
    named = [m.get(k) for k in ("onnx", "image_onnx", "text_onnx", "region_onnx", "fixtures")]
    named.append(m.get("text", {}).get("vocab"))
    for n in named:
        if n and n not in m["files"]:
            raise ExportError(f"model.json names {n}, which is not in {folder}")
    order = ["format_version", "name", "kind", "files", "onnx", "image_onnx", "text_onnx", "region_onnx",
             "fixtures", "inputs", "outputs", "box_format", "logits_activation", "embedding_dim", "image", "text"]
    ordered = {k: m[k] for k in order if k in m and m[k] not in (None, "")}
    for k, v in m.items():
        if k not in ordered and v not in (None, ""):
            ordered[k] = v
    with open(os.path.join(folder, MANIFEST_FILE), "w", encoding="utf-8") as f:
        json.dump(ordered, f, indent=2)
        f.write("\n")
    return ordered


def prepare_folder(folder: str, overwrite: bool) -> None:
    """Creates an empty bundle folder; an existing non-empty one is an
    error unless overwrite, when its contents are removed."""
    if os.path.exists(folder) and os.listdir(folder):
        if not overwrite:
            raise ExportError(f"{folder} exists and is not empty (pass --overwrite to replace it)")
        for name in os.listdir(folder):
            p = os.path.join(folder, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
            else:
                os.remove(p)
    os.makedirs(folder, exist_ok=True)


def copy_clip_bpe(folder: str, bpe_path: str = DEFAULT_BPE, license_path: str = DEFAULT_BPE_LICENSE) -> str:
    """Copies CLIP's BPE merges file (and its MIT licence when found) into
    the bundle under the names model/bpe uses; returns the merges name."""
    if not os.path.isfile(bpe_path):
        raise ExportError(f"CLIP BPE merges file {bpe_path} not found (pass --bpe PATH to {CLIP_BPE_FILE})")
    shutil.copyfile(bpe_path, os.path.join(folder, CLIP_BPE_FILE))
    if license_path and os.path.isfile(license_path):
        shutil.copyfile(license_path, os.path.join(folder, CLIP_BPE_LICENSE))
    return CLIP_BPE_FILE


# --------------------------------------------------------------------------
# Fixtures


def grounding_input_size(w: int, h: int, shortest: int, max_size: int) -> Tuple[int, int]:
    """The resized size before padding of a w x h image under the
    shortest_edge/max_size rule, as model/glip.InputSize computes it
    (maskrcnn-benchmark's get_size; HF's DETR-family resize agrees)."""
    if w <= 0 or h <= 0:
        return max(w, 1), max(h, 1)
    size = shortest
    if max_size > 0:
        lo, hi = float(min(w, h)), float(max(w, h))
        if hi / lo * size > max_size:
            size = int(round(max_size * lo / hi))  # Python rounds half to even, as Go's RoundToEven
    if (w <= h and w == size) or (h <= w and h == size):
        return w, h
    if w < h:
        nw, nh = size, int(size * h / w)
    else:
        nh, nw = size, int(size * w / h)
    return max(nw, 1), max(nh, 1)


def grounding_fixture_size(shortest: int, max_size: int, pad_multiple: int) -> Tuple[int, int]:
    """A landscape (w, h) that the resize rule leaves unchanged and that
    needs no padding: h = shortest_edge, w the widest multiple of
    pad_multiple that the rule keeps. The Go side then feeds the fixture
    image to the graph exactly as the exporter did."""
    pad = max(pad_multiple, 1)
    if shortest % pad:
        raise ExportError(f"shortest_edge {shortest} is not a multiple of pad_multiple {pad}: "
                          "no fixture size can avoid both resizing and padding")
    h = shortest
    limit = max_size if max_size > 0 else 2 * shortest
    for w in range(limit - limit % pad, h - 1, -pad):
        if grounding_input_size(w, h, shortest, max_size) == (w, h):
            return w, h
    raise ExportError(f"no fixture size for shortest_edge {shortest}, max_size {max_size}, pad {pad}")


def fixture_pixels(width: int, height: int, seed: int = 0):
    """A deterministic RGB test image, uint8 [height, width, 3]: smooth
    gradients plus a few flat rectangles and discs, so that crops, text
    prompts and boxes have something to look at. Same seed, same pixels."""
    np = require("numpy")
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    img = np.stack([
        127 + 100 * np.sin(x / max(width, 1) * 3.1 + seed),
        127 + 100 * np.cos(y / max(height, 1) * 2.3 + 0.5 * seed),
        127 + 60 * np.sin((x + y) / max(width + height, 1) * 9.0),
    ], axis=-1)
    for _ in range(6):
        cx, cy = rng.uniform(0.1, 0.9) * width, rng.uniform(0.1, 0.9) * height
        rw, rh = rng.uniform(0.05, 0.3) * width, rng.uniform(0.05, 0.3) * height
        color = rng.uniform(0, 255, size=3)
        if rng.uniform() < 0.5:
            m = (abs(x - cx) < rw / 2) & (abs(y - cy) < rh / 2)
        else:
            m = ((x - cx) / (rw / 2)) ** 2 + ((y - cy) / (rh / 2)) ** 2 < 1
        img[m] = color
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def load_fixture_image(path: Optional[str], width: int, height: int, seed: int = 0):
    """uint8 [height, width, 3] RGB pixels: the image at path resized to
    cover width x height and centre-cropped (PIL, bicubic), or the
    synthetic fixture_pixels when path is None."""
    np = require("numpy")
    if not path:
        return fixture_pixels(width, height, seed)
    Image = require("PIL.Image", "pillow")
    with Image.open(path) as im:
        im = im.convert("RGB")
        s = max(width / im.width, height / im.height)
        nw, nh = max(width, round(im.width * s)), max(height, round(im.height * s))
        im = im.resize((nw, nh), Image.BICUBIC)
        left, top = (nw - width) // 2, (nh - height) // 2
        im = im.crop((left, top, left + width, top + height))
        return np.asarray(im, dtype=np.uint8).copy()


def save_png(pixels, path: str) -> None:
    """Writes uint8 [H, W, 3] RGB pixels as a PNG (lossless: Go reads back
    the very same pixels)."""
    Image = require("PIL.Image", "pillow")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    Image.fromarray(pixels, mode="RGB").save(path, format="PNG")


def _f32_list(values) -> List[float]:
    """Float32 values as JSON-ready floats that round-trip exactly."""
    np = require("numpy")
    arr = np.asarray(values, dtype=np.float32).reshape(-1)
    if not np.all(np.isfinite(arr)):
        bad = int(np.sum(~np.isfinite(arr)))
        raise ExportError(f"{bad} reference values are not finite; a fixture needs finite values "
                          "(for grounding logits: give the fixture prompt no padding)")
    return [float(f"{v:.9g}") for v in arr.tolist()]


class Fixtures:
    """Collects token fixtures and graph cases and writes fixtures.json in
    the format model/bundle/fixtures.go reads (unknown fields are refused
    there, so only its fields are written)."""

    def __init__(self, folder: str, source: str, tolerance: float):
        self.folder = folder
        self.source = source
        self.tolerance = float(tolerance)
        self.parity: Dict[str, float] = {}
        self.tokens: List[Dict[str, Any]] = []
        self.cases: List[Dict[str, Any]] = []

    def add_image(self, name: str, pixels) -> str:
        """Saves pixels as fixtures/NAME.png; returns its bundle path."""
        rel = f"fixtures/{name}.png"
        save_png(pixels, os.path.join(self.folder, rel))
        return rel

    def add_tokens(self, text: str, ids: Iterable[int]) -> None:
        """A reference tokenization: the tokenizer's full output for text,
        special tokens included, no padding."""
        ids = [int(i) for i in ids]
        if not ids:
            raise ExportError(f"reference tokenizer gave no ids for {text!r}")
        self.tokens.append({"text": text, "ids": ids})

    def add_case(self, name: str, graph: str, output: str, values, *, image: Optional[str] = None,
                 text: Optional[str] = None, boxes=None, tolerance: Optional[float] = None) -> None:
        """A reference graph output: values is an array whose shape is the
        output's shape."""
        np = require("numpy")
        arr = np.asarray(values, dtype=np.float32)
        case: Dict[str, Any] = {"name": name, "graph": graph}
        if image:
            case["image"] = image
        if text:
            case["text"] = text
        if boxes is not None:
            case["boxes"] = [[float(f"{float(v):.9g}") for v in b] for b in np.asarray(boxes, dtype=np.float32)]
        case["output"] = output
        case["shape"] = [int(d) for d in arr.shape]
        case["values"] = _f32_list(arr)
        if tolerance is not None:
            case["tolerance"] = float(tolerance)
        self.cases.append(case)

    def set_parity(self, role: str, diff: float) -> None:
        """Records the largest ONNX Runtime vs PyTorch difference of an
        output role (kept as the maximum over calls)."""
        if diff is None or not math.isfinite(diff):
            raise ExportError(f"parity of {role} is {diff}: ONNX Runtime and PyTorch disagree on non-finite values")
        self.parity[role] = max(self.parity.get(role, 0.0), float(diff))

    def write(self) -> str:
        """Writes fixtures.json; returns its bundle path."""
        doc: Dict[str, Any] = {"format_version": FIXTURES_VERSION, "source": self.source,
                               "tolerance": self.tolerance}
        if self.parity:
            doc["parity"] = {k: float(f"{v:.3g}") for k, v in sorted(self.parity.items())}
        if self.tokens:
            doc["tokens"] = self.tokens
        if self.cases:
            doc["cases"] = self.cases
        with open(os.path.join(self.folder, FIXTURES_FILE), "w", encoding="utf-8") as f:
            json.dump(doc, f, separators=(",", ":"))
            f.write("\n")
        return FIXTURES_FILE


# --------------------------------------------------------------------------
# Torch modules shared by the exporters


def _torch():
    return require("torch", why="the exporters run the model in PyTorch")


def make_uint8_normalize(mean: Sequence[float], std: Sequence[float], scale: float):
    """Returns Uint8Normalize(mean, std, scale); built lazily so that this
    module imports without torch."""
    torch = _torch()

    class Uint8Normalize(torch.nn.Module):
        """uint8 [B,H,W,3] pixels (0-255, in the bundle's channel order) ->
        float32 [B,3,H,W] normalised: cast, scale to the range mean and std
        refer to (x/255 when scale is 1), subtract mean, divide by std,
        transpose to NCHW. Folded into one multiply-add per channel:
        x * (scale/255/std) - mean/std. This is model.json's
        image.input uint8_nhwc; model/tiny's uint8 prefix does the same."""

        def __init__(self):
            super().__init__()
            k = float(scale) / 255.0
            mul = [k / float(s) for s in std]
            add = [-float(m) / float(s) for m, s in zip(mean, std)]
            self.register_buffer("mul", torch.tensor(mul, dtype=torch.float32), persistent=False)
            self.register_buffer("add", torch.tensor(add, dtype=torch.float32), persistent=False)

        def forward(self, pixels):
            x = pixels.to(torch.float32) * self.mul + self.add
            return x.permute(0, 3, 1, 2)

    return Uint8Normalize()


def normalize_float(pixels_hwc, mean: Sequence[float], std: Sequence[float], scale: float):
    """The host-side normalisation of a float32_nchw bundle, in numpy:
    uint8 [H,W,3] or [B,H,W,3] -> float32 [B,3,H,W]. Used for PyTorch
    references, so they see exactly what the Go side feeds."""
    np = require("numpy")
    x = np.asarray(pixels_hwc, dtype=np.float32)
    if x.ndim == 3:
        x = x[None]
    x = x * (float(scale) / 255.0)
    x = (x - np.asarray(mean, dtype=np.float32)) / np.asarray(std, dtype=np.float32)
    return np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)


_ROI_ALIGN_CLASS = None


def roi_align_crops():
    """Returns the RoiAlignCrops autograd function (built lazily).

    RoiAlignCrops.apply(image [1,3,H,W], boxes [K,4] x1,y1,x2,y2 pixels,
    out_h, out_w, sampling_ratio) -> crops [K,3,out_h,out_w]. Eager: torchvision's
    roi_align (aligned=True, spatial_scale 1, batch index 0 for every box).
    Export: one ONNX RoiAlign (opset 16 semantics: mode avg,
    coordinate_transformation_mode half_pixel, which is torchvision's
    aligned=True) whose rois input is the boxes tensor itself and whose
    batch indices are zeros of length K - the graph model/tiny's CLIPRegion
    builds, so the Go side's region path needs nothing new."""
    global _ROI_ALIGN_CLASS
    if _ROI_ALIGN_CLASS is not None:
        return _ROI_ALIGN_CLASS
    torch = _torch()
    tv_ops = require("torchvision.ops", "torchvision", "the region graph uses roi_align")

    class RoiAlignCrops(torch.autograd.Function):
        @staticmethod
        def forward(ctx, image, boxes, out_h: int, out_w: int, sampling_ratio: int):
            return tv_ops.roi_align(image, [boxes], output_size=(out_h, out_w), spatial_scale=1.0,
                                    sampling_ratio=sampling_ratio, aligned=True)

        @staticmethod
        def symbolic(g, image, boxes, out_h, out_w, sampling_ratio):
            zero = g.op("Constant", value_t=torch.tensor([0], dtype=torch.int64))
            k = g.op("Gather", g.op("Shape", boxes), zero, axis_i=0)
            batch = g.op("ConstantOfShape", k, value_t=torch.tensor([0], dtype=torch.int64))
            return g.op("RoiAlign", image, boxes, batch, mode_s="avg",
                        coordinate_transformation_mode_s="half_pixel",
                        output_height_i=int(out_h), output_width_i=int(out_w),
                        sampling_ratio_i=max(int(sampling_ratio), 0), spatial_scale_f=1.0)

    _ROI_ALIGN_CLASS = RoiAlignCrops
    return RoiAlignCrops


def make_region_module(tower, normalize, crop_size: int, sampling_ratio: int = 2):
    """The region graph: (image [1,...], boxes [K,4]) -> tower(crops) [K,D].

    normalize maps the image input to float32 [1,3,H,W] normalised pixels
    (Uint8Normalize for uint8_nhwc, None for float32_nchw). Each box is
    cropped and resized to crop_size x crop_size by RoiAlign (bilinear,
    sampling_ratio samples per output pixel and axis; 0 = adaptive) and run
    through tower, the same module as the image graph - the contract of
    model/tiny's CLIPRegion, which model/clip's region path feeds."""
    torch = _torch()
    crops_fn = roi_align_crops()

    class Region(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.tower = tower
            self.normalize = normalize

        def forward(self, image, boxes):
            x = self.normalize(image) if self.normalize is not None else image
            crops = crops_fn.apply(x, boxes, crop_size, crop_size, sampling_ratio)
            return self.tower(crops)

    return Region()


def with_image_input(tower, normalize):
    """tower (normalised float32 NCHW pixels -> output) behind the bundle's
    image input: normalize(pixels) first when it is not None (uint8_nhwc),
    tower itself otherwise (float32_nchw)."""
    torch = _torch()
    if normalize is None:
        return tower

    class WithInput(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.normalize = normalize
            self.tower = tower

        def forward(self, pixels):
            return self.tower(self.normalize(pixels))

    return WithInput()


# --------------------------------------------------------------------------
# ONNX export


def export_onnx(module, args: Tuple, path: str, *, input_names: List[str], output_names: List[str],
                dynamic_axes: Dict[str, Dict[int, str]], opset: int = DEFAULT_OPSET) -> None:
    """torch.onnx.export with the TorchScript exporter (dynamo=False where
    the argument exists: torch >= 2.9 defaults to the dynamo exporter),
    constant folding on, then onnx.checker on the result."""
    torch = _torch()
    onnx = require("onnx")
    kwargs: Dict[str, Any] = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
                                  opset_version=opset, do_constant_folding=True)
    params = inspect.signature(torch.onnx.export).parameters
    if "dynamo" in params:
        kwargs["dynamo"] = False
    module.eval()
    with torch.no_grad():
        try:
            torch.onnx.export(module, args, path, **kwargs)
        except Exception as e:  # the exporter's own message says which op failed
            raise ExportError(f"torch.onnx.export of {os.path.basename(path)} failed: {e}") from e
    model = onnx.load(path)
    try:
        onnx.checker.check_model(model)
    except Exception as e:
        raise ExportError(f"{path} fails onnx.checker: {e}") from e


# --------------------------------------------------------------------------
# float16


# Ops kept in float32 by convert_to_fp16 unless the caller says otherwise:
# RoiAlign and GridSample have float32-only kernels in ONNX Runtime's CPU
# provider and sample coordinates that fp16 would round.
DEFAULT_FP32_OPS = ("RoiAlign", "GridSample")

# Inputs that must stay float32 whatever the graph's precision (ONNX spec).
_FP32_INPUTS = {"Resize": {2}, "Upsample": {1}}
# Ops that read only their input's shape: fed whichever version exists.
_TYPE_AGNOSTIC = {"Shape", "Size"}

_FP16_MAX = 65504.0


def _to_fp16_array(arr):
    """float32 values as float16, finite values clamped to the float16
    range (so that sentinels such as finfo(float32).min stay finite and
    mask * sentinel never makes 0 * inf = NaN); inf and NaN are kept."""
    np = require("numpy")
    arr = np.asarray(arr, dtype=np.float32)
    finite = np.isfinite(arr)
    out = np.where(finite, np.clip(arr, -_FP16_MAX, _FP16_MAX), arr)
    return out.astype(np.float16)


def prefix_nodes(model, input_name: str, ops=("Cast", "Mul", "Add", "Sub", "Div", "Transpose")) -> List[str]:
    """Names of the nodes reachable from graph input input_name through
    ops only: the uint8 normalisation prefix, which convert_to_fp16 keeps
    in float32 so that 0-255 pixels are normalised at full precision."""
    consumers: Dict[str, List[Any]] = {}
    for n in model.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    names, frontier, seen = [], [input_name], set()
    while frontier:
        t = frontier.pop()
        for n in consumers.get(t, []):
            if n.name in seen or n.op_type not in ops:
                continue
            seen.add(n.name)
            names.append(n.name)
            frontier.extend(n.output)
    return names


def convert_to_fp16(src: str, dst: str, *, fp32_ops: Sequence[str] = DEFAULT_FP32_OPS,
                    fp32_nodes: Sequence[str] = ()) -> None:
    """Rewrites the float32 ONNX model at src as a float16 model at dst.

    * float32 initializers and Constant/ConstantOfShape values become
      float16 (finite values clamped to +-65504); Cast(to=float) nodes cast
      to float16; EyeLike/Random* dtype float becomes float16;
    * float32 graph inputs and outputs stay float32, with a Cast after each
      input and before each output, so the Go side feeds and reads float32;
    * nodes whose op is in fp32_ops, or whose name is in fp32_nodes, run in
      float32: their float16 inputs are cast up, their outputs cast down
      (a float32 value they pass to another float32 node is not round-tripped);
    * inputs that ONNX requires in float32 (Resize scales) are cast up.

    Types come from onnx.shape_inference; the result is checked with
    onnx.checker and strict shape inference, so a type mismatch is an error
    here, not a session failure in Go. Subgraphs (If/Loop) are refused."""
    onnx = require("onnx")
    from onnx import TensorProto, helper, numpy_helper

    model = onnx.load(src)
    g = model.graph
    for n in g.node:
        for a in n.attribute:
            if a.type in (onnx.AttributeProto.GRAPH, onnx.AttributeProto.GRAPHS):
                raise ExportError(f"fp16: node {n.name} ({n.op_type}) has a subgraph, which this conversion does not follow")
    for i, n in enumerate(g.node):
        if not n.name:
            n.name = f"{n.op_type}_fp16auto_{i}"

    inferred = onnx.shape_inference.infer_shapes(model)
    elem: Dict[str, int] = {}
    for vi in list(inferred.graph.value_info) + list(inferred.graph.input) + list(inferred.graph.output):
        if vi.type.HasField("tensor_type"):
            elem[vi.name] = vi.type.tensor_type.elem_type
    for t in g.initializer:
        elem[t.name] = t.data_type
    FLOAT = TensorProto.FLOAT

    def is_float(name: str) -> bool:
        return bool(name) and elem.get(name) == FLOAT

    # Nodes are told apart by their index (protobuf wrappers have no stable id()).
    nodes = list(g.node)
    blocked_names = set(fp32_nodes)
    blocked_ix = {ix for ix, n in enumerate(nodes) if n.op_type in fp32_ops or n.name in blocked_names}

    graph_inputs = {vi.name for vi in g.input if vi.type.tensor_type.elem_type == FLOAT}
    graph_outputs = {vi.name for vi in g.output if vi.type.tensor_type.elem_type == FLOAT}

    # Initializers used only by float32 consumers (blocked nodes, or a
    # float32-only input slot) stay float32.
    uses: Dict[str, List[Tuple[int, int]]] = {}
    for ix, n in enumerate(nodes):
        for k, i in enumerate(n.input):
            uses.setdefault(i, []).append((ix, k))

    def fp32_slot(ix: int, k: int) -> bool:
        return ix in blocked_ix or k in _FP32_INPUTS.get(nodes[ix].op_type, ())

    keep_fp32_init = {t.name for t in g.initializer
                      if t.data_type == FLOAT and uses.get(t.name) and all(fp32_slot(n, k) for n, k in uses[t.name])}
    for t in g.initializer:
        if t.data_type == FLOAT and t.name not in keep_fp32_init:
            t.CopyFrom(numpy_helper.from_array(_to_fp16_array(numpy_helper.to_array(t)), t.name))

    # Constant nodes whose value only float32 slots read stay float32 too.
    keep_fp32_const = {ix for ix, n in enumerate(nodes) if n.op_type == "Constant" and is_float(n.output[0])
                       and uses.get(n.output[0]) and all(fp32_slot(c, k) for c, k in uses[n.output[0]])}

    new_nodes: List[Any] = []
    # name -> the name under which its float32 (resp. float16) value exists.
    fp32_version: Dict[str, str] = {name: name for name in graph_inputs | keep_fp32_init}
    fp16_version: Dict[str, str] = {}
    counter = [0]

    def fresh(base: str) -> str:
        counter[0] += 1
        return f"{base}__fp16conv{counter[0]}"

    def cast(src_name: str, to: int, into: List[Any], out: Optional[str] = None) -> str:
        out = out or fresh(src_name)
        into.append(helper.make_node("Cast", [src_name], [out], name=fresh("Cast"), to=to))
        return out

    # Graph outputs: producers write a new name, a Cast to float32 writes the output.
    out_rename: Dict[str, str] = {name: fresh(name) for name in graph_outputs}

    def as_fp16(name: str, into: List[Any]) -> str:
        """The float16 value of a float tensor, cast down on first use when
        only a float32 value exists (graph inputs, float32 nodes' outputs)."""
        if name in fp16_version:
            return fp16_version[name]
        if name in fp32_version:
            fp16_version[name] = cast(fp32_version[name], TensorProto.FLOAT16, into)
            return fp16_version[name]
        return out_rename.get(name, name)  # a float16 node's output

    def as_fp32(name: str, into: List[Any]) -> str:
        """The float32 value of a float tensor, cast up on first use."""
        if name not in fp32_version:
            fp32_version[name] = cast(as_fp16(name, into), FLOAT, into)
        return fp32_version[name]

    for ix, n in enumerate(nodes):
        pre: List[Any] = []
        post: List[Any] = []
        fp32_node = ix in blocked_ix or ix in keep_fp32_const
        for k, i in enumerate(n.input):
            if not is_float(i):
                continue
            if n.op_type in _TYPE_AGNOSTIC and i in fp32_version:
                n.input[k] = fp32_version[i]  # Shape reads either; no cast needed
            elif fp32_node or k in _FP32_INPUTS.get(n.op_type, ()):
                n.input[k] = as_fp32(i, pre)
            else:
                n.input[k] = as_fp16(i, pre)
        if fp32_node:
            for k, o in enumerate(n.output):
                if not is_float(o):
                    continue
                inner = fresh(o)
                n.output[k] = inner
                fp32_version[o] = inner
                if o in graph_outputs:
                    post.append(helper.make_node("Identity", [inner], [o], name=fresh("Identity")))
                    out_rename.pop(o, None)
        else:
            _retype_node(n, onnx)
            for k, o in enumerate(n.output):
                if o in out_rename:
                    n.output[k] = out_rename[o]
        new_nodes.extend(pre)
        new_nodes.append(n)
        new_nodes.extend(post)

    for name, inner in out_rename.items():
        new_nodes.append(helper.make_node("Cast", [inner], [name], name=fresh("Cast"), to=FLOAT))

    del g.node[:]
    g.node.extend(new_nodes)
    del g.value_info[:]
    onnx.checker.check_model(model)
    try:
        onnx.shape_inference.infer_shapes(model, strict_mode=True)
    except Exception as e:
        raise ExportError(f"fp16: the converted model does not type-check: {e}") from e
    onnx.save(model, dst)


def _retype_node(n, onnx) -> None:
    """Moves one float32 node's float constants and dtype attributes to
    float16 (in place)."""
    from onnx import TensorProto, numpy_helper
    FLOAT, FLOAT16 = TensorProto.FLOAT, TensorProto.FLOAT16
    for a in n.attribute:
        if n.op_type == "Cast" and a.name == "to" and a.i == FLOAT:
            a.i = FLOAT16
        elif a.name == "dtype" and a.i == FLOAT and n.op_type in ("EyeLike", "RandomNormal", "RandomUniform",
                                                                   "RandomNormalLike", "RandomUniformLike"):
            a.i = FLOAT16
        elif a.type == onnx.AttributeProto.TENSOR and a.t.data_type == FLOAT and n.op_type in ("Constant", "ConstantOfShape"):
            a.t.CopyFrom(numpy_helper.from_array(_to_fp16_array(numpy_helper.to_array(a.t)), a.t.name))


# --------------------------------------------------------------------------
# Parity


def max_abs_diff(a, b) -> float:
    """Largest |a - b| over positions where both are finite; inf if the
    arrays differ in shape or in where (and which) non-finite values are."""
    np = require("numpy")
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        return float("inf")
    fa, fb = np.isfinite(a), np.isfinite(b)
    if not np.array_equal(fa, fb):
        return float("inf")
    nf = ~fa
    if np.any(nf) and not np.array_equal(np.isnan(a[nf]), np.isnan(b[nf])):
        return float("inf")
    if np.any(nf) and not np.array_equal(np.sign(np.nan_to_num(a[nf])), np.sign(np.nan_to_num(b[nf]))):
        return float("inf")
    if not np.any(fa):
        return 0.0
    return float(np.max(np.abs(a[fa] - b[fa])))


class OrtRunner:
    """onnxruntime sessions by path, or a no-op when onnxruntime is not
    importable (then available is False and parity is not measured)."""

    def __init__(self, providers: Optional[List[str]] = None):
        self.ort = optional("onnxruntime")
        self.providers = providers or ["CPUExecutionProvider"]
        self.sessions: Dict[str, Any] = {}

    @property
    def available(self) -> bool:
        return self.ort is not None

    def run(self, path: str, feeds: Dict[str, Any], output: str):
        """One output of the model at path for feeds (numpy arrays)."""
        if path not in self.sessions:
            so = self.ort.SessionOptions()
            self.sessions[path] = self.ort.InferenceSession(path, so, providers=self.providers)
        return self.sessions[path].run([output], feeds)[0]


def check_parity(fx: Fixtures, role: str, diff: Optional[float], tolerance: float, allow: bool) -> None:
    """Records a measured parity and fails when it passes the tolerance
    verify will apply (unless allow), so a bad export stops here."""
    if diff is None:
        return
    if not math.isfinite(diff):
        if not allow:
            raise ExportError(f"{role}: ONNX Runtime and PyTorch outputs differ in shape or in where they are "
                              "not finite; pass --allow-parity-failure to write the bundle anyway")
        print(f"  parity {role}: not finite (shapes or non-finite values differ); bundle kept (--allow-parity-failure)")
        return
    fx.set_parity(role, diff)
    print(f"  parity {role}: max |onnxruntime - pytorch| = {diff:.3g} (tolerance {tolerance:g})")
    if diff > tolerance and not allow:
        raise ExportError(f"{role}: ONNX Runtime differs from PyTorch by {diff:.3g}, more than the tolerance "
                          f"{tolerance:g} that `groundbeam models verify` will apply; pass --tolerance to choose "
                          "another, or --allow-parity-failure to write the bundle anyway")


def device_of(name: str):
    """torch.device for --device (cpu, cuda, cuda:N), with a clear error
    when CUDA is asked for and absent."""
    torch = _torch()
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ExportError(f"--device {name}: torch.cuda.is_available() is False")
    if name.startswith("cuda"):
        # References are fp32 (or fp16 by choice): TF32 convolutions and
        # matrix products would move them by more than fp32's tolerance.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    return torch.device(name)


@dataclasses.dataclass
class Precision:
    """fp32 or fp16 and the base tolerance verify applies for it."""
    name: str
    tolerance: float


def pick_precision(fp16: bool, fp32_tol: float, fp16_tol: float, override: Optional[float]) -> Precision:
    """The bundle's precision and tolerance (override wins)."""
    if fp16:
        return Precision("fp16", override if override is not None else fp16_tol)
    return Precision("fp32", override if override is not None else fp32_tol)

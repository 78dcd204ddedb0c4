#!/usr/bin/env python3
"""GLIP (microsoft/GLIP) export status, and a probe of its hardest op.

    python tools/export/glip.py --probe-deformconv [--cuda]

GLIP has no exporter here yet (tools/export/README.md, "GLIP", says what is
missing). Its DyHead runs modulated deformable convolutions (DCNv2,
maskrcnn_benchmark's ModulatedDeformConv, a custom CUDA extension). This
probe checks the path such an exporter would take for them:

1. the same computation in PyTorch: torchvision.ops.deform_conv2d with a
   mask (DCNv2: offsets as (dy, dx) pairs per kernel tap, sigmoid mask),
   which is what ModulatedDeformConv computes;
2. export through the TorchScript exporter to ONNX DeformConv (opset 19),
   with the symbolic registered below (torchvision registers none);
3. ONNX Runtime (CPU, and CUDA with --cuda) against PyTorch.

Needs torch (TorchScript exporter with opset >= 19: torch >= 2.1),
torchvision, onnx and onnxruntime >= a release with DeformConv kernels
(ONNX Runtime 1.30.0's CPU build runs DeformConv-19; see the README).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import common  # noqa: E402
from common import ExportError  # noqa: E402

DEFORM_OPSET = 19


def register_deform_conv_symbolic() -> None:
    """torchvision::deform_conv2d -> ONNX DeformConv-19 for torch.onnx.export
    (TorchScript exporter). Attribute order follows torchvision's op:
    (input, weight, offset, mask, bias, stride_h, stride_w, pad_h, pad_w,
    dilation_h, dilation_w, groups, offset_groups, use_mask)."""
    torch = common.require("torch")
    from torch.onnx import symbolic_helper

    @symbolic_helper.parse_args("v", "v", "v", "v", "v", "i", "i", "i", "i", "i", "i", "i", "i", "b")
    def deform_conv2d(g, x, weight, offset, mask, bias, sh, sw, ph, pw, dh, dw, groups, offset_groups, use_mask):
        inputs = [x, weight, offset, bias]
        if use_mask:
            inputs.append(mask)
        return g.op("DeformConv", *inputs, strides_i=[sh, sw], pads_i=[ph, pw, ph, pw], dilations_i=[dh, dw],
                    group_i=groups, offset_group_i=offset_groups)

    torch.onnx.register_custom_op_symbolic("torchvision::deform_conv2d", deform_conv2d, DEFORM_OPSET)


def probe(cuda: bool) -> None:
    """Exports one DCNv2 layer of DyHead's shape and compares runtimes."""
    torch = common.require("torch")
    tv = common.require("torchvision")
    np = common.require("numpy")
    ort = common.require("onnxruntime", why="the probe runs the exported DeformConv")

    class DCNv2(torch.nn.Module):
        """DyHead's deformable conv: 3x3, offsets and mask from a plain conv."""

        def __init__(self, ch=256):
            super().__init__()
            self.offset = torch.nn.Conv2d(ch, 27, 3, padding=1)
            self.conv = tv.ops.DeformConv2d(ch, ch, 3, padding=1)

        def forward(self, x):
            om = self.offset(x)
            return self.conv(x, om[:, :18], om[:, 18:].sigmoid())

    torch.manual_seed(0)
    m = DCNv2().eval()
    torch.nn.init.normal_(m.offset.weight, std=0.05)
    x = torch.randn(2, 256, 25, 42)
    with torch.no_grad():
        ref = m(x).numpy()
    register_deform_conv_symbolic()
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "dcn.onnx")
        common.export_onnx(m, (x,), path, input_names=["x"], output_names=["y"],
                           dynamic_axes={"x": {0: "B", 2: "H", 3: "W"}}, opset=DEFORM_OPSET)
        providers = ["CPUExecutionProvider"] + (["CUDAExecutionProvider"] if cuda else [])
        for p in providers:
            try:
                s = ort.InferenceSession(path, providers=[p])
                got = s.run(["y"], {"x": x.numpy()})[0]
            except Exception as e:
                print(f"{p}: onnxruntime {ort.__version__} cannot run DeformConv-{DEFORM_OPSET}: {e}")
                continue
            used = s.get_providers()[0]
            print(f"{p} (ran on {used}): max |onnxruntime - torchvision| = {float(np.max(np.abs(got - ref))):.3g}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--probe-deformconv", action="store_true", help="run the DeformConv export probe")
    ap.add_argument("--cuda", action="store_true", help="also try ONNX Runtime's CUDA provider")
    args = ap.parse_args()
    if not args.probe_deformconv:
        raise ExportError("there is no GLIP exporter yet (see tools/export/README.md, GLIP); "
                          "--probe-deformconv checks its deformable convolution path")
    probe(args.cuda)


if __name__ == "__main__":
    common.run_main(main)

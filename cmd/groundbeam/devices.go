package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/groundbeam/groundbeam/model/ort"
)

// runModelsDevices is `models devices`: the execution-provider devices the
// ONNX Runtime library (and a plugin provider library) offer, to check a
// GPU worker's setup before a job runs on it.
func runModelsDevices(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models devices", "[--ort-lib PATH] [--ort-ep-lib PATH]", `  groundbeam models devices
  LD_LIBRARY_PATH=/opt/cuda13/lib groundbeam models devices \
      --ort-lib /opt/ort/libonnxruntime.so --ort-ep-lib /opt/ort/libonnxruntime_providers_cuda.so`, stderr)
	lib := fs.String("ort-lib", "", "ONNX Runtime shared library (default $"+ort.LibraryEnv+", then the cache that make deps fills)")
	epLib := fs.String("ort-ep-lib", "", "plugin execution provider library to register first, e.g. libonnxruntime_providers_cuda.so")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("%w: unexpected argument %q", errUsage, pos[0])
	}
	path, err := ort.FindLibrary(*lib)
	if err != nil {
		return err
	}
	if err := ort.Init(path); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "ONNX Runtime %s from %s\n", ort.Version(), path)
	if *epLib != "" {
		if err := ort.RegisterEPLibrary(*epLib); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "registered %s\n", *epLib)
	}
	devs, err := ort.EPDevices()
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EXECUTION PROVIDER\tHARDWARE\tDEVICE ID\tEP VENDOR\tHARDWARE VENDOR")
	gpu := false
	for _, d := range devs {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s (0x%04x)\n", d.EP, d.Hardware, d.DeviceID, d.Vendor, d.HardwareVendor, d.VendorID)
		gpu = gpu || d.Hardware == "gpu"
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write devices: %w", err)
	}
	if !gpu {
		fmt.Fprintln(stdout, "no GPU devices: this lists plugin provider libraries (--ort-ep-lib), not the legacy CUDA provider of an ONNX Runtime GPU build; see docs/gpu.md")
	}
	return nil
}

package main

import (
	"context"
	"fmt"
	"io"

	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
	"github.com/groundbeam/groundbeam/sampleset"
)

// modelsUsage lists the models subcommands.
const modelsUsage = `usage: groundbeam models tiny DIR [--heavy N] [--seed S] [--uint8]   write the tiny test bundles
       groundbeam models verify BUNDLE [session flags]             check a bundle against its fixtures
       groundbeam models devices [--ort-lib PATH] [--ort-ep-lib PATH]  list ONNX Runtime's execution-provider devices
Each subcommand's --help shows its flags.`

func runModels(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "devices" {
		return runModelsDevices(ctx, args[1:], stdout, stderr)
	}
	if len(args) > 0 && args[0] == "verify" {
		return runModelsVerify(ctx, args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "tiny" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(stderr, modelsUsage)
			return nil
		}
		return fmt.Errorf("%w: want `models tiny DIR`, `models verify BUNDLE` or `models devices`", errUsage)
	}
	fs := newFlags("models tiny", "DIR [flags]", "  groundbeam models tiny demo/models\n  groundbeam models tiny bench/models --heavy 8", stderr)
	heavy := fs.Int("heavy", 0, "extra hidden layers in the tiny teacher, to make inference dominate as with real models")
	seed := fs.Uint64("seed", 1, "weight seed (a different seed gives a different CLIP)")
	edge := fs.Int("shortest-edge", 256, "teacher resize: shortest edge")
	u8 := fs.Bool("uint8", false, "graphs take raw uint8 NHWC pixels and normalise them themselves (model.json image.input uint8_nhwc)")
	lib := fs.String("ort-lib", "", "ONNX Runtime shared library that computes the bundles' fixtures (default $"+ort.LibraryEnv+", then the cache that make deps fills)")
	pos, err := parse(fs, args[1:])
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one DIR", errUsage)
	}
	dir := pos[0]
	t, c, err := tiny.WriteBundles(dir, &tiny.BundleOptions{
		Grounding:    &tiny.GroundingOptions{HeavyLayers: *heavy, Seed: *seed},
		CLIP:         &tiny.CLIPOptions{Seed: *seed},
		ShortestEdge: *edge,
		UInt8Input:   *u8,
		ORTLib:       *lib,
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "teacher %s in %s\nclip    %s in %s\n", t.Identity, t.Dir, c.Identity, c.Dir)
	return nil
}

func runSamples(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("samples", "DIR [flags]", "  groundbeam samples demo/shards --pairs 24 --shards 3", stderr)
	pairs := fs.Int("pairs", 24, "image-text pairs")
	shards := fs.Int("shards", 3, "tar shards")
	seed := fs.Uint64("seed", 1, "generator seed")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one DIR", errUsage)
	}
	paths, err := sampleset.WriteShards(pos[0], &sampleset.Options{Pairs: *pairs, Shards: *shards, Seed: *seed})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d pairs in %d shards under %s\n", *pairs, len(paths), pos[0])
	return nil
}

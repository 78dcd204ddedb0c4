package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/groundbeam/groundbeam/model/bundle"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/verify"
)

// runModelsVerify is `models verify BUNDLE`: the bundle's fixtures (its
// reference tokenizations and outputs) run through the Go tokenizers, the
// jobs' preprocessing and ONNX Runtime, one line per fixture. Any failure
// makes the command fail.
func runModelsVerify(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlags("models verify", "BUNDLE [--ort-lib PATH] [--provider cpu|cuda|tensorrt] [--device-id N]",
		`  groundbeam models verify demo/models/teacher
  groundbeam models verify models/clip-vit-b32 --provider cuda --device-id 0

A bundle's model.json names its fixtures file (docs/bundles.md): token
ids the tokenizer must reproduce exactly, and graph outputs for fixture
images and texts that must agree within its tolerance.`, stderr)
	var lib string
	var session ort.Options
	addSessionFlags(fs, &lib, &session)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("%w: want one BUNDLE folder", errUsage)
	}
	b, err := bundle.Load(pos[0], "")
	if err != nil {
		return err
	}
	if err := ort.Start(lib); err != nil {
		return err
	}
	r, err := verify.Verify(ctx, b, &verify.Options{Session: session})
	if err != nil {
		return err
	}
	if err := printReport(stdout, b, r); err != nil {
		return err
	}
	if !r.OK() {
		return fmt.Errorf("%s", r.Summary())
	}
	return nil
}

// printReport writes one line per fixture, the recorded parity and the
// summary.
func printReport(w io.Writer, b *bundle.Bundle, r *verify.Report) error {
	fmt.Fprintf(w, "%s in %s\n", r.Identity, b.Dir)
	if r.Source != "" {
		fmt.Fprintf(w, "references: %s\n", r.Source)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, t := range r.Tokens {
		if t.OK {
			fmt.Fprintf(tw, "tokens %s\t%d ids\t\t\tok\n", strconv.Quote(t.Text), len(t.Want))
			continue
		}
		fmt.Fprintf(tw, "tokens %s\tdiffer at position %d: %s, want %s\t\t\tFAIL\n", strconv.Quote(t.Text), t.Position,
			idAt(t.Got, t.Position), idAt(t.Want, t.Position))
	}
	for _, c := range r.Cases {
		status := "ok"
		if !c.OK {
			status = "FAIL"
		}
		diff := fmt.Sprintf("max abs diff %.3g", c.MaxAbsDiff)
		if c.Problem != "" {
			diff = c.Problem
		}
		fmt.Fprintf(tw, "%s (%s %s)\t%s\ttolerance %g\t\t%s\n", c.Name, c.Graph, c.Output, diff, c.Tolerance, status)
	}
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if len(r.Parity) > 0 {
		roles := make([]string, 0, len(r.Parity))
		for role := range r.Parity {
			roles = append(roles, role)
		}
		slices.Sort(roles)
		parts := make([]string, len(roles))
		for i, role := range roles {
			parts[i] = fmt.Sprintf("%s %.3g", role, r.Parity[role])
		}
		fmt.Fprintf(w, "export parity (ONNX vs the original model, max abs diff): %s\n", strings.Join(parts, ", "))
	}
	_, err := fmt.Fprintln(w, r.Summary())
	return err
}

// idAt words the id at position i, or its absence.
func idAt(ids []int64, i int) string {
	if i < len(ids) {
		return strconv.FormatInt(ids[i], 10)
	}
	return "end of ids"
}

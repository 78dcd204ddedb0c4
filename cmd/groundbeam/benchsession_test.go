package main

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

func TestBenchSession(t *testing.T) {
	lib := testenv.ORTLib(t)
	teacher, clip := testenv.Bundles(t, nil)
	teacherU8, clipU8 := testenv.Bundles(t, &tiny.BundleOptions{UInt8Input: true})
	// want is the JSON line's contents; diff is max_abs_diff_cpu (nil: null).
	type want struct {
		graph         string
		batch, iters  int
		height, width int
		diff          *float64
	}
	zero := 0.0
	tests := []struct {
		name   string
		args   []string
		code   int
		want   want     // with code 0
		stderr []string // substrings of stderr
	}{
		{name: "image float, default size", code: 0,
			args: []string{"--bundle", clip, "--graph", "image", "--batch", "3", "--iters", "2"},
			want: want{graph: "image", batch: 3, iters: 2, height: tiny.CLIPImageSize, width: tiny.CLIPImageSize}},
		{name: "image uint8, check against cpu", code: 0,
			args: []string{"--bundle", clipU8, "--graph", "image", "--batch", "2", "--iters", "2", "--warmup", "0", "--check-cpu"},
			want: want{graph: "image", batch: 2, iters: 2, height: tiny.CLIPImageSize, width: tiny.CLIPImageSize, diff: &zero}},
		{name: "grounding float, default size", code: 0,
			args: []string{"--bundle", teacher, "--graph", "grounding", "--batch", "2", "--iters", "2", "--provider", "cpu"},
			want: want{graph: "grounding", batch: 2, iters: 2, height: 256, width: 416}},
		{name: "grounding float, sizes and tokens from flags, check against cpu", code: 0,
			args: []string{"--bundle", teacher, "--graph", "grounding", "--batch", "1", "--iters", "1",
				"--height", "96", "--width", "160", "--tokens", "12", "--check-cpu", "--intra-op-threads", "2"},
			want: want{graph: "grounding", batch: 1, iters: 1, height: 96, width: 160, diff: &zero}},
		{name: "grounding uint8, check against cpu", code: 0,
			args: []string{"--bundle", teacherU8, "--graph", "grounding", "--batch", "2", "--iters", "3", "--warmup", "1",
				"--height", "128", "--width", "192", "--check-cpu"},
			want: want{graph: "grounding", batch: 2, iters: 3, height: 128, width: 192, diff: &zero}},
		{name: "cuda on a cpu-only library fails", code: 1,
			args:   []string{"--bundle", clip, "--graph", "image", "--batch", "1", "--iters", "1", "--provider", "cuda"},
			stderr: []string{"cuda execution provider", "no CUDA execution provider"}},
		{name: "kind the graph needs", code: 1,
			args:   []string{"--bundle", teacher, "--graph", "image", "--batch", "1", "--iters", "1"},
			stderr: []string{`kind is "grounding", need "clip"`}},
		{name: "missing bundle", code: 2,
			args:   []string{"--graph", "image", "--batch", "1", "--iters", "1"},
			stderr: []string{"--bundle is required"}},
		{name: "unknown graph", code: 2,
			args:   []string{"--bundle", clip, "--graph", "text", "--batch", "1", "--iters", "1"},
			stderr: []string{`--graph "text": want image or grounding`}},
		{name: "no batch", code: 2,
			args:   []string{"--bundle", clip, "--graph", "image", "--iters", "1"},
			stderr: []string{"--batch must be at least 1"}},
		{name: "tokens for the image graph", code: 2,
			args:   []string{"--bundle", clip, "--graph", "image", "--batch", "1", "--iters", "1", "--tokens", "8"},
			stderr: []string{"--tokens goes with --graph grounding"}},
		{name: "unknown provider", code: 2,
			args:   []string{"--bundle", clip, "--graph", "image", "--batch", "1", "--iters", "1", "--provider", "rocm"},
			stderr: []string{`unknown execution provider "rocm"`}},
		{name: "help", code: 0, args: []string{"--help"}, stderr: []string{"--check-cpu", "bench/gpu/README.md"}},
	}
	contract := []string{"graph", "provider", "batch", "iters", "height", "width", "images_per_s", "ms_per_batch", "max_abs_diff_cpu"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(append([]string{"bench-session", "--ort-lib", lib}, tt.args...), &stdout, &stderr)
			if code != tt.code {
				t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", code, tt.code, stdout.String(), stderr.String())
			}
			for _, s := range tt.stderr {
				if !strings.Contains(stderr.String(), s) {
					t.Errorf("stderr lacks %q:\n%s", s, stderr.String())
				}
			}
			if code != 0 {
				if n := strings.Count(stderr.String(), "\n"); tt.code == 1 && n != 1 {
					t.Errorf("stderr has %d lines, want 1: %q", n, stderr.String())
				}
				if stdout.Len() != 0 {
					t.Errorf("stdout is not empty on failure: %q", stdout.String())
				}
				return
			}
			if tt.want.graph == "" { // --help
				return
			}
			lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
			if len(lines) != 1 {
				t.Fatalf("stdout has %d lines, want one JSON line: %q", len(lines), stdout.String())
			}
			var fields map[string]any
			if err := json.Unmarshal([]byte(lines[0]), &fields); err != nil {
				t.Fatalf("stdout is not JSON: %v: %q", err, lines[0])
			}
			var keys []string
			for k := range fields {
				keys = append(keys, k)
			}
			if slices.Sort(keys); !slices.Equal(keys, slices.Sorted(slices.Values(contract))) {
				t.Errorf("fields %v, want %v", keys, contract)
			}
			// the key set is checked above against the contract, so the
			// command's own result type can read the values
			var got benchResult
			if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
				t.Fatal(err)
			}
			w := tt.want
			if got.Graph != w.graph || got.Provider != "cpu" || got.Batch != w.batch || got.Iters != w.iters ||
				got.Height != w.height || got.Width != w.width {
				t.Errorf("got %+v, want graph %s provider cpu batch %d iters %d height %d width %d",
					got, w.graph, w.batch, w.iters, w.height, w.width)
			}
			if got.ImagesPerS <= 0 || got.MsPerBatch <= 0 {
				t.Errorf("images_per_s %g and ms_per_batch %g, want both positive", got.ImagesPerS, got.MsPerBatch)
			}
			switch {
			case w.diff == nil && got.MaxAbsDiffCPU != nil:
				t.Errorf("max_abs_diff_cpu %g without --check-cpu, want null", *got.MaxAbsDiffCPU)
			case w.diff != nil && got.MaxAbsDiffCPU == nil:
				t.Errorf("max_abs_diff_cpu null with --check-cpu, want %g", *w.diff)
			case w.diff != nil && *got.MaxAbsDiffCPU != *w.diff:
				t.Errorf("max_abs_diff_cpu %g, want %g", *got.MaxAbsDiffCPU, *w.diff)
			}
		})
	}
}

func TestBenchSessionMaxAbsDiff(t *testing.T) {
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	tensor := func(v ...float32) ort.Tensor { return ort.Tensor{Shape: []int64{int64(len(v))}, F32: v} }
	tests := []struct {
		name string
		a, b ort.Tensor
		want float64
		err  string
	}{
		{name: "equal", a: tensor(1, 2, 3), b: tensor(1, 2, 3), want: 0},
		{name: "largest difference", a: tensor(1, -2, 3), b: tensor(1.5, 2, 3), want: 4},
		{name: "same non-finite values are skipped", a: tensor(nan, inf, -inf, 1), b: tensor(nan, inf, -inf, 0.75), want: 0.25},
		{name: "nan on one side", a: tensor(1, nan), b: tensor(1, 2), err: "at flat position 1 is NaN and 2"},
		{name: "infinities of both signs", a: tensor(inf), b: tensor(-inf), err: "at flat position 0 is +Inf and -Inf"},
		{name: "shapes differ", a: tensor(1, 2), b: tensor(1, 2, 3), err: "has shapes [2] and [3]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := maxAbsDiff(tt.a, tt.b)
			switch {
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			case tt.err == "" && err != nil:
				t.Fatal(err)
			case got != tt.want:
				t.Errorf("max abs diff %g, want %g", got, tt.want)
			}
		})
	}
}

func TestBenchSessionPrompt(t *testing.T) {
	tests := []struct {
		name   string
		tokens int
		vocab  int
		want   []int64 // -1: a word token
	}{
		{name: "shortest", tokens: 3, vocab: 30522, want: []int64{101, -1, 102}},
		{name: "two phrases", tokens: 8, vocab: 1024, want: []int64{101, -1, -1, 1012, -1, -1, 1012, 102}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := promptIDs(rand.New(rand.NewPCG(1, 2)), tt.tokens, tt.vocab)
			again := promptIDs(rand.New(rand.NewPCG(1, 2)), tt.tokens, tt.vocab)
			if !slices.Equal(got, again) {
				t.Errorf("prompt differs between runs: %v and %v", got, again)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("prompt %v, want %d tokens", got, len(tt.want))
			}
			for i, w := range tt.want {
				word := got[i] >= int64(tt.vocab/2) && got[i] < int64(tt.vocab) && got[i] != 1012
				if (w == -1 && !word) || (w != -1 && got[i] != w) {
					t.Errorf("token %d is %d in %v, want %d (-1: a word of the vocabulary's upper half)", i, got[i], got, w)
				}
			}
		})
	}
}

package ort_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
	"github.com/groundbeam/groundbeam/model/ort"
	"github.com/groundbeam/groundbeam/model/tiny"
)

func writeModel(t *testing.T) string {
	t.Helper()
	raw, err := tiny.CLIPImage(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "image.onnx")
	if err := os.WriteFile(p, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSharedSession checks the cache hands every caller of one key the same
// session, concurrently, and creates another only for another key.
func TestSharedSession(t *testing.T) {
	testenv.InitORT(t)
	path := writeModel(t)
	in, out := []string{"pixel_values"}, []string{"image_embeds"}
	before := ort.SessionsCreated()
	var wg sync.WaitGroup
	got := make([]*ort.Session, 16)
	errs := make([]error, 16)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = ort.Acquire(ort.Key{Identity: "m@1", Path: path}, in, out)
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if got[i] != got[0] {
			t.Fatal("callers of one key got different sessions")
		}
		got[i].Release()
	}
	if n := ort.SessionsCreated() - before; n != 1 {
		t.Errorf("%d sessions created for one key, want 1", n)
	}
	other, err := ort.Acquire(ort.Key{Identity: "m@1", Path: path, Options: ort.Options{IntraOpThreads: 1}}, in, out)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if other == got[0] {
		t.Error("other thread settings share a session")
	}
	if n := ort.SessionsCreated() - before; n != 2 {
		t.Errorf("%d sessions, want 2", n)
	}
	if _, err := ort.Acquire(ort.Key{Identity: "m@1", Path: path}, []string{"x"}, out); err == nil {
		t.Error("same key with other tensor names: no error")
	}
}

func TestRun(t *testing.T) {
	testenv.InitORT(t)
	path := writeModel(t)
	s, err := ort.Acquire(ort.Key{Identity: "run@1", Path: path}, []string{"pixel_values"}, []string{"image_embeds"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	img := make([]float32, 2*3*224*224)
	for i := range img {
		img[i] = float32(i%97) / 97
	}
	tests := []struct {
		name  string
		ctx   func() context.Context
		in    []ort.Tensor
		shape []int64
		err   string
	}{
		{name: "batch of two", ctx: context.Background, in: []ort.Tensor{{Shape: []int64{2, 3, 224, 224}, F32: img}}, shape: []int64{2, tiny.DefaultCLIPEmbedDim}},
		{name: "wrong input count", ctx: context.Background, in: nil, err: "0 inputs, graph takes 1"},
		{name: "wrong shape", ctx: context.Background, in: []ort.Tensor{{Shape: []int64{2, 3, 224}, F32: img[:2*3*224]}}, err: "run@1"},
		{name: "no data", ctx: context.Background, in: []ort.Tensor{{Shape: []int64{1}}}, err: "no data"},
		{name: "cancelled", ctx: func() context.Context {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx
		}, in: []ort.Tensor{{Shape: []int64{2, 3, 224, 224}, F32: img}}, err: "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.Run(tt.ctx(), tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(out) != 1 || len(out[0].Shape) != 2 || out[0].Shape[0] != tt.shape[0] || out[0].Shape[1] != tt.shape[1] {
				t.Fatalf("output shape %v, want %v", out[0].Shape, tt.shape)
			}
		})
	}
}

func TestFindLibrary(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", empty)
	t.Setenv("HOME", empty)
	t.Chdir(empty)
	lib := filepath.Join(empty, "lib.so")
	os.WriteFile(lib, nil, 0o644)
	tests := []struct {
		name, flag, env, want, err string
	}{
		{name: "flag", flag: lib, env: "/nope", want: lib},
		{name: "env", env: lib, want: lib},
		{name: "flag names a missing file", flag: "/nope/lib.so", env: lib, err: "--ort-lib names /nope/lib.so"},
		{name: "env names a missing file", env: "/nope/lib.so", err: "$GROUNDBEAM_ORT_LIB names /nope/lib.so"},
		{name: "nothing", err: "make deps"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(ort.LibraryEnv, tt.env)
			got, err := ort.FindLibrary(tt.flag)
			if tt.err != "" {
				if !errors.Is(err, ort.ErrNoLibrary) || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want ErrNoLibrary with %q", err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestOpened checks that a bundle identity counts as opened once a session
// of one of its graphs exists, and that a longer identity sharing its
// prefix does not.
func TestOpened(t *testing.T) {
	testenv.InitORT(t)
	path := writeModel(t)
	tests := []struct {
		identity string
		want     bool
	}{
		{"opened@abc", true},
		{"opened@ab", false},
		{"opened@abcd", false},
		{"other@abc", false},
	}
	s, err := ort.Acquire(ort.Key{Identity: "opened@abc/image", Path: path}, []string{"pixel_values"}, []string{"image_embeds"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	for _, tc := range tests {
		if got := ort.Opened(tc.identity); got != tc.want {
			t.Errorf("Opened(%q) = %v, want %v", tc.identity, got, tc.want)
		}
	}
}

// TestRunShapes checks that a session records the input shapes of its
// successful runs, once per combination with a count, in order of first
// use, that failed runs are not counted, and that the session shows in
// ort.Sessions.
func TestRunShapes(t *testing.T) {
	testenv.InitORT(t)
	path := writeModel(t)
	s, err := ort.Acquire(ort.Key{Identity: "shapes@1", Path: path}, []string{"pixel_values"}, []string{"image_embeds"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	img := make([]float32, 2*3*224*224)
	for _, b := range []int64{2, 1, 2, 2} {
		if _, err := s.Run(context.Background(), []ort.Tensor{{Shape: []int64{b, 3, 224, 224}, F32: img[:b*3*224*224]}}); err != nil {
			t.Fatal(err)
		}
	}
	s.Run(context.Background(), []ort.Tensor{{Shape: []int64{2, 3, 224}, F32: img[:2*3*224]}}) // fails: not counted
	got := s.RunShapes()
	want := []struct {
		batch int64
		runs  int64
	}{{2, 3}, {1, 1}}
	if len(got) != len(want) {
		t.Fatalf("RunShapes = %+v, want %d entries", got, len(want))
	}
	for i, w := range want {
		g := got[i]
		if len(g.Shapes) != 1 || g.Shapes[0][0] != w.batch || len(g.Shapes[0]) != 4 || g.Types[0] != "float32" || g.Runs != w.runs || g.Other {
			t.Errorf("RunShapes[%d] = %+v, want batch %d, float32, %d runs", i, g, w.batch, w.runs)
		}
	}
	found := false
	for _, c := range ort.Sessions() {
		found = found || c == s
	}
	if !found {
		t.Error("the session is not in ort.Sessions()")
	}
	s.ResetRunShapes()
	if got := s.RunShapes(); len(got) != 0 {
		t.Errorf("after reset: %+v", got)
	}
}

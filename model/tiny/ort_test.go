package tiny

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	ort "github.com/yalue/onnxruntime_go"
)

// ortInitErr is non-nil when TestMain could not set up ONNX Runtime; tests
// that need it fail with this error.
var ortInitErr error

func TestMain(m *testing.M) {
	ortInitErr = initORT()
	code := m.Run()
	if ortInitErr == nil {
		if err := ort.DestroyEnvironment(); err != nil {
			fmt.Fprintf(os.Stderr, "destroy onnxruntime environment: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	os.Exit(code)
}

// ortLibPath returns $GROUNDBEAM_ORT_LIB, or .cache/ort/libonnxruntime.so.1
// under the module root found by walking up from the working directory.
func ortLibPath() (string, error) {
	if p := os.Getenv("GROUNDBEAM_ORT_LIB"); p != "" {
		return p, nil
	}
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("get working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, ".cache", "ort", "libonnxruntime.so.1"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// initORT loads the shared library and creates the ORT environment.
func initORT() error {
	lib, err := ortLibPath()
	if err != nil {
		return fmt.Errorf("locate onnxruntime library (run `make deps` or set GROUNDBEAM_ORT_LIB): %w", err)
	}
	if _, err := os.Stat(lib); err != nil {
		return fmt.Errorf("onnxruntime library missing (run `make deps` or set GROUNDBEAM_ORT_LIB): %w", err)
	}
	ort.SetSharedLibraryPath(lib)
	if err := ort.InitializeEnvironment(ort.WithLogLevelError()); err != nil {
		return fmt.Errorf("initialize onnxruntime from %s (run `make deps`?): %w", lib, err)
	}
	return nil
}

// needORT fails the test when ONNX Runtime is unavailable.
func needORT(tb testing.TB) {
	tb.Helper()
	if ortInitErr != nil {
		tb.Fatal(ortInitErr)
	}
}

// feed is one named model input: float32 when f32 is set, uint8 when u8
// is, else int64.
type feed struct {
	name  string
	shape []int64
	f32   []float32
	i64   []int64
	u8    []uint8
}

// tensor is a copied-out float32 model output.
type tensor struct {
	shape []int64
	data  []float32
}

// session wraps a dynamic ORT session with its names.
type session struct {
	s       *ort.DynamicAdvancedSession
	inputs  []string
	outputs []string
}

// newSession creates a single-threaded session for model; it is destroyed
// with the test.
func newSession(tb testing.TB, model []byte, inputs, outputs []string) *session {
	tb.Helper()
	needORT(tb)
	opts, err := ort.NewSessionOptions()
	if err != nil {
		tb.Fatalf("session options: %v", err)
	}
	defer opts.Destroy()
	if err := opts.SetIntraOpNumThreads(1); err != nil {
		tb.Fatalf("set intra-op threads: %v", err)
	}
	if err := opts.SetInterOpNumThreads(1); err != nil {
		tb.Fatalf("set inter-op threads: %v", err)
	}
	s, err := ort.NewDynamicAdvancedSessionWithONNXData(model, inputs, outputs, opts)
	if err != nil {
		tb.Fatalf("create session: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.Destroy(); err != nil {
			tb.Errorf("destroy session: %v", err)
		}
	})
	return &session{s: s, inputs: inputs, outputs: outputs}
}

// run feeds the inputs (in session order) and returns copies of the outputs;
// every ORT value is destroyed before returning.
func (s *session) run(tb testing.TB, feeds ...feed) []tensor {
	tb.Helper()
	in, err := makeInputs(s.inputs, feeds)
	defer destroyAll(tb, in)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]ort.Value, len(s.outputs))
	defer destroyAll(tb, out)
	if err := s.s.Run(in, out); err != nil {
		tb.Fatalf("run: %v", err)
	}
	res := make([]tensor, len(out))
	for i, v := range out {
		t, ok := v.(*ort.Tensor[float32])
		if !ok {
			tb.Fatalf("output %s: got %T, want float32 tensor", s.outputs[i], v)
		}
		res[i] = tensor{shape: t.GetShape().Clone(), data: append([]float32(nil), t.GetData()...)}
	}
	return res
}

// makeInputs builds ORT tensors for feeds, ordered by names.
func makeInputs(names []string, feeds []feed) ([]ort.Value, error) {
	byName := map[string]feed{}
	for _, f := range feeds {
		byName[f.name] = f
	}
	in := make([]ort.Value, 0, len(names))
	for _, n := range names {
		f, ok := byName[n]
		if !ok {
			return in, fmt.Errorf("missing input %q", n)
		}
		var (
			v   ort.Value
			err error
		)
		switch {
		case f.f32 != nil:
			v, err = ort.NewTensor(ort.NewShape(f.shape...), f.f32)
		case f.u8 != nil:
			v, err = ort.NewTensor(ort.NewShape(f.shape...), f.u8)
		default:
			v, err = ort.NewTensor(ort.NewShape(f.shape...), f.i64)
		}
		if err != nil {
			return in, fmt.Errorf("input %q: %w", n, err)
		}
		in = append(in, v)
	}
	return in, nil
}

// destroyAll destroys the non-nil values.
func destroyAll(tb testing.TB, vs []ort.Value) {
	for _, v := range vs {
		if v != nil {
			if err := v.Destroy(); err != nil {
				tb.Errorf("destroy value: %v", err)
			}
		}
	}
}

// randImage returns a [b,3,h,w] image batch: a smooth gradient, a few
// coloured rectangles and some noise, different per seed and per sample.
func randImage(seed uint64, b, h, w int) []float32 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float32, b*3*h*w)
	for n := range b {
		type rect struct {
			x0, y0, x1, y1 int
			c              [3]float32
		}
		rects := make([]rect, 3)
		for i := range rects {
			x0, y0 := r.IntN(w), r.IntN(h)
			rects[i] = rect{x0, y0, x0 + 1 + r.IntN(w/2+1), y0 + 1 + r.IntN(h/2+1),
				[3]float32{r.Float32()*4 - 2, r.Float32()*4 - 2, r.Float32()*4 - 2}}
		}
		gx, gy := r.Float32()*2-1, r.Float32()*2-1
		for c := range 3 {
			for y := range h {
				for x := range w {
					v := gx*float32(x)/float32(w) + gy*float32(y)/float32(h) + 0.2*float32(r.NormFloat64())
					for _, q := range rects {
						if x >= q.x0 && x < q.x1 && y >= q.y0 && y < q.y1 {
							v = q.c[c] + 0.2*float32(r.NormFloat64())
						}
					}
					out[((n*3+c)*h+y)*w+x] = v
				}
			}
		}
	}
	return out
}

// maxAbsDiff returns the largest |a[i]-b[i]|.
func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = math.Max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// cosine returns the cosine similarity of a and b.
func cosine(a, b []float32) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab += float64(a[i]) * float64(b[i])
		aa += float64(a[i]) * float64(a[i])
		bb += float64(b[i]) * float64(b[i])
	}
	return ab / math.Sqrt(aa*bb)
}

// shapeEq reports whether got equals want.
func shapeEq(got []int64, want ...int64) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if got[i] != want[i] {
			return false
		}
	}
	return true
}

package bundle_test

import (
	"testing"

	"github.com/groundbeam/groundbeam/internal/testenv"
)

// TestMain loads ONNX Runtime: the tiny bundles these tests write compute
// their fixtures with it.
func TestMain(m *testing.M) { testenv.Main(m) }

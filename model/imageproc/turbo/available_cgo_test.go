//go:build cgo && !noturbojpeg

package turbo

import "testing"

func TestAvailable(t *testing.T) {
	if !Available() {
		t.Error("cgo build: Available() = false")
	}
}

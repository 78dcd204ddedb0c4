//go:build !cgo || noturbojpeg

package turbo

import "testing"

func TestAvailable(t *testing.T) {
	if Available() {
		t.Error("!cgo build: Available() = true")
	}
}

func TestBoxDown(t *testing.T) {
	src := photoLike(37, 22, 12)
	for _, d := range []int{1, 2, 4, 8} {
		got, want := boxDown(src, d), boxMean(src, d)
		if d == 1 {
			want = src
		}
		if mean, maxd := diff(t, got, want); maxd != 0 {
			t.Errorf("d=%d: mean %.3f max %d", d, mean, maxd)
		}
	}
}

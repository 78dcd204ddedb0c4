package clip

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestToFloat16(t *testing.T) {
	pow2 := func(e int) float32 { return float32(math.Ldexp(1, e)) }
	tests := []struct {
		name string
		in   float32
		want uint16
	}{
		{"zero", 0, 0x0000},
		{"negative zero", float32(math.Copysign(0, -1)), 0x8000},
		{"one", 1, 0x3c00},
		{"minus two", -2, 0xc000},
		{"half", 0.5, 0x3800},
		{"0.1 rounds down", 0.1, 0x2e66},
		{"1/3", 1.0 / 3, 0x3555},
		{"one plus an ulp", 1 + pow2(-10), 0x3c01},
		{"tie to even stays", 1 + pow2(-11), 0x3c00},
		{"tie to even goes up", 1 + 3*pow2(-11), 0x3c02},
		{"2049 ties to 2048", 2049, 0x6800},
		{"2051 ties to 2052", 2051, 0x6802},
		{"largest half", 65504, 0x7bff},
		{"just under the Inf tie", 65519.996, 0x7bff},
		{"Inf tie rounds up", 65520, 0x7c00},
		{"overflow", 1e6, 0x7c00},
		{"negative overflow", -1e30, 0xfc00},
		{"smallest normal", pow2(-14), 0x0400},
		{"largest subnormal", 1023 * pow2(-24), 0x03ff},
		{"largest subnormal rounds up to normal", 1023.5 * pow2(-24), 0x0400},
		{"smallest subnormal", pow2(-24), 0x0001},
		{"negative smallest subnormal", -pow2(-24), 0x8001},
		{"half the smallest subnormal ties to zero", pow2(-25), 0x0000},
		{"just over half the smallest subnormal", math.Nextafter32(pow2(-25), 1), 0x0001},
		{"1.5 subnormal ulps ties to 2", 3 * pow2(-25), 0x0002},
		{"2.5 subnormal ulps ties to 2", 5 * pow2(-25), 0x0002},
		{"subnormal 0.1 ulp-ish", 100.3 * pow2(-24), 0x0064},
		{"far below", 1e-10, 0x0000},
		{"float32 subnormal", -1e-40, 0x8000},
		{"+Inf", float32(math.Inf(1)), 0x7c00},
		{"-Inf", float32(math.Inf(-1)), 0xfc00},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ToFloat16([]float32{tc.in})[0]; got != tc.want {
				t.Errorf("ToFloat16(%g) = %#04x, want %#04x", tc.in, got, tc.want)
			}
		})
	}
	t.Run("NaN stays NaN", func(t *testing.T) {
		for _, bits := range []uint32{0x7fc00000, 0xffc00000, 0x7f800001, 0x7fa00000} {
			h := ToFloat16([]float32{math.Float32frombits(bits)})[0]
			if h&0x7c00 != 0x7c00 || h&0x3ff == 0 {
				t.Errorf("NaN %#08x became %#04x, not a NaN", bits, h)
			}
			if (h&0x8000 != 0) != (bits&0x80000000 != 0) {
				t.Errorf("NaN %#08x lost its sign: %#04x", bits, h)
			}
		}
	})
}

func TestFromFloat16(t *testing.T) {
	tests := []struct {
		name string
		in   uint16
		want float64
	}{
		{"zero", 0x0000, 0},
		{"one", 0x3c00, 1},
		{"minus two", 0xc000, -2},
		{"largest half", 0x7bff, 65504},
		{"smallest normal", 0x0400, math.Ldexp(1, -14)},
		{"smallest subnormal", 0x0001, math.Ldexp(1, -24)},
		{"negative largest subnormal", 0x83ff, -1023 * math.Ldexp(1, -24)},
		{"+Inf", 0x7c00, math.Inf(1)},
		{"-Inf", 0xfc00, math.Inf(-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := FromFloat16([]uint16{tc.in})[0]; float64(got) != tc.want {
				t.Errorf("FromFloat16(%#04x) = %g, want %g", tc.in, got, tc.want)
			}
		})
	}
	t.Run("negative zero", func(t *testing.T) {
		if got := FromFloat16([]uint16{0x8000})[0]; got != 0 || !math.Signbit(float64(got)) {
			t.Errorf("FromFloat16(0x8000) = %g, want -0", got)
		}
	})
	t.Run("NaN", func(t *testing.T) {
		if got := FromFloat16([]uint16{0x7e00})[0]; !math.IsNaN(float64(got)) {
			t.Errorf("FromFloat16(0x7e00) = %g, want NaN", got)
		}
	})
}

// Every half converts to float32 and back unchanged (NaNs to some NaN).
func TestFloat16RoundTrip(t *testing.T) {
	all := make([]uint16, 1<<16)
	for i := range all {
		all[i] = uint16(i)
	}
	back := ToFloat16(FromFloat16(all))
	for i, h := range all {
		nan := h&0x7c00 == 0x7c00 && h&0x3ff != 0
		if nan {
			if back[i]&0x7c00 != 0x7c00 || back[i]&0x3ff == 0 {
				t.Fatalf("NaN %#04x came back as %#04x", h, back[i])
			}
			continue
		}
		if back[i] != h {
			t.Fatalf("%#04x came back as %#04x", h, back[i])
		}
	}
}

// ToFloat16 picks the nearest half, the one with an even mantissa on a tie.
func TestToFloat16Nearest(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		// Uniform in log scale over the half range and a bit beyond.
		x := float32(math.Ldexp(1+r.Float64(), r.IntN(34)-27))
		if r.IntN(2) == 0 {
			x = -x
		}
		h := ToFloat16([]float32{x})[0]
		got := float64(FromFloat16([]uint16{h})[0])
		if math.IsInf(got, 0) {
			if math.Abs(float64(x)) < 65520 {
				t.Fatalf("%g became Inf", x)
			}
			continue
		}
		d := math.Abs(float64(x) - got)
		for _, n := range []uint16{h - 1, h + 1} {
			if n&0x7fff > 0x7c00 || (n^h)&0x8000 != 0 {
				continue
			}
			dn := math.Abs(float64(x) - float64(FromFloat16([]uint16{n})[0]))
			if dn < d || (dn == d && h&1 == 1) {
				t.Fatalf("%g became %#04x (%g), but %#04x is nearer or even", x, h, got, n)
			}
		}
	}
}

package clip

import "math"

// ToFloat16 converts v to IEEE 754 binary16 bit patterns, rounding to
// nearest with ties to even. Magnitudes past the largest half (65504) that
// round up become ±Inf, those below half the smallest subnormal (2⁻²⁵)
// become ±0, subnormals are kept, and NaN stays NaN (quiet, sign and top
// payload bits kept). It is for storing embeddings as float16.
func ToFloat16(v []float32) []uint16 {
	out := make([]uint16, len(v))
	for i, f := range v {
		out[i] = toHalf(f)
	}
	return out
}

// FromFloat16 converts IEEE 754 binary16 bit patterns to float32, exactly
// (every half is a float32).
func FromFloat16(h []uint16) []float32 {
	out := make([]float32, len(h))
	for i, x := range h {
		out[i] = fromHalf(x)
	}
	return out
}

func toHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	exp := int(b>>23) & 0xff
	man := b & 0x7fffff
	if exp == 0xff { // Inf or NaN
		if man == 0 {
			return sign | 0x7c00
		}
		return sign | 0x7e00 | uint16(man>>13)
	}
	e := exp - 127 + 15 // the half's biased exponent
	if e >= 0x1f {
		return sign | 0x7c00
	}
	if e <= 0 { // a half subnormal, or zero
		if e < -10 { // below 2⁻²⁵: rounds to zero
			return sign
		}
		m := man | 0x800000 // float32 subnormals land here too: they are far below 2⁻²⁵
		shift := uint(14 - e)
		return sign | uint16(roundShift(m, shift))
	}
	// Normal: drop 13 mantissa bits; a carry into the exponent is right,
	// up to Inf.
	return sign | uint16(roundShift(uint32(e)<<23|man, 13))
}

// roundShift returns v >> s rounded to nearest, ties to even.
func roundShift(v uint32, s uint) uint32 {
	q := v >> s
	rem := v & (1<<s - 1)
	half := uint32(1) << (s - 1)
	if rem > half || (rem == half && q&1 == 1) {
		q++
	}
	return q
}

func fromHalf(h uint16) float32 {
	sign := uint32(h&0x8000) << 16
	exp := uint32(h>>10) & 0x1f
	man := uint32(h & 0x3ff)
	switch {
	case exp == 0x1f:
		return math.Float32frombits(sign | 0x7f800000 | man<<13)
	case exp == 0:
		// ±0 or subnormal: man · 2⁻²⁴, exact in float32.
		v := float32(man) * (1.0 / (1 << 24))
		if sign != 0 {
			v = -v
		}
		return v
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

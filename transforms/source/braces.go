package source

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// MaxBraceNames is the most names one input pattern's braces may expand
// to (DataComp's 12.8B-pair pool is 1.28M shards of 10,000).
const MaxBraceNames = 4 << 20

// ErrBraces is wrapped by the errors of Braces and SplitPatterns.
var ErrBraces = errors.New("bad braces in input pattern")

// SplitPatterns splits a comma-separated list of patterns at the commas
// outside braces: "a/{0..3}.tar,b/{x,y}.tar" is two patterns.
func SplitPatterns(s string) ([]string, error) {
	out, err := splitTop(s)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBraces, s, err)
	}
	return out, nil
}

// Braces expands a pattern's braces as WebDataset shard lists write them
// (Python's braceexpand): "{a,b}" gives a then b, "{0..9}" every integer
// from 0 to 9 (or down, for "{9..0}"), zero-padded to the wider bound
// when a bound has a leading zero ("{00000..41407}"); groups nest and
// multiply ("{a,b}-{0..1}" gives four names, a-0 first). A group that is
// neither ("{x}") stays as it is. The order is the pattern's. It fails on
// unbalanced braces and past MaxBraceNames names.
func Braces(pattern string) ([]string, error) {
	out, err := braces(pattern, MaxBraceNames)
	if err != nil {
		return nil, fmt.Errorf("%w: %q: %v", ErrBraces, pattern, err)
	}
	return out, nil
}

// braces expands pattern into at most limit names.
func braces(pattern string, limit int) ([]string, error) {
	open, close, err := firstGroup(pattern)
	if err != nil {
		return nil, err
	}
	if open < 0 {
		return []string{pattern}, nil
	}
	prefix, body, rest := pattern[:open], pattern[open+1:close], pattern[close+1:]
	var alts []string
	if parts, _ := splitTop(body); len(parts) > 1 { // body is balanced: firstGroup found its end
		for _, p := range parts {
			e, err := braces(p, limit)
			if err != nil {
				return nil, err
			}
			alts = append(alts, e...)
			if len(alts) > limit {
				return nil, fmt.Errorf("expands to over %d names", limit)
			}
		}
	} else if lo, hi, width, ok := numericRange(body); ok {
		n := hi - lo
		if n < 0 {
			n = -n
		}
		if n >= limit {
			return nil, fmt.Errorf("expands to over %d names", limit)
		}
		step := 1
		if hi < lo {
			step = -1
		}
		for v := lo; ; v += step {
			alts = append(alts, fmt.Sprintf("%0*d", width, v))
			if v == hi {
				break
			}
		}
	} else {
		// not a group: keep the braces and expand what follows
		tails, err := braces(rest, limit)
		if err != nil {
			return nil, err
		}
		out := make([]string, len(tails))
		for i, t := range tails {
			out[i] = pattern[:close+1] + t
		}
		return out, nil
	}
	tails, err := braces(rest, limit)
	if err != nil {
		return nil, err
	}
	if len(alts)*len(tails) > limit {
		return nil, fmt.Errorf("expands to over %d names", limit)
	}
	out := make([]string, 0, len(alts)*len(tails))
	for _, a := range alts {
		for _, t := range tails {
			out = append(out, prefix+a+t)
		}
	}
	return out, nil
}

// firstGroup finds the first top-level {...} of s: the indexes of its
// braces, or -1 when s has none.
func firstGroup(s string) (open, close int, err error) {
	open, depth := -1, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			if depth == 0 {
				open = i
			}
			depth++
		case '}':
			if depth == 0 {
				return 0, 0, errors.New("a } without its {")
			}
			depth--
			if depth == 0 {
				return open, i, nil
			}
		}
	}
	if depth != 0 {
		return 0, 0, errors.New("a { without its }")
	}
	return -1, -1, nil
}

// splitTop splits s at its commas outside braces; its braces must
// balance.
func splitTop(s string) ([]string, error) {
	var out []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '{':
			depth++
		case '}':
			if depth == 0 {
				return nil, errors.New("a } without its {")
			}
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	if depth != 0 {
		return nil, errors.New("a { without its }")
	}
	return append(out, s[start:]), nil
}

// numericRange parses "lo..hi" of non-negative integers and the width to
// pad to: the wider bound's when a bound has a leading zero, else none.
func numericRange(body string) (lo, hi, width int, ok bool) {
	a, b, found := strings.Cut(body, "..")
	if !found || !digits(a) || !digits(b) {
		return 0, 0, 0, false
	}
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	if err1 != nil || err2 != nil {
		return 0, 0, 0, false
	}
	if (len(a) > 1 && a[0] == '0') || (len(b) > 1 && b[0] == '0') {
		width = max(len(a), len(b))
	}
	return lo, hi, width, true
}

// digits reports whether s is a non-empty run of ASCII digits.
func digits(s string) bool {
	if s == "" || len(s) > 18 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

package source

import (
	"errors"
	"fmt"
	"regexp"
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
// when a bound has a leading zero ("{00000..41407}"), "{a..e}" letters,
// and "{0..10..2}" every second; groups nest and multiply ("{a,b}-{0..1}"
// gives four names, a-0 first). A group that is none of these ("{x}")
// stays as it is. The order is the pattern's. It fails on unbalanced
// braces, a step of 0 and past MaxBraceNames names.
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
	} else if r, ok, err := rangeAlts(body, limit); ok || err != nil {
		if err != nil {
			return nil, err
		}
		alts = r
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

// rangePattern is a brace range as braceexpand takes it: integers
// (possibly negative) or single letters, and an optional step.
var rangePattern = regexp.MustCompile(`^(?:(-?[0-9]{1,18})\.\.(-?[0-9]{1,18})|([A-Za-z])\.\.([A-Za-z]))(?:\.\.(-?[0-9]{1,18}))?$`)

// rangeAlts expands a range body: "lo..hi" of integers, every one from lo
// to hi (down when hi < lo), zero-padded to the wider bound when a bound
// has a leading zero; "a..e" of letters; either with "..step" taking
// every step-th (the step's sign is ignored: the bounds give the
// direction). ok is false when body is no range.
func rangeAlts(body string, limit int) (alts []string, ok bool, err error) {
	m := rangePattern.FindStringSubmatch(body)
	if m == nil {
		return nil, false, nil
	}
	step := 1
	if m[5] != "" {
		if step, err = strconv.Atoi(strings.TrimPrefix(m[5], "-")); err != nil {
			return nil, true, fmt.Errorf("range {%s}: %v", body, err)
		}
		if step == 0 {
			return nil, true, fmt.Errorf("range {%s} has step 0", body)
		}
	}
	var lo, hi, width int
	format := func(v int) string { return fmt.Sprintf("%0*d", width, v) }
	if m[1] != "" {
		if lo, err = strconv.Atoi(m[1]); err == nil {
			hi, err = strconv.Atoi(m[2])
		}
		if err != nil {
			return nil, true, fmt.Errorf("range {%s}: %v", body, err)
		}
		if zeroLed(m[1]) || zeroLed(m[2]) {
			width = max(len(m[1]), len(m[2]))
		}
	} else {
		lo, hi = int(m[3][0]), int(m[4][0])
		format = func(v int) string { return string(rune(v)) }
	}
	if n := max(hi-lo, lo-hi)/step + 1; n > limit {
		return nil, true, fmt.Errorf("expands to over %d names", limit)
	}
	if hi < lo {
		step = -step
	}
	for v := lo; (step > 0 && v <= hi) || (step < 0 && v >= hi); v += step {
		alts = append(alts, format(v))
	}
	return alts, true, nil
}

// zeroLed reports whether an integer's digits start with a 0 that is not
// the whole number ("007", "-01").
func zeroLed(s string) bool {
	s = strings.TrimPrefix(s, "-")
	return len(s) > 1 && s[0] == '0'
}

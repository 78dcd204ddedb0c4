package bpe

import "testing"

// Expected values come from Python 3.11's html.unescape.
func TestUnescapeHTML(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"no entities", "no entities", "no entities"},
		{"named", "&amp;", "&"},
		{"legacy without semicolon", "&amp", "&"},
		{"upper-case name", "&AMP;", "&"},
		{"longest legacy prefix", "&ampx", "&x"},
		{"once only", "&amp;lt;", "&lt;"},
		{"prefix before unknown name", "&notit;", "¬it;"},
		{"legacy at end", "&not", "¬"},
		{"two code points, missing in Go's table", "&nLt;", "\u226a\u20d2"},
		{"two code points then text", "&nGt;x", "\u226b\u20d2x"},
		{"two letters", "&fjlig;", "fj"},
		{"two spaces", "&ThickSpace;", "\u205f\u200a"},
		{"mixed-case name", "&Bumpeq;", "≎"},
		{"decimal", "&#39;", "'"},
		{"decimal without semicolon", "&#39", "'"},
		{"hex", "&#x27;", "'"},
		{"upper hex without semicolon", "&#X27", "'"},
		{"zero", "&#0;", "\ufffd"},
		{"carriage return", "&#13;", "\r"},
		{"windows-1252 euro", "&#128;", "€"},
		{"windows-1252 hole", "&#129;", "\u0081"},
		{"windows-1252 last", "&#159;", "Ÿ"},
		{"dropped control", "&#1;", ""},
		{"dropped vertical tab", "&#11;", ""},
		{"dropped delete", "&#127;", ""},
		{"surrogate", "&#xD800;", "\ufffd"},
		{"noncharacter", "&#xFFFE;", ""},
		{"last noncharacter", "&#x10FFFF;", ""},
		{"beyond Unicode", "&#x110000;", "\ufffd"},
		{"huge number", "&#99999999999999999999;", "\ufffd"},
		{"tab at end", "&#9", "\t"},
		{"bare hash", "&#", "&#"},
		{"hash semicolon", "&#;", "&#;"},
		{"hex without digits", "&#x;", "&#x;"},
		{"hex bad digit", "&#xg", "&#xg"},
		{"lone ampersand", "&", "&"},
		{"ampersand space", "& ", "& "},
		{"ampersand semicolon", "&;", "&;"},
		{"non-ASCII name", "&é;", "&é;"},
		{"over-long name", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;", "&aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa;"},
		{"over-long legacy name", "&ampbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "&bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"},
		{"adjacent", "&lt&gt", "<>"},
		{"not references", "a&b&c", "a&b&c"},
		{"escaped reference", "&amp;#39;", "&#39;"},
		{"astral", "&#x1F600;", "😀"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := unescapeHTML(tc.in); got != tc.want {
				t.Errorf("unescapeHTML(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// Expected values come from Python 3.11's str.lower.
func TestPyLower(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"ascii", "Hello WORLD", "hello world"},
		{"final sigma", "ΟΔΟΣ", "οδος"},
		{"sigma inside a word", "ΣΑΣ.", "σας."},
		{"lone sigma", "Σ", "σ"},
		{"sigma before case-ignorable", "ΑΣ\u0301", "ας\u0301"},
		{"case-ignorable before sigma", "Α\u0301Σ", "α\u0301ς"},
		{"soft hyphen is case-ignorable", "ΑΣ\u00adΒ", "ασ\u00adβ"},
		{"apostrophe is case-ignorable", "Α'Σ", "α'ς"},
		{"digit is not cased", "1Σ", "1σ"},
		{"modifier letter", "ʰΣ", "ʰσ"},
		{"dotted capital I", "İ", "i\u0307"},
		{"long s unchanged", "ſ", "ſ"},
		{"kelvin sign", "\u212a", "k"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := pyLower(tc.in); got != tc.want {
				t.Errorf("pyLower(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestClean(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"empty", "", ""},
		{"strip and collapse", "  A\t\tB \n C  ", "a b c"},
		{"unicode spaces", "\u3000a\u00a0\u2028b\u3000", "a b"},
		{"file separators only stripped at the ends", "\x1ca\x1cb\x1c", "a\x1cb"},
		{"entity makes space", "a&nbsp;&nbsp;b", "a b"},
		{"entity at edge is stripped", "&#32;a&#9;", "a"},
		{"invalid UTF-8", "a\xff\xfeb", "a\ufffd\ufffdb"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := clean(tc.in); got != tc.want {
				t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

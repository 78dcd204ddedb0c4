// Package bpe implements OpenAI CLIP's byte-level BPE tokenizer
// (SimpleTokenizer) in pure Go.
//
// Encoding follows CLIP's reference code with its ftfy step left out
// (identity): HTML entities are unescaped twice with the rules of Python's
// html.unescape, whitespace is stripped and collapsed, the text is
// lower-cased like Python's str.lower, split with CLIP's regular expression,
// mapped to bytes_to_unicode characters and merged with the BPE ranks of the
// merges file. Invalid UTF-8 bytes are treated as U+FFFD.
//
// The pre-tokenizer is a hand-written equivalent of CLIP's pattern (see
// nextPretoken), and letters and numbers are classified with Go's Unicode
// tables (unicode.Version), so code points assigned in later Unicode versions
// than Go's may split differently from a Python with newer tables.
package bpe

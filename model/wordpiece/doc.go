// Package wordpiece implements the BERT uncased WordPiece tokenizer in pure
// Go, reproducing Hugging Face's BertTokenizer / BertTokenizerFast.
//
// Encoding runs BERT's basic tokenizer (drop NUL, U+FFFD and control
// characters; map whitespace to spaces; isolate CJK ideographs; lower-case and
// strip accents via NFD when lower-casing; split on whitespace and
// punctuation) followed by greedy longest-match-first WordPiece with the "##"
// continuation prefix. Words longer than 100 code points become [UNK]. The
// result is wrapped in [CLS] ... [SEP].
//
// The special tokens [PAD], [UNK], [CLS], [SEP] and [MASK] are recognised when
// they appear verbatim (case-sensitive) in the input, as Hugging Face does
// for its added special tokens. Offsets are reported in code points of the
// original, un-normalised input, like the offset mapping of Hugging Face's
// fast tokenizer.
//
// Character classes come from Go's Unicode tables (unicode.Version); a code
// point unassigned there counts as a control character and is dropped, as
// in BERT.
package wordpiece

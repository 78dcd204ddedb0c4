package glip

import "strings"

// DecodePieces joins WordPiece tokens into text as Hugging Face's
// BertTokenizerFast.decode does (the WordPiece decoder with cleanup, then
// clean_up_tokenization): pieces are joined with spaces, a "##"
// continuation is glued to the piece before it (not when it comes first),
// and the spaces before . ? ! , and inside " ' ", " n't", " 'm", " 's",
// " 've", " 're" are removed.
func DecodePieces(pieces []string) string {
	var b strings.Builder
	for i, p := range pieces {
		if i > 0 {
			if rest, ok := strings.CutPrefix(p, "##"); ok {
				p = rest
			} else {
				p = " " + p
			}
		}
		// The decoder's per-token cleanup: only a leading space can match.
		switch p {
		case " .", " ?", " !", " ,":
			p = p[1:]
		}
		b.WriteString(p)
	}
	return cleanUpTokenization(b.String())
}

// cleanUpTokenization is transformers' clean_up_tokenization: its
// replacements one after the other, each over the whole text.
func cleanUpTokenization(s string) string {
	for _, r := range [...][2]string{
		{" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
		{" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
	} {
		s = strings.ReplaceAll(s, r[0], r[1])
	}
	return s
}

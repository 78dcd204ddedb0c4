package bpe

// bytesToUnicode returns CLIP's bytes_to_unicode table in its insertion
// order: order[i] is the byte whose stand-in character is char[i]. Printable
// Latin-1 bytes stand for themselves; the others map to U+0100 onwards.
func bytesToUnicode() (order [256]byte, char [256]rune) {
	n := 0
	printable := func(b int) bool {
		return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF)
	}
	for b := 0; b < 256; b++ {
		if printable(b) {
			order[n], char[n] = byte(b), rune(b)
			n++
		}
	}
	extra := 0
	for b := 0; b < 256; b++ {
		if !printable(b) {
			order[n], char[n] = byte(b), rune(256+extra)
			n++
			extra++
		}
	}
	return order, char
}

package wordpiece

import "testing"

func BenchmarkEncode(b *testing.B) {
	tok := loadBERT(b)
	refs := loadReferences(b)
	bytes := 0
	for _, r := range refs {
		bytes += len(r.Text)
	}
	b.SetBytes(int64(bytes))
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range refs {
			tok.Encode(r.Text)
		}
	}
}

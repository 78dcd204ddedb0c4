package bpe

import "testing"

// BenchmarkEncode measures steady-state encoding; the pre-token cache is
// warm after the first iteration, as in a long-running pipeline.
func BenchmarkEncode(b *testing.B) {
	tok := loadCLIP(b)
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

// BenchmarkEncodeCold measures encoding with an empty cache each time.
func BenchmarkEncodeCold(b *testing.B) {
	tok := *loadCLIP(b) // a copy whose cache can be replaced
	refs := loadReferences(b)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		tok.cache = newCache(cacheEntries)
		b.StartTimer()
		for _, r := range refs {
			tok.Encode(r.Text)
		}
	}
}

package bpe

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"slices"
	"testing"
)

func TestDefaultVocab(t *testing.T) {
	tests := []struct {
		name, file, sha string
		got             func() []byte
	}{
		{"merges", "vocab/" + VocabFile, "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a", DefaultVocab},
		{"licence", "vocab/" + LicenseFile, "987e63b32f6c89ff5160e429458a872ff048e6860b590a3912e938f9da8f14db", DefaultVocabLicense},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.got()
			sum := sha256.Sum256(got)
			if h := hex.EncodeToString(sum[:]); h != tc.sha {
				t.Errorf("sha256 %s, want %s", h, tc.sha)
			}
			disk, err := os.ReadFile(tc.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, disk) {
				t.Errorf("embedded bytes differ from %s", tc.file)
			}
			got[0] ^= 0xff // a copy: the embedded bytes stay intact
			if again := tc.got(); bytes.Equal(got, again) {
				t.Error("returned slice aliases the embedded bytes")
			}
		})
	}
}

func TestDefaultMatchesLoad(t *testing.T) {
	def, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := Load(mergesPath)
	if err != nil {
		t.Fatal(err)
	}
	if def.VocabSize() != 49408 || def.eot != 49407 || def.sot != 49406 {
		t.Errorf("vocab size %d, sot %d, eot %d; want 49408, 49406, 49407", def.VocabSize(), def.sot, def.eot)
	}
	for _, text := range []string{"a photo of a traffic light.", "There is an embroidered zebra in the scene."} {
		if a, b := def.Encode(text), ref.Encode(text); !slices.Equal(a, b) {
			t.Errorf("%q: Default gives %v, Load gives %v", text, a, b)
		}
	}
}

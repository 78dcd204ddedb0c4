package bpe_test

import (
	"fmt"
	"log"

	"github.com/groundbeam/groundbeam/model/bpe"
)

func Example() {
	tok, err := bpe.Load("vocab/bpe_simple_vocab_16e6.txt.gz")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tok.Encode("A man riding a wave."))
	ids, truncated := tok.EncodePadded("A man riding a wave.", 10)
	fmt.Println(ids, truncated)
	// Output:
	// [49406 320 786 6765 320 4535 269 49407]
	// [49406 320 786 6765 320 4535 269 49407 0 0] false
}

package wordpiece_test

import (
	"fmt"
	"log"

	"github.com/groundbeam/groundbeam/model/wordpiece"
)

func Example() {
	tok, err := wordpiece.Load("testdata/bert-base-uncased-vocab.txt", nil)
	if err != nil {
		log.Fatal(err)
	}
	enc := tok.Encode("Café au lait.")
	fmt.Println(enc.IDs)
	fmt.Println(enc.Offsets)
	// Output:
	// [101 7668 8740 21110 2102 1012 102]
	// [[0 0] [0 4] [5 7] [8 11] [11 12] [12 13] [0 0]]
}

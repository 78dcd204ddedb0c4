package tiny

import (
	"fmt"
	"strings"
	"sync"
)

// wordPieceSpecials are the BERT special tokens, in id order from 0.
var wordPieceSpecials = []string{"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}

// wordPieceChars are the single-character tokens (lower-case BERT style).
const wordPieceChars = "abcdefghijklmnopqrstuvwxyz0123456789!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

// captionWords are common English caption words, roughly by usefulness.
const captionWords = `
a an the of on in with and or to at by for from near under over above below
behind beside between next front top bottom left right middle center side
is are was were be has have its it this that these those there here
one two three four five six seven eight nine ten many some several few
man woman men women person people boy girl child children kid baby player
dog cat horse cow sheep bird elephant bear zebra giraffe animal duck fish
red blue green yellow orange purple pink brown black white gray grey
dark light bright colorful colored striped spotted plain
square circle triangle rectangle stripe stripes shape shapes dot dots line
lines star heart diamond oval ring cross box ball cube block
background foreground scene image picture photo view area region object
car truck bus train bicycle bike motorcycle airplane plane boat ship
traffic sign stop street road sidewalk building house city tree trees
grass field sky cloud clouds water sea ocean beach river lake mountain
snow sand rock hill park garden forest wall floor ceiling window door
table chair couch bed bench desk shelf kitchen room bathroom toilet sink
cup bowl plate bottle glass fork knife spoon food pizza cake sandwich
banana apple orange broccoli carrot hot donut fruit vegetable
phone laptop computer keyboard mouse screen tv television remote book
clock vase scissors umbrella bag backpack handbag suitcase tie hat shirt
jacket dress shoes glasses helmet kite frisbee skateboard surfboard
skis snowboard racket bat glove sports game
large small big little tiny huge tall short long wide narrow round flat
old young new empty full open closed single double
sitting standing walking running riding holding eating playing looking
flying parked lying wearing carrying jumping swimming driving waiting
up down out into onto through around across along against inside outside
group pair couple bunch pile row set
other each all both another same different
toothbrush refrigerator oven microwave toaster hair drier teddy potted plant
dining hydrant parking meter wine tennis baseball mirror lamp pillow blanket
curtain rug carpet towel basket box paper pen pencil bowl jar pot pan
flower flowers leaf leaves branch bush fence gate bridge tower roof pole
wire wheel tire seat window mirror light lights lamp post signal crosswalk
corner edge surface pattern texture color colors shadow reflection
cloth fabric metal wooden wood plastic stone brick concrete glass paper
morning night day evening sunny cloudy rainy snowy wet dry clean dirty
happy smiling laughing talking watching reading writing cooking cutting
throwing catching hitting kicking swinging pulling pushing sleeping resting
his her their our my your them they he she we you
very next just only also still while as than then when where
what which who how why not no yes can will would could should
first second third last
horizontal vertical diagonal striped checkered dotted solid blank
number letter word text label logo icon symbol arrow
beige tan gold silver navy teal cyan magenta violet maroon olive lime
crowd team family friends couple mother father son daughter
zebras giraffes elephants dogs cats birds cows cars trucks
buses trains boats planes bikes boys girls squares circles triangles
rectangles`

var (
	vocabOnce sync.Once
	vocabBase []string
)

// baseVocab returns the deterministic, duplicate-free token list: specials,
// single characters, their "##" continuations, then caption words.
func baseVocab() []string {
	vocabOnce.Do(func() {
		seen := map[string]bool{}
		add := func(tok string) {
			if tok != "" && !seen[tok] {
				seen[tok] = true
				vocabBase = append(vocabBase, tok)
			}
		}
		for _, s := range wordPieceSpecials {
			add(s)
		}
		for _, c := range wordPieceChars {
			add(string(c))
		}
		for _, c := range wordPieceChars {
			add("##" + string(c))
		}
		for _, w := range strings.Fields(captionWords) {
			add(w)
		}
	})
	return vocabBase
}

// WordPieceVocab returns a deterministic WordPiece vocabulary of n entries
// in BERT (uncased) conventions: "[PAD]" at id 0, then "[UNK]", "[CLS]",
// "[SEP]", "[MASK]", single ASCII letters, digits and punctuation, their
// "##" continuation forms, and several hundred common English caption
// words. If n exceeds the built-in list the rest is filled with
// "[unused<i>]" tokens; n <= 0 gives nil. Use n <= GroundingOptions.VocabSize
// so every id has an embedding row.
func WordPieceVocab(n int) []string {
	if n <= 0 {
		return nil
	}
	base := baseVocab()
	out := make([]string, 0, n)
	out = append(out, base[:min(n, len(base))]...)
	for i := 0; len(out) < n; i++ {
		out = append(out, fmt.Sprintf("[unused%d]", i))
	}
	return out
}

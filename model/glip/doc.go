// Package glip turns a grounding model's raw outputs into grounded boxes
// the way GLIP's inference does (microsoft/GLIP, maskrcnn-benchmark's
// ATSSPostProcessor and predictor_glip.py), with Grounding DINO's as a
// preset ([Preset]). It is pure Go: no ONNX Runtime, no Beam.
//
// # Prompts
//
// Caption mode grounds a caption's noun phrases ([CaptionPrompt],
// [NounPhrases]); vocabulary mode grounds class names joined into one or
// more prompts that each fit the token limit ([VocabPrompts]; GLIP joins
// names with ". " and nothing after the last). A phrase is a code-point
// span of the prompt text; [PositiveMap] maps it to tokens with GLIP's
// create_positive_map fallbacks.
//
// # Scoring
//
// [Score] and [Merge] (or [Decode] for one prompt) follow GLIP: token
// probabilities sigmoid(logit), a phrase scores their mean
// ([AggregateMean]; [AggregateMax] for Grounding DINO's rule), candidates
// pass cls > 0.05, the best 1000 by cls × sigmoid(centerness) are kept and
// scored sqrt(cls × sigmoid(centerness)), boxes are clipped to the
// resized image with maskrcnn-benchmark's x2 ≤ W−1 convention, class-wise
// NMS at IoU 0.6 (widths x2 − x1 + 1), the 100 best per image (300 for a
// vocabulary of over 1,000 names, ties with the last kept), boxes scaled
// back by original/resized size per axis. Every threshold is a field of
// [Params]; [DefaultParams] documents GLIP's values.
//
// Vocabulary prompts are scored separately and pooled per image before NMS
// and top-K. GLIP post-processes each prompt (chunk) with its own top-K
// and its LVIS evaluation keeps the best 300 of the pooled results; with
// per-prompt K at least the pooled K that is the same as pooling first.
//
// # Part-of-speech tagger
//
// GLIP tags the lower-cased caption with NLTK (word_tokenize, then the
// averaged-perceptron pos_tag) and chunks it with
// NP: {<DT>?<JJ.*>*<NN.*>+}. Here the caption is tokenized by
// github.com/jdkato/prose/v2 (a document built with tokenization only: no
// tagging, segmentation or entity extraction) and tagged by a small port
// of NLTK's PerceptronTagger (same 14 features, context padding, word
// normalization and tie rule) running prose's trained averaged-perceptron
// English model (Penn Treebank tags), loaded once per process and
// read-only after. prose's tokenizer splits punctuation and contractions
// off words much as NLTK's Treebank tokenizer does; a double quote is
// given to the tagger as NLTK writes it: two backquotes when it opens,
// two apostrophes when it closes.
// prose's own tagger runs the same model but picks among
// tied classes by Go map order: tagging 3,000 random word sequences six
// times each, one came out differently from run to run, which a corpus
// that must be reproducible cannot have. It also allocates a map per word
// and is about six times slower (BenchmarkNounPhrases vs
// BenchmarkProseTagging: roughly 30 µs against 180 µs per caption). The
// port is deterministic, with NLTK's rule (a tie goes to the larger tag).
// The trained weights are prose's, not NLTK's, so a few tags may
// differ from GLIP's; typical captions tag sensibly (see the tests). A
// run of over 100 characters without a space is not tagged (BERT makes
// such a word [UNK]; prose's tokenizer is quadratic in it).
//
// # Where this departs from GLIP
//
//   - GLIP re-finds each phrase's text in the caption with re.finditer and
//     grounds every match, so a repeated phrase is grounded twice per
//     occurrence (duplicate labels) and "cat" also matches inside
//     "category"; here each chunk keeps its own span, once.
//   - GLIP deletes punctuation anywhere in a phrase before that search
//     (a phrase such as "mr. smith" then no longer matches and is lost);
//     here it is trimmed from the span's ends only, along with any other
//     Unicode punctuation there (curly quotes, which GLIP keeps).
//   - Pre-NMS top-N applies per FPN level only when [Output.Levels] says
//     where levels start; otherwise over all queries at once.
//   - Final boxes are clipped to the original image and boxes with no area
//     are dropped (GLIP would emit them).
//   - The ScoreTokens mode leaves special tokens out of a phrase's text and
//     drops queries whose phrase decodes to nothing.
package glip

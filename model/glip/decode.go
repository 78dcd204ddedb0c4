package glip

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"sort"
)

// Params are the post-processing settings; see [DefaultParams].
type Params struct {
	// PreThreshold drops (query, phrase) scores below it before NMS.
	PreThreshold float32
	// PreTopN keeps at most this many candidates before NMS.
	PreTopN int
	// NMSIoU is the class-wise NMS overlap threshold.
	NMSIoU float32
	// TopK keeps at most this many boxes per image after NMS.
	TopK int
	// ScoreThreshold drops final boxes below it.
	ScoreThreshold float32
	// Aggregate is how token probabilities make a phrase score: "mean"
	// (GLIP) or "max" (Grounding DINO).
	Aggregate string
}

// DefaultParams are GLIP's inference settings (ATSS INFERENCE_TH 0.05,
// PRE_NMS_TOP_N 1000, NMS_TH 0.6, DETECTIONS_PER_IMG 100) with a final
// score threshold of 0.3 for the corpus.
func DefaultParams() Params {
	return Params{PreThreshold: 0.05, PreTopN: 1000, NMSIoU: 0.6, TopK: 100, ScoreThreshold: 0.3, Aggregate: "mean"}
}

// Hash identifies the parameters, for the rows' provenance.
func (p Params) Hash() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%+v", p)))
	return hex.EncodeToString(sum[:])[:12]
}

// Geometry relates the model's input to the original image.
type Geometry struct {
	// OrigW and OrigH are the decoded image's size.
	OrigW, OrigH int
	// ResizedW and ResizedH are its size after resizing, before padding.
	ResizedW, ResizedH int
}

// BoxFormat says how the model gives boxes.
type BoxFormat int

// Box formats.
const (
	// CXCYWHNorm is centre, size as fractions of the resized image.
	CXCYWHNorm BoxFormat = iota
	// XYXYPixels is corners in pixels of the resized image.
	XYXYPixels
)

// Detection is one kept box.
type Detection struct {
	// Box is x1, y1, x2, y2 in original-image pixels, clipped to it.
	Box [4]float32
	// Score is the phrase score in [0, 1].
	Score float32
	// Phrase indexes the prompt's phrases.
	Phrase int
}

// Output is one image's raw outputs: boxes [Q×4] and logits [Q×T].
type Output struct {
	Boxes  []float32
	Logits []float32
	// Queries and Tokens are Q and T.
	Queries, Tokens int
	// Sigmoid says the logits are raw (sigmoid still to apply).
	Sigmoid bool
}

// Decode scores every (query, phrase) pair, thresholds, runs class-wise
// NMS, keeps the top K and maps boxes back to original pixels.
func Decode(out Output, phraseTokens [][]int, format BoxFormat, g Geometry, p Params) []Detection {
	type cand struct {
		q, ph int
		score float32
	}
	var cands []cand
	prob := func(v float32) float32 {
		if out.Sigmoid {
			return float32(1 / (1 + math.Exp(-float64(v))))
		}
		return v
	}
	for q := range out.Queries {
		row := out.Logits[q*out.Tokens : (q+1)*out.Tokens]
		for ph, toks := range phraseTokens {
			if len(toks) == 0 {
				continue
			}
			var s float32
			for i, t := range toks {
				v := prob(row[t])
				switch {
				case p.Aggregate == "max":
					if i == 0 || v > s {
						s = v
					}
				default:
					s += v
				}
			}
			if p.Aggregate != "max" {
				s /= float32(len(toks))
			}
			if s >= p.PreThreshold {
				cands = append(cands, cand{q, ph, s})
			}
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].score > cands[j].score })
	if p.PreTopN > 0 && len(cands) > p.PreTopN {
		cands = cands[:p.PreTopN]
	}
	dets := make([]Detection, 0, len(cands))
	for _, c := range cands {
		dets = append(dets, Detection{Box: unmap(out.Boxes[c.q*4:c.q*4+4], format, g), Score: c.score, Phrase: c.ph})
	}
	dets = NMS(dets, p.NMSIoU)
	kept := dets[:0]
	for _, d := range dets {
		if d.Score >= p.ScoreThreshold && d.Box[2] > d.Box[0] && d.Box[3] > d.Box[1] {
			kept = append(kept, d)
		}
	}
	if p.TopK > 0 && len(kept) > p.TopK {
		kept = kept[:p.TopK]
	}
	return kept
}

// unmap converts a model box to original-image pixels, clipped.
func unmap(b []float32, format BoxFormat, g Geometry) [4]float32 {
	var x1, y1, x2, y2 float64
	switch format {
	case XYXYPixels:
		sx := float64(g.OrigW) / float64(g.ResizedW)
		sy := float64(g.OrigH) / float64(g.ResizedH)
		x1, y1, x2, y2 = float64(b[0])*sx, float64(b[1])*sy, float64(b[2])*sx, float64(b[3])*sy
	default:
		cx, cy, w, h := float64(b[0]), float64(b[1]), float64(b[2]), float64(b[3])
		x1, x2 = (cx-w/2)*float64(g.OrigW), (cx+w/2)*float64(g.OrigW)
		y1, y2 = (cy-h/2)*float64(g.OrigH), (cy+h/2)*float64(g.OrigH)
	}
	clip := func(v float64, hi int) float32 { return float32(min(max(v, 0), float64(hi))) }
	return [4]float32{clip(x1, g.OrigW), clip(y1, g.OrigH), clip(x2, g.OrigW), clip(y2, g.OrigH)}
}

// NMS keeps, per phrase, the highest-scoring boxes that overlap no kept
// box of that phrase by more than iou. dets must be sorted by score,
// best first; the result keeps that order.
func NMS(dets []Detection, iou float32) []Detection {
	out := make([]Detection, 0, len(dets))
	for _, d := range dets {
		keep := true
		for _, k := range out {
			if k.Phrase == d.Phrase && IoU(k.Box, d.Box) > iou {
				keep = false
				break
			}
		}
		if keep {
			out = append(out, d)
		}
	}
	return out
}

// IoU is the intersection over union of two xyxy boxes.
func IoU(a, b [4]float32) float32 {
	iw := min(a[2], b[2]) - max(a[0], b[0])
	ih := min(a[3], b[3]) - max(a[1], b[1])
	if iw <= 0 || ih <= 0 {
		return 0
	}
	inter := iw * ih
	union := (a[2]-a[0])*(a[3]-a[1]) + (b[2]-b[0])*(b[3]-b[1]) - inter
	if union <= 0 {
		return 0
	}
	return inter / union
}

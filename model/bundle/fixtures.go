package bundle

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
)

// FixturesFile is the conventional name of a bundle's fixtures file.
const FixturesFile = "fixtures.json"

// FixturesVersion is the fixtures.json format this package reads.
const FixturesVersion = 1

// Graphs a fixture case runs: grounding is Manifest.ONNX, image, text and
// region are a CLIP bundle's ImageONNX, TextONNX and RegionONNX.
const (
	GraphGrounding = "grounding"
	GraphImage     = "image"
	GraphText      = "text"
	GraphRegion    = "region"
)

// ErrNoFixtures is returned by LoadFixtures for a bundle whose model.json
// names no fixtures file.
var ErrNoFixtures = errors.New("bundle has no fixtures")

// Fixtures is a bundle's fixtures.json: reference tokenizations and graph
// outputs recorded where the bundle was made (PyTorch for an exported
// bundle), against which the bundle is verified as groundbeam runs it.
type Fixtures struct {
	FormatVersion int `json:"format_version"`
	// Source says in words where the references come from.
	Source string `json:"source"`
	// Tolerance is the largest absolute difference between an output
	// value and its reference that a case accepts (unless the case has a
	// tolerance of its own).
	Tolerance float64 `json:"tolerance"`
	// Parity is informational: per output role, the largest difference
	// between the ONNX graph and the original model measured at export.
	Parity map[string]float64 `json:"parity,omitempty"`
	// Tokens are reference tokenizations.
	Tokens []TokenFixture `json:"tokens,omitempty"`
	// Cases are reference graph outputs.
	Cases []Case `json:"cases,omitempty"`
}

// TokenFixture is a text and the tokenizer's full output for it: special
// tokens included, no padding, no truncation.
type TokenFixture struct {
	Text string  `json:"text"`
	IDs  []int64 `json:"ids"`
}

// Case is one graph run with its reference output.
type Case struct {
	// Name identifies the case in reports; names are unique.
	Name string `json:"name"`
	// Graph is GraphGrounding, GraphImage, GraphText or GraphRegion.
	Graph string `json:"graph"`
	// Image is a fixture image file of the bundle (listed in Files), at a
	// size the graph's preprocessing leaves unchanged (image, region and
	// grounding cases).
	Image string `json:"image,omitempty"`
	// Text is the text (text cases) or the caption (grounding cases).
	Text string `json:"text,omitempty"`
	// Boxes are x1, y1, x2, y2 in the image's pixels (region cases).
	Boxes [][]float32 `json:"boxes,omitempty"`
	// Output is the role, in Manifest.Outputs, of the output compared.
	Output string `json:"output"`
	// Shape is the output's shape and Values its float32 values,
	// flattened in row-major order.
	Shape  []int64   `json:"shape"`
	Values []float32 `json:"values"`
	// Tolerance, when set, replaces Fixtures.Tolerance for this case.
	Tolerance *float64 `json:"tolerance,omitempty"`
}

// CaseTolerance is the largest absolute difference case c accepts.
func (f *Fixtures) CaseTolerance(c Case) float64 {
	if c.Tolerance != nil {
		return *c.Tolerance
	}
	return f.Tolerance
}

// graphOutputs lists each graph's output roles.
var graphOutputs = map[string][]string{
	GraphGrounding: {OutBoxes, OutLogits, OutCenterness},
	GraphImage:     {OutImageEmbeds},
	GraphText:      {OutTextEmbeds},
	GraphRegion:    {OutRegionEmbeds},
}

// GraphFile is the ONNX file of the bundle that a case's graph names, ""
// when the bundle has no such graph.
func (m *Manifest) GraphFile(graph string) string {
	switch {
	case graph == GraphGrounding && m.Kind == KindGrounding:
		return m.ONNX
	case m.Kind != KindCLIP:
		return ""
	case graph == GraphImage:
		return m.ImageONNX
	case graph == GraphText:
		return m.TextONNX
	case graph == GraphRegion:
		return m.RegionONNX
	}
	return ""
}

// LoadFixtures reads and checks the fixtures file b's manifest names (see
// ParseFixtures). A bundle without one gives ErrNoFixtures.
func LoadFixtures(b *Bundle) (*Fixtures, error) {
	name := b.Manifest.Fixtures
	if name == "" {
		return nil, fmt.Errorf("model bundle %s: %w (model.json has no \"fixtures\")", b.Dir, ErrNoFixtures)
	}
	raw, err := os.ReadFile(b.Path(name))
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: fixtures: %w", b.Dir, err)
	}
	f, err := ParseFixtures(raw, &b.Manifest)
	if err != nil {
		return nil, fmt.Errorf("model bundle %s: %w", b.Dir, err)
	}
	return f, nil
}

// ParseFixtures parses the bytes of a fixtures file and checks them
// against the bundle's manifest m: the format version; a finite,
// non-negative tolerance (required) and parity values; token fixtures with
// ids; and for each case a unique name, a graph the bundle has, an output
// role of that graph that the manifest maps, the inputs its graph takes
// and no others (an image listed in the manifest's files, a text, boxes of
// four finite numbers), and a shape whose size is the number of values.
// Unknown fields are refused, so that a misspelt per-case tolerance is not
// silently ignored. Errors wrap ErrInvalid.
func ParseFixtures(raw []byte, m *Manifest) (*Fixtures, error) {
	f, err := parseFixtures(raw, m)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, fixturesName(m), err)
	}
	return f, nil
}

func fixturesName(m *Manifest) string {
	if m.Fixtures != "" {
		return m.Fixtures
	}
	return FixturesFile
}

func parseFixtures(raw []byte, m *Manifest) (*Fixtures, error) {
	// Tolerance is required: a pointer tells a missing one from 0.
	var doc struct {
		Fixtures
		Tolerance *float64 `json:"tolerance"`
	}
	if !json.Valid(raw) {
		var v any
		return nil, fmt.Errorf("bad JSON: %w", json.Unmarshal(raw, &v))
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	f := doc.Fixtures
	if f.FormatVersion != FixturesVersion {
		return nil, fmt.Errorf("format_version %d, this groundbeam reads %d", f.FormatVersion, FixturesVersion)
	}
	if doc.Tolerance == nil {
		return nil, errors.New("tolerance is missing")
	}
	f.Tolerance = *doc.Tolerance
	if err := checkTolerance("tolerance", f.Tolerance); err != nil {
		return nil, err
	}
	for _, role := range sortedKeys(f.Parity) {
		if v := f.Parity[role]; math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return nil, fmt.Errorf("parity %q is %v, want a finite number ≥ 0", role, v)
		}
	}
	if len(f.Tokens) == 0 && len(f.Cases) == 0 {
		return nil, errors.New("no tokens and no cases")
	}
	for i, t := range f.Tokens {
		if len(t.IDs) == 0 {
			return nil, fmt.Errorf("tokens[%d] (%q) has no ids", i, t.Text)
		}
	}
	seen := map[string]bool{}
	for i, c := range f.Cases {
		if c.Name == "" {
			return nil, fmt.Errorf("cases[%d] has no name", i)
		}
		if seen[c.Name] {
			return nil, fmt.Errorf("case %q: the name is used twice", c.Name)
		}
		seen[c.Name] = true
		if err := c.check(m); err != nil {
			return nil, fmt.Errorf("case %q: %w", c.Name, err)
		}
	}
	return &f, nil
}

func checkTolerance(field string, v float64) error {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
		return fmt.Errorf("%s %v: want a finite number ≥ 0", field, v)
	}
	return nil
}

// check is ParseFixtures' validation of one case.
func (c *Case) check(m *Manifest) error {
	roles, ok := graphOutputs[c.Graph]
	if !ok {
		return fmt.Errorf("graph %q: want %s, %s, %s or %s", c.Graph, GraphGrounding, GraphImage, GraphText, GraphRegion)
	}
	if m.GraphFile(c.Graph) == "" {
		return fmt.Errorf("graph %q: this %s bundle has no such graph", c.Graph, m.Kind)
	}
	if !slices.Contains(roles, c.Output) {
		return fmt.Errorf("output %q is not an output of the %s graph (want %s)", c.Output, c.Graph, strings.Join(roles, " or "))
	}
	if m.Outputs[c.Output] == "" {
		return fmt.Errorf("output %q: model.json's outputs do not map it to a tensor", c.Output)
	}
	needImage := c.Graph != GraphText
	needText := c.Graph == GraphText || c.Graph == GraphGrounding
	needBoxes := c.Graph == GraphRegion
	switch {
	case needImage && c.Image == "":
		return fmt.Errorf("the %s graph needs an image", c.Graph)
	case !needImage && c.Image != "":
		return fmt.Errorf("the %s graph takes no image", c.Graph)
	case needText && c.Text == "":
		return fmt.Errorf("the %s graph needs a text", c.Graph)
	case !needText && c.Text != "":
		return fmt.Errorf("the %s graph takes no text", c.Graph)
	case needBoxes && len(c.Boxes) == 0:
		return fmt.Errorf("the %s graph needs boxes", c.Graph)
	case !needBoxes && len(c.Boxes) > 0:
		return fmt.Errorf("the %s graph takes no boxes", c.Graph)
	}
	if c.Image != "" {
		if _, ok := m.Files[c.Image]; !ok {
			return fmt.Errorf("image %s is not in model.json's files", c.Image)
		}
	}
	for i, b := range c.Boxes {
		if len(b) != 4 {
			return fmt.Errorf("boxes[%d] has %d numbers, want 4 (x1, y1, x2, y2)", i, len(b))
		}
		for _, v := range b {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("boxes[%d] is %v: want finite numbers", i, b)
			}
		}
	}
	if len(c.Shape) == 0 {
		return errors.New("shape is missing")
	}
	size := int64(1)
	for _, d := range c.Shape {
		if d <= 0 || d > int64(len(c.Values)) {
			return fmt.Errorf("shape %v does not fit its %d values", c.Shape, len(c.Values))
		}
		size *= d
		if size > int64(len(c.Values)) {
			break
		}
	}
	if size != int64(len(c.Values)) {
		return fmt.Errorf("shape %v holds a different number of values than the %d given", c.Shape, len(c.Values))
	}
	if c.Tolerance != nil {
		if err := checkTolerance("tolerance", *c.Tolerance); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]float64) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// ErrInvalid marks a bundle that exists but does not hold together: bad
// manifest, wrong checksum, tensors the graph lacks.
var ErrInvalid = errors.New("invalid model bundle")

// Bundle is a loaded, validated model bundle.
type Bundle struct {
	// Dir is the bundle's folder.
	Dir string
	// Manifest is its model.json.
	Manifest Manifest
	// Identity is name@<first 12 hex digits of model.json's sha256>; the
	// manifest holds every file's sha256, so any change shows.
	Identity string
}

// Path returns the path of a file of the bundle.
func (b *Bundle) Path(name string) string { return filepath.Join(b.Dir, name) }

// Load reads dir/model.json (see ParseManifest), checks every listed
// file's sha256 and that the graphs have the tensors the manifest declares,
// with the expected types and ranks. want, when not empty, is the kind the
// caller needs.
func Load(dir, want string) (*Bundle, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model bundle %s: no %s there", dir, ManifestFile)
		}
		return nil, fmt.Errorf("model bundle %s: %w", dir, err)
	}
	m, err := parseManifest(raw)
	if err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalid, dir, err)
	}
	sum := sha256.Sum256(raw)
	b := &Bundle{Dir: dir, Manifest: m, Identity: m.Name + "@" + hex.EncodeToString(sum[:])[:12]}
	if want != "" && m.Kind != want {
		return nil, fmt.Errorf("%w %s: kind is %q, need %q", ErrInvalid, dir, m.Kind, want)
	}
	if err := b.validate(); err != nil {
		return nil, fmt.Errorf("%w %s: %w", ErrInvalid, dir, err)
	}
	return b, nil
}

// LoadVerified is Load for a worker that may open the same bundle many
// times in one process (every DoFn instance's Setup): when verified
// reports that the process already checked the bundle under its identity
// (ort.Opened does: a session was created from its checked files), only
// model.json is read and parsed; otherwise every file is checked as Load
// does. The identity is a hash of model.json, which holds every file's
// sha256, so a changed bundle is never taken for a checked one.
func LoadVerified(dir, want string, verified func(identity string) bool) (*Bundle, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return Load(dir, want) // Load words the error
	}
	m, err := parseManifest(raw)
	if err != nil || (want != "" && m.Kind != want) {
		return Load(dir, want)
	}
	sum := sha256.Sum256(raw)
	id := m.Name + "@" + hex.EncodeToString(sum[:])[:12]
	if verified == nil || !verified(id) {
		return Load(dir, want)
	}
	return &Bundle{Dir: dir, Manifest: m, Identity: id}, nil
}

// ParseManifest parses the bytes of a model.json and checks all that can
// be checked without the bundle's files: the format version, name and
// kind; that every file a field names is listed, under a plain relative
// name inside the bundle folder (no "..", no absolute path), with a sha256
// of 64 hex digits; the box format, logits activation and tokenizer a kind
// needs; the image input type; and image and text sizes in range. Errors
// wrap ErrInvalid.
func ParseManifest(raw []byte) (Manifest, error) {
	m, err := parseManifest(raw)
	if err != nil {
		return Manifest{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return m, nil
}

// maxImageSide bounds every image size a manifest gives, so that a bad
// manifest cannot make each image allocate gigabytes.
const maxImageSide = 8192

func parseManifest(raw []byte) (Manifest, error) {
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return Manifest{}, fmt.Errorf("%s: %v", ManifestFile, err)
	}
	if err := m.check(); err != nil {
		return Manifest{}, err
	}
	return m, nil
}

// check is ParseManifest's validation.
func (m *Manifest) check() error {
	if m.FormatVersion != FormatVersion {
		return fmt.Errorf("format_version %d, this groundbeam reads %d", m.FormatVersion, FormatVersion)
	}
	if m.Name == "" {
		return errors.New("manifest has no name")
	}
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if !filepath.IsLocal(n) || strings.ContainsAny(n, `\:`) || filepath.Clean(n) != n {
			return fmt.Errorf("files: %q is not a plain name inside the bundle folder", n)
		}
		if h := m.Files[n]; len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
			return fmt.Errorf("files: %s has sha256 %q, want 64 lowercase hex digits", n, h)
		}
	}
	switch m.Kind {
	case KindGrounding:
		if err := m.listed(m.ONNX, "onnx"); err != nil {
			return err
		}
		if m.BoxFormat != BoxCXCYWHNorm && m.BoxFormat != BoxXYXYPixels {
			return fmt.Errorf("box_format %q: want %s or %s", m.BoxFormat, BoxCXCYWHNorm, BoxXYXYPixels)
		}
		if m.LogitsActivation != "" && m.LogitsActivation != "none" && m.LogitsActivation != "sigmoid" {
			return fmt.Errorf("logits_activation %q: want none or sigmoid", m.LogitsActivation)
		}
		if m.Text.Tokenizer != "wordpiece" {
			return fmt.Errorf("text.tokenizer %q: a grounding bundle needs wordpiece", m.Text.Tokenizer)
		}
	case KindCLIP:
		if err := m.listed(m.ImageONNX, "image_onnx"); err != nil {
			return err
		}
		if m.EmbeddingDim <= 0 {
			return errors.New("embedding_dim must be positive")
		}
		for _, g := range []struct{ name, field string }{{m.TextONNX, "text_onnx"}, {m.RegionONNX, "region_onnx"}} {
			if g.name != "" {
				if err := m.listed(g.name, g.field); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("kind %q: want %s or %s", m.Kind, KindGrounding, KindCLIP)
	}
	if m.Text.Vocab != "" {
		if err := m.listed(m.Text.Vocab, "text.vocab"); err != nil {
			return err
		}
	}
	if m.Fixtures != "" {
		if err := m.listed(m.Fixtures, "fixtures"); err != nil {
			return err
		}
	}
	im := m.Image
	for _, f := range []struct {
		field string
		v     int
	}{
		{"image.shortest_edge", im.ShortestEdge}, {"image.max_size", im.MaxSize}, {"image.size", im.Size},
		{"image.pad_multiple", im.PadMultiple},
	} {
		if f.v < 0 || f.v > maxImageSide {
			return fmt.Errorf("%s %d: want 0 to %d", f.field, f.v, maxImageSide)
		}
	}
	if im.ChannelOrder != "" && im.ChannelOrder != "RGB" && im.ChannelOrder != "BGR" {
		return fmt.Errorf("image.channel_order %q: want RGB or BGR", im.ChannelOrder)
	}
	if im.Input != "" && im.Input != InputFloat32NCHW && im.Input != InputUInt8NHWC {
		return fmt.Errorf("image.input %q: want %s or %s", im.Input, InputFloat32NCHW, InputUInt8NHWC)
	}
	if m.Text.MaxTokens < 0 || m.Text.ContextLength < 0 {
		return fmt.Errorf("text.max_tokens %d and text.context_length %d must not be negative", m.Text.MaxTokens, m.Text.ContextLength)
	}
	return nil
}

// validate checks the bundle's files against its (parsed and checked)
// manifest: every file's sha256, then the graphs' tensors.
func (b *Bundle) validate() error {
	m := &b.Manifest
	names := make([]string, 0, len(m.Files))
	for n := range m.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := checkFile(b.Path(n), m.Files[n]); err != nil {
			return err
		}
	}
	var graphs []graphSpec
	img := imageTensor(m.Image)
	switch m.Kind {
	case KindGrounding:
		graphs = append(graphs, graphSpec{file: m.ONNX, ins: []tensorSpec{
			img, {InInputIDs, int64Type, 2, true}, {InAttentionMask, int64Type, 2, true},
			{InPixelMask, int64Type, 3, false}, {InTokenTypeIDs, int64Type, 2, false},
		}, outs: []tensorSpec{
			{OutBoxes, floatType, 3, true}, {OutLogits, floatType, 3, true}, {OutCenterness, floatType, 2, false},
		}})
	case KindCLIP:
		graphs = append(graphs, graphSpec{file: m.ImageONNX,
			ins:  []tensorSpec{img},
			outs: []tensorSpec{{OutImageEmbeds, floatType, 2, true}}})
		if m.TextONNX != "" {
			graphs = append(graphs, graphSpec{file: m.TextONNX,
				ins:  []tensorSpec{{InInputIDs, int64Type, 2, true}},
				outs: []tensorSpec{{OutTextEmbeds, floatType, 2, true}}})
		}
		if m.RegionONNX != "" {
			graphs = append(graphs, graphSpec{file: m.RegionONNX,
				ins:  []tensorSpec{img, {InBoxes, floatType, 2, true}},
				outs: []tensorSpec{{OutRegionEmbeds, floatType, 2, true}}})
		}
	}
	var errs []error
	for _, g := range graphs {
		errs = append(errs, b.checkGraph(g))
	}
	return errors.Join(errs...)
}

// listed checks that a file the manifest refers to is in its files list
// (and so was checksummed).
func (m *Manifest) listed(name, field string) error {
	if name == "" {
		return fmt.Errorf("%s is not set", field)
	}
	if _, ok := m.Files[name]; !ok {
		return fmt.Errorf("%s names %s, which is not in files", field, name)
	}
	return nil
}

func checkFile(path, want string) error {
	st, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file %s is listed but missing", filepath.Base(path))
		}
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("file %s is not a regular file (%s)", filepath.Base(path), st.Mode().Type())
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		return fmt.Errorf("file %s has sha256 %s, manifest says %s", filepath.Base(path), got, want)
	}
	return nil
}

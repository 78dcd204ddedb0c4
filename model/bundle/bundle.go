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

// Load reads dir/model.json, checks every listed file's sha256 and that the
// graphs have the tensors the manifest declares, with the expected types
// and ranks. want, when not empty, is the kind the caller needs.
func Load(dir, want string) (*Bundle, error) {
	raw, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("model bundle %s: no %s there", dir, ManifestFile)
		}
		return nil, fmt.Errorf("model bundle %s: %w", dir, err)
	}
	var m Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("%w %s: %s: %v", ErrInvalid, dir, ManifestFile, err)
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

func (b *Bundle) validate() error {
	m := &b.Manifest
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
		if err := checkFile(b.Path(n), m.Files[n]); err != nil {
			return err
		}
	}
	var graphs []graphSpec
	switch m.Kind {
	case KindGrounding:
		if err := b.listed(m.ONNX, "onnx"); err != nil {
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
		graphs = append(graphs, graphSpec{file: m.ONNX, ins: []tensorSpec{
			{InImage, floatType, 4, true}, {InInputIDs, int64Type, 2, true}, {InAttentionMask, int64Type, 2, true},
			{InPixelMask, int64Type, 3, false}, {InTokenTypeIDs, int64Type, 2, false},
		}, outs: []tensorSpec{
			{OutBoxes, floatType, 3, true}, {OutLogits, floatType, 3, true}, {OutCenterness, floatType, 2, false},
		}})
	case KindCLIP:
		if err := b.listed(m.ImageONNX, "image_onnx"); err != nil {
			return err
		}
		if m.EmbeddingDim <= 0 {
			return errors.New("embedding_dim must be positive")
		}
		graphs = append(graphs, graphSpec{file: m.ImageONNX,
			ins:  []tensorSpec{{InImage, floatType, 4, true}},
			outs: []tensorSpec{{OutImageEmbeds, floatType, 2, true}}})
		if m.TextONNX != "" {
			if err := b.listed(m.TextONNX, "text_onnx"); err != nil {
				return err
			}
			graphs = append(graphs, graphSpec{file: m.TextONNX,
				ins:  []tensorSpec{{InInputIDs, int64Type, 2, true}},
				outs: []tensorSpec{{OutTextEmbeds, floatType, 2, true}}})
		}
		if m.RegionONNX != "" {
			if err := b.listed(m.RegionONNX, "region_onnx"); err != nil {
				return err
			}
			graphs = append(graphs, graphSpec{file: m.RegionONNX,
				ins:  []tensorSpec{{InImage, floatType, 4, true}, {InBoxes, floatType, 2, true}},
				outs: []tensorSpec{{OutRegionEmbeds, floatType, 2, true}}})
		}
	default:
		return fmt.Errorf("kind %q: want %s or %s", m.Kind, KindGrounding, KindCLIP)
	}
	if m.Text.Vocab != "" {
		if err := b.listed(m.Text.Vocab, "text.vocab"); err != nil {
			return err
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
func (b *Bundle) listed(name, field string) error {
	if name == "" {
		return fmt.Errorf("%s is not set", field)
	}
	if _, ok := b.Manifest.Files[name]; !ok {
		return fmt.Errorf("%s names %s, which is not in files", field, name)
	}
	return nil
}

func checkFile(path, want string) error {
	f, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("file %s is listed but missing", filepath.Base(path))
		}
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

package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// Write creates a bundle in dir: every file of files (a name may hold
// folders inside the bundle, such as fixtures/image0.png), then model.json
// with their sha256 filled in. It returns the loaded, validated bundle.
func Write(dir string, m Manifest, files map[string][]byte) (*Bundle, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("write bundle %s: %w", dir, err)
	}
	m.FormatVersion = FormatVersion
	m.Files = map[string]string{}
	for name, data := range files {
		if !filepath.IsLocal(name) {
			return nil, fmt.Errorf("write bundle %s: %q is not a name inside the bundle folder", dir, name)
		}
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, fmt.Errorf("write bundle %s: %w", dir, err)
		}
		if err := os.WriteFile(path, data, 0o644); err != nil {
			return nil, fmt.Errorf("write bundle %s: %w", dir, err)
		}
		sum := sha256.Sum256(data)
		m.Files[name] = hex.EncodeToString(sum[:])
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("write bundle %s: %w", dir, err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(raw, '\n'), 0o644); err != nil {
		return nil, fmt.Errorf("write bundle %s: %w", dir, err)
	}
	return Load(dir, m.Kind)
}

package sink

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// SettingsFile is the name, inside the output folder, of the settings of
// the run that writes it. The launcher writes it before the run starts;
// a --resume run compares its own settings with it.
const SettingsFile = "_settings.json"

// ErrSettingsChanged is returned by Prepare when a resumed run's settings
// differ from those the output folder was written with.
var ErrSettingsChanged = errors.New("settings changed")

// Settings are everything a job's rows depend on (models, post-processing,
// crops, storage type, what was read), as the JSON object the job made of
// them, and their identity. A shard committed under other settings is not
// taken by a resumed run, and the manifest records the settings of all its
// shards.
type Settings struct {
	// JSON is the settings object, compact, keys in the job's order.
	JSON json.RawMessage
	// Hash is the first 12 hex digits of JSON's sha256.
	Hash string
}

// NewSettings records v (a struct of the job's settings, marshalled to a
// JSON object) as Settings.
func NewSettings(v any) (Settings, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return Settings{}, fmt.Errorf("settings: %w", err)
	}
	if len(raw) == 0 || raw[0] != '{' {
		return Settings{}, fmt.Errorf("settings: %T is not a JSON object", v)
	}
	sum := sha256.Sum256(raw)
	return Settings{JSON: raw, Hash: hex.EncodeToString(sum[:])[:12]}, nil
}

// Prepare readies out for a run with settings s, on the launcher, before
// the pipeline starts. A run that starts over (resume false) removes the
// previous run's commit markers and manifest, so that neither can be taken
// for this run's while it goes on. A resumed run refuses settings that
// differ from those recorded in out's settings file (ErrSettingsChanged,
// naming the fields); a folder without one (written by an older version,
// or never) is resumed, and its shards whose markers carry no or other
// settings are labelled again. Then s is written as out's settings file.
func Prepare(ctx context.Context, out string, s Settings, resume bool) error {
	p := join(out, SettingsFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	defer fs.Close()
	if resume {
		if err := checkResume(ctx, fs, out, s); err != nil {
			return err
		}
	} else {
		if err := ClearMarkers(ctx, out); err != nil {
			return err
		}
		if err := removeMatching(ctx, join(out, ManifestFile)); err != nil {
			return fmt.Errorf("remove the previous run's manifest: %w", err)
		}
	}
	return WriteAtomic(ctx, fs, p, append(append([]byte(nil), s.JSON...), '\n'))
}

// CheckResume returns, without changing anything, the error Prepare
// would give a resumed run with settings s: ErrSettingsChanged when out
// was written with other settings, nil when with these or none recorded.
func CheckResume(ctx context.Context, out string, s Settings) error {
	p := join(out, SettingsFile)
	fs, err := filesystem.New(ctx, p)
	if err != nil {
		return fmt.Errorf("output %s: %w", out, err)
	}
	defer fs.Close()
	return checkResume(ctx, fs, out, s)
}

func checkResume(ctx context.Context, fs filesystem.Interface, out string, s Settings) error {
	prev, ok, err := readSettings(ctx, fs, join(out, SettingsFile))
	if err != nil {
		return err
	}
	if ok && !bytes.Equal(prev, s.JSON) {
		return fmt.Errorf("--resume: %w since %s was written: %s; write into a new output folder, or start over without --resume",
			ErrSettingsChanged, out, describeChange(prev, s.JSON))
	}
	return nil
}

// readSettings reads a settings file; ok is false when there is none.
func readSettings(ctx context.Context, fs filesystem.Interface, p string) (raw []byte, ok bool, err error) {
	names, err := fs.List(ctx, p)
	if err != nil {
		return nil, false, fmt.Errorf("look for %s: %w", p, err)
	}
	if len(names) == 0 {
		return nil, false, nil
	}
	r, err := fs.OpenRead(ctx, p)
	if err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	defer r.Close()
	if raw, err = io.ReadAll(r); err != nil {
		return nil, false, fmt.Errorf("read %s: %w", p, err)
	}
	return bytes.TrimSpace(raw), true, nil
}

// describeChange names the fields whose values differ between two
// settings objects (nested objects field by field, as a.b), with both
// values.
func describeChange(prev, now []byte) string {
	var diff []string
	diffJSON("", prev, now, &diff)
	if len(diff) == 0 {
		return "the settings file differs in form"
	}
	sort.Strings(diff)
	return strings.Join(diff, "; ")
}

func diffJSON(name string, a, b json.RawMessage, diff *[]string) {
	var oa, ob map[string]json.RawMessage
	if a != nil && b != nil && json.Unmarshal(a, &oa) == nil && json.Unmarshal(b, &ob) == nil && oa != nil && ob != nil {
		keys := map[string]bool{}
		for k := range oa {
			keys[k] = true
		}
		for k := range ob {
			keys[k] = true
		}
		for k := range keys {
			n := k
			if name != "" {
				n = name + "." + k
			}
			diffJSON(n, oa[k], ob[k], diff)
		}
		return
	}
	if va, vb := compact(a), compact(b); va != vb {
		*diff = append(*diff, fmt.Sprintf("%s was %s, is now %s", name, va, vb))
	}
}

func compact(v json.RawMessage) string {
	if v == nil {
		return "absent"
	}
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return string(v)
	}
	return b.String()
}

package vocab

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"

	"github.com/groundbeam/groundbeam/model/clip"
)

// maxLine is the longest line a names or templates file may have.
const maxLine = 1 << 20

// ReadNames reads a names file (local, gs:// or s3://) with ParseNames.
func ReadNames(ctx context.Context, name string) ([]string, error) {
	var names []string
	err := readText(ctx, name, func(r io.Reader) (err error) {
		names, err = ParseNames(r, name)
		return err
	})
	return names, err
}

// ParseNames reads one class name per line; a name's label id is its
// line's 0-based index. Names are trimmed of surrounding white space (a
// byte-order mark and CRLF line ends are fine). A blank line before a
// name is an error that names it, since skipping it would silently shift
// the label id of every later name (blank lines at the end shift nothing
// and are ignored, as the label job's --vocab does); so is a line that is
// not UTF-8, or no name at all.
// The same name on several lines is allowed (see Duplicates).
func ParseNames(r io.Reader, name string) ([]string, error) {
	var names []string
	blank := 0 // the first blank line not yet followed by a name
	err := scanLines(r, "names file "+name, func(n int, line string) error {
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		if !utf8.ValidString(line) {
			return fmt.Errorf("names file %s: line %d is not valid UTF-8", name, n)
		}
		line = strings.TrimSpace(line)
		switch {
		case line == "":
			if blank == 0 {
				blank = n
			}
			return nil
		case blank > 0:
			return fmt.Errorf("names file %s: line %d is blank: every line is a class name, its label id the line's index, so remove the line or name the class", name, blank)
		}
		names = append(names, line)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("names file %s has no names", name)
	}
	return names, nil
}

// Duplicate is a class name given on several lines.
type Duplicate struct {
	// Name is the first line's name.
	Name string
	// LabelIDs are the lines' label ids, ascending.
	LabelIDs []int
}

// Duplicates lists the names that give the same prompts, and so the same
// embedding, under several label ids: equal once formatted as clip.Prompt
// does (lower case, '_' as ' ', '/' as " or ", trailing dots dropped).
func Duplicates(names []string) []Duplicate {
	ids := map[string][]int{}
	var order []string
	for i, n := range names {
		k := clip.Prompt("{}", n)
		if _, ok := ids[k]; !ok {
			order = append(order, k)
		}
		ids[k] = append(ids[k], i)
	}
	var out []Duplicate
	for _, k := range order {
		if len(ids[k]) > 1 {
			out = append(out, Duplicate{Name: names[ids[k][0]], LabelIDs: ids[k]})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LabelIDs[0] < out[j].LabelIDs[0] })
	return out
}

// ReadTemplates reads a templates file (local, gs:// or s3://) with
// ParseTemplates.
func ReadTemplates(ctx context.Context, name string) ([]string, error) {
	var tpls []string
	err := readText(ctx, name, func(r io.Reader) (err error) {
		tpls, err = ParseTemplates(r, name)
		return err
	})
	return tpls, err
}

// ParseTemplates reads one prompt template per line, each with "{}" where
// the class name goes ("{article}" becomes "a" or "an"; see clip.Prompt).
// Blank lines are skipped (a template has no id to shift); a line without
// "{}" is an error that names it, as is a file with no template.
func ParseTemplates(r io.Reader, name string) ([]string, error) {
	var tpls []string
	err := scanLines(r, "templates file "+name, func(n int, line string) error {
		if n == 1 {
			line = strings.TrimPrefix(line, "\uFEFF")
		}
		line = strings.TrimRight(line, "\r")
		if strings.TrimSpace(line) == "" {
			return nil
		}
		if err := CheckTemplate(line); err != nil {
			return fmt.Errorf("templates file %s: line %d: %w", name, n, err)
		}
		tpls = append(tpls, line)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(tpls) == 0 {
		return nil, fmt.Errorf("templates file %s has no templates", name)
	}
	return tpls, nil
}

// CheckTemplate reports why a prompt template cannot be used, or nil.
func CheckTemplate(t string) error {
	switch {
	case !utf8.ValidString(t):
		return errors.New("template is not valid UTF-8")
	case !strings.Contains(t, "{}"):
		return fmt.Errorf("template %q has no {} for the class name", t)
	}
	return nil
}

// scanLines calls fn with every line of r and its 1-based number.
// what names the file in the scanner's errors.
func scanLines(r io.Reader, what string, fn func(n int, line string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	n := 0
	for sc.Scan() {
		n++
		if err := fn(n, sc.Text()); err != nil {
			return err
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: after line %d: %w", what, n, err)
	}
	return nil
}

// readText opens a local or object-store text file for fn.
func readText(ctx context.Context, name string, fn func(io.Reader) error) error {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer fs.Close()
	rc, err := fs.OpenRead(ctx, name)
	if err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	defer rc.Close()
	return fn(rc)
}

// Package manifest reads the corpus formats other than WebDataset tars:
// JSONL manifests, img2dataset Parquet shards and folders of images with a
// captions file. Each yields Records that either carry the image bytes
// inline or name an image to fetch (a gs://, s3:// or local path).
//
// Like package wds, the readers stream, hold limits on what they buffer, and
// report every unusable entry as a Record with a non-empty Problem instead
// of failing the whole input. Only input that cannot be read at all (an I/O
// error, a Parquet file that is not Parquet or lacks the needed columns)
// fails.
//
// The package is pure Go and does not import Apache Beam: a folder is read
// through the small FS interface, which Beam's filesystem.Interface
// satisfies.
package manifest

import (
	"errors"
	"fmt"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// Default limits used when the corresponding Options field is zero.
const (
	// DefaultMaxCaptionBytes is the default Options.MaxCaptionBytes (64 KiB).
	DefaultMaxCaptionBytes = 64 << 10
	// DefaultMaxLineBytes is the default Options.MaxLineBytes (1 MiB).
	DefaultMaxLineBytes = 1 << 20
	// DefaultMaxImageBytes is the default Options.MaxImageBytes (64 MiB).
	DefaultMaxImageBytes int64 = 64 << 20
)

var (
	// ErrCorrupt is wrapped by the error a reader returns when its input is
	// not readable as the format it claims to be (a Parquet file with a bad
	// footer or damaged pages). Records before the damage have already been
	// delivered.
	ErrCorrupt = errors.New("manifest: corrupt input")
	// ErrSchema is wrapped by the error ReadParquet returns when the file
	// lacks a column it needs (a caption, and a url or image bytes column)
	// or has one of an unusable type.
	ErrSchema = errors.New("manifest: unusable parquet schema")
	// ErrNoCaptions is wrapped by the error NewFolder returns when the
	// folder holds neither captions.tsv nor captions.jsonl.
	ErrNoCaptions = errors.New("manifest: folder has no captions file")
	// ErrOptions is wrapped by the error returned for invalid Options.
	ErrOptions = errors.New("manifest: invalid options")
)

// Record is one image-text pair of a manifest, or the reason it cannot be
// used.
type Record struct {
	// Key identifies the pair: the manifest's key field, else "line-N" or
	// "row-N" (or the file name without extension for a folder).
	Key string
	// Caption is the caption, trimmed of surrounding white space.
	Caption string
	// HasCaption is true when Caption holds a usable (present, non-empty,
	// valid UTF-8, within the limit) caption, even if the record has a
	// Problem for another reason.
	HasCaption bool
	// Image holds the encoded image bytes when the manifest carries them
	// inline (Parquet image columns). Either Image or ImageURI is set on a
	// record without Problem.
	Image []byte
	// ImageURI names the image to fetch: gs://bucket/key, s3://bucket/key
	// or a local path. Relative paths are resolved against the manifest's
	// folder; https URLs of Google Cloud Storage and Amazon S3 are mapped to
	// gs:// and s3://.
	ImageURI string
	// Member locates the record in its manifest for error reports: "line 12"
	// (JSONL, counted from 1), "row 7" (Parquet, counted from 0 across the
	// file) or "captions.tsv line 3" / a file name (folders).
	Member string
	// Problem is non-empty when the record cannot be labelled.
	Problem string
}

// Options limits what the readers accept and buffer. The zero value (or a
// nil *Options) selects the defaults; negative values are invalid.
type Options struct {
	// MaxCaptionBytes is the largest caption accepted. Default 64 KiB.
	MaxCaptionBytes int
	// MaxLineBytes is the longest JSONL (or captions file) line read; a
	// longer line is skipped and gives a Problem. Default 1 MiB.
	MaxLineBytes int
	// MaxImageBytes is the largest inline image accepted from Parquet; a
	// larger one gives a Problem. Default 64 MiB.
	MaxImageBytes int64
}

// limits are Options with the defaults applied.
type limits struct {
	maxCaption int
	maxLine    int
	maxImage   int64
}

func (o *Options) limits() (limits, error) {
	l := limits{maxCaption: DefaultMaxCaptionBytes, maxLine: DefaultMaxLineBytes, maxImage: DefaultMaxImageBytes}
	if o == nil {
		return l, nil
	}
	switch {
	case o.MaxCaptionBytes < 0:
		return l, fmt.Errorf("%w: MaxCaptionBytes %d", ErrOptions, o.MaxCaptionBytes)
	case o.MaxLineBytes < 0:
		return l, fmt.Errorf("%w: MaxLineBytes %d", ErrOptions, o.MaxLineBytes)
	case o.MaxImageBytes < 0:
		return l, fmt.Errorf("%w: MaxImageBytes %d", ErrOptions, o.MaxImageBytes)
	}
	if o.MaxCaptionBytes > 0 {
		l.maxCaption = o.MaxCaptionBytes
	}
	if o.MaxLineBytes > 0 {
		l.maxLine = o.MaxLineBytes
	}
	if o.MaxImageBytes > 0 {
		l.maxImage = o.MaxImageBytes
	}
	return l, nil
}

// Problem strings shared by the readers.
const (
	problemNoCaption    = "no caption"
	problemEmptyCaption = "empty caption"
	problemCaptionUTF8  = "caption is not valid UTF-8"
	problemNoImage      = "no image and no url"
)

// checkCaption validates raw caption bytes and returns the trimmed caption,
// or a problem.
func checkCaption(raw []byte, max int) (string, string) {
	if len(raw) > max {
		return "", fmt.Sprintf("caption larger than %d bytes", max)
	}
	if !utf8.Valid(raw) {
		return "", problemCaptionUTF8
	}
	c := strings.TrimSpace(string(raw))
	if c == "" {
		return "", problemEmptyCaption
	}
	return c, ""
}

// Dir returns the folder of a manifest path, for use as the base of
// relative image paths: "gs://b/d/m.jsonl" → "gs://b/d", "s3://b/m.jsonl"
// → "s3://b", "data/m.jsonl" → "data".
func Dir(name string) string {
	if scheme, bucket, key, ok := splitRemote(name); ok {
		d := path.Dir("/" + key)
		if d == "/" {
			return scheme + "://" + bucket
		}
		return scheme + "://" + bucket + d
	}
	return filepath.Dir(name)
}

// splitRemote splits "gs://bucket/key" (or s3://) into its parts.
func splitRemote(uri string) (scheme, bucket, key string, ok bool) {
	for _, s := range []string{"gs", "s3"} {
		if rest, found := strings.CutPrefix(uri, s+"://"); found {
			bucket, key, _ = strings.Cut(rest, "/")
			return s, bucket, key, true
		}
	}
	return "", "", "", false
}

// resolveImage turns the image reference ref of a manifest whose folder is
// base into an ImageURI, or returns a problem.
func resolveImage(base, ref string) (string, string) {
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return "", problemNoImage
	}
	if strings.ContainsRune(ref, 0) || !utf8.ValidString(ref) {
		return "", "invalid image path"
	}
	if i := strings.Index(ref, "://"); i > 0 && isScheme(ref[:i]) {
		switch scheme := strings.ToLower(ref[:i]); scheme {
		case "gs", "s3":
			bucket, key, _ := strings.Cut(ref[i+3:], "/")
			if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
				return "", fmt.Sprintf("invalid image uri %q", ref)
			}
			return scheme + "://" + bucket + "/" + key, ""
		case "http", "https":
			if u, ok := cloudURL(ref); ok {
				return u, ""
			}
			return "", fmt.Sprintf("url scheme not supported: %s (only gs://, s3://, storage URLs of GCS or S3, and local paths)", scheme)
		case "file":
			u, err := url.Parse(ref)
			if err != nil || (u.Host != "" && u.Host != "localhost") || !path.IsAbs(u.Path) {
				return "", fmt.Sprintf("invalid file url %q", ref)
			}
			return path.Clean(u.Path), ""
		default:
			return "", "url scheme not supported: " + scheme
		}
	}
	if scheme, _, ok := strings.Cut(ref, ":"); ok && strings.EqualFold(scheme, "data") {
		return "", "url scheme not supported: data"
	}
	if scheme, bucket, key, ok := splitRemote(base); ok {
		var p string
		if strings.HasPrefix(ref, "/") {
			p = path.Clean(ref)[1:]
		} else {
			p = path.Join(key, ref)
			if p == ".." || strings.HasPrefix(p, "../") {
				return "", fmt.Sprintf("image path %q leaves the bucket", ref)
			}
		}
		if p == "" || p == "." {
			return "", fmt.Sprintf("invalid image path %q", ref)
		}
		return scheme + "://" + bucket + "/" + p, ""
	}
	if base == "" || filepath.IsAbs(ref) {
		return filepath.Clean(ref), ""
	}
	return filepath.Join(base, ref), ""
}

// isScheme reports whether s is a URL scheme (RFC 3986: a letter, then
// letters, digits, '+', '-', '.').
func isScheme(s string) bool {
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return s != ""
}

// cloudURL maps an https URL of a Google Cloud Storage or Amazon S3 object
// to its gs:// or s3:// form, which the pipeline reads with credentials.
func cloudURL(raw string) (string, bool) {
	u, err := url.Parse(raw)
	if err != nil || u.User != nil {
		return "", false
	}
	host := strings.ToLower(u.Hostname())
	p := strings.TrimPrefix(u.Path, "/")
	pathStyle := func(scheme string) (string, bool) {
		bucket, key, _ := strings.Cut(p, "/")
		if bucket == "" || key == "" || strings.HasSuffix(key, "/") {
			return "", false
		}
		return scheme + "://" + bucket + "/" + key, true
	}
	hostStyle := func(scheme, bucket string) (string, bool) {
		if bucket == "" || p == "" || strings.HasSuffix(p, "/") {
			return "", false
		}
		return scheme + "://" + bucket + "/" + p, true
	}
	switch {
	case host == "storage.googleapis.com" || host == "storage.cloud.google.com":
		return pathStyle("gs")
	case strings.HasSuffix(host, ".storage.googleapis.com"):
		return hostStyle("gs", strings.TrimSuffix(host, ".storage.googleapis.com"))
	}
	rest, ok := strings.CutSuffix(host, ".amazonaws.com")
	if !ok {
		rest, ok = strings.CutSuffix(host, ".amazonaws.com.cn")
	}
	if !ok {
		return "", false
	}
	if isS3Label(rest) {
		return pathStyle("s3")
	}
	i := max(strings.LastIndex(rest, ".s3."), strings.LastIndex(rest, ".s3-"))
	if j := len(rest) - len(".s3"); j > 0 && rest[j:] == ".s3" {
		i = max(i, j)
	}
	if i <= 0 || !isS3Label(rest[i+1:]) {
		return "", false
	}
	return hostStyle("s3", rest[:i])
}

// isS3Label reports whether s is the service part of an S3 host name:
// "s3", "s3.us-east-1", "s3-us-west-2", "s3.dualstack.eu-west-1".
func isS3Label(s string) bool {
	return s == "s3" || strings.HasPrefix(s, "s3.") || strings.HasPrefix(s, "s3-")
}

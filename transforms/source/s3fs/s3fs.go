// Package s3fs is an s3:// file system for Apache Beam that can talk to
// S3-compatible stores (MinIO, Ceph RGW, gofakes3) as well as Amazon S3.
//
// Beam's own io/filesystem/s3 builds its client from the AWS default
// configuration only: the SDK honours AWS_ENDPOINT_URL_S3, but has no
// setting for path-style addressing, which S3-compatible stores reached by
// host name need (with an IP-literal endpoint the SDK switches to
// path-style by itself). It also needs the feature/s3/manager module, which
// this module does not require. This package replaces it: Register
// installs it for the "s3" scheme, with the endpoint, path-style and region
// taken from Options, Beam pipeline options (so that they reach remote
// workers) or the environment.
//
// Reads stream (a dropped connection resumes with a ranged GET), writes
// stream as a multipart upload committed by Close, and List understands
// '*', '?', '[...]' within a path segment and '**' across segments.
package s3fs

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/core/runtime"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
)

// Environment variables read when the corresponding Options field is
// empty (and no pipeline option is set).
const (
	// EnvEndpoint is the S3 endpoint URL, e.g. "http://minio:9000".
	EnvEndpoint = "GROUNDBEAM_S3_ENDPOINT"
	// EnvPathStyle turns on path-style addressing ("true", "1").
	EnvPathStyle = "GROUNDBEAM_S3_PATH_STYLE"
	// EnvRegion is the region to sign requests for.
	EnvRegion = "GROUNDBEAM_S3_REGION"
)

// Names of the flags Flags defines, which are also the Beam pipeline
// options read on workers: Beam copies the launcher's flags of the
// default flag set into the pipeline options that every worker receives.
const (
	// OptionEndpoint names the endpoint flag and pipeline option.
	OptionEndpoint = "s3_endpoint"
	// OptionPathStyle names the path-style flag and pipeline option.
	OptionPathStyle = "s3_path_style"
	// OptionRegion names the region flag and pipeline option.
	OptionRegion = "s3_region"
)

// Defaults and limits of multipart uploads.
const (
	// DefaultPartSize is the default Options.PartSize (8 MiB).
	DefaultPartSize int64 = 8 << 20
	// MinPartSize is the smallest part S3 accepts (5 MiB), except the last.
	MinPartSize int64 = 5 << 20
	// DefaultRegion is used when no region is configured anywhere.
	DefaultRegion = "us-east-1"
)

// maxCopyBytes is the largest object copied server-side with one
// CopyObject (the S3 limit); larger ones are streamed. A variable for tests.
var maxCopyBytes int64 = 5 << 30

// testMaxBackoff, when set, shortens retry back-off for tests.
var testMaxBackoff time.Duration

// uploadConcurrency is the number of parts a writer uploads at once.
const uploadConcurrency = 2

// Options configures the S3 client. Empty fields are filled, in order,
// from the Beam pipeline options (OptionEndpoint, ...), the environment
// (EnvEndpoint, ...) and the AWS configuration (AWS_ENDPOINT_URL_S3,
// AWS_REGION, profiles). Credentials always come from the AWS default
// chain (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, profiles, instance
// roles).
type Options struct {
	// Endpoint is the base URL of the S3 service, with scheme:
	// "http://minio:9000", "https://rgw.example.com". Empty: AWS.
	Endpoint string
	// PathStyle addresses buckets as ENDPOINT/BUCKET/KEY instead of
	// BUCKET.ENDPOINT/KEY; MinIO and Ceph usually need it. It is on when
	// any source turns it on.
	PathStyle bool
	// Region is the region requests are signed for. Default: the AWS
	// configuration's, else us-east-1.
	Region string
	// PartSize is the multipart upload part size of OpenWrite; a writer
	// holds up to three parts in memory. Default 8 MiB, at least 5 MiB.
	PartSize int64
}

// resolve fills the empty fields of o from pipeline options and the
// environment, and checks them.
func (o Options) resolve() (Options, error) {
	pick := func(v, option, env string) string {
		if v != "" {
			return v
		}
		if v := runtime.GlobalOptions.Get(option); v != "" {
			return v
		}
		return os.Getenv(env)
	}
	o.Endpoint = strings.TrimSuffix(pick(o.Endpoint, OptionEndpoint, EnvEndpoint), "/")
	o.Region = pick(o.Region, OptionRegion, EnvRegion)
	for _, src := range []struct{ name, v string }{
		{"pipeline option " + OptionPathStyle, runtime.GlobalOptions.Get(OptionPathStyle)},
		{EnvPathStyle, os.Getenv(EnvPathStyle)},
	} {
		if o.PathStyle || src.v == "" {
			continue
		}
		b, err := strconv.ParseBool(src.v)
		if err != nil {
			return o, fmt.Errorf("s3fs: %s: %w", src.name, err)
		}
		o.PathStyle = b
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return o, fmt.Errorf("s3fs: endpoint %q is not an http:// or https:// URL", o.Endpoint)
		}
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		return o, fmt.Errorf("s3fs: part size %d is below the S3 minimum %d", o.PartSize, MinPartSize)
	}
	return o, nil
}

// OptionsFromEnv returns the Options the environment sets.
func OptionsFromEnv() (Options, error) {
	o := Options{Endpoint: os.Getenv(EnvEndpoint), Region: os.Getenv(EnvRegion)}
	if v := os.Getenv(EnvPathStyle); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return o, fmt.Errorf("s3fs: %s: %w", EnvPathStyle, err)
		}
		o.PathStyle = b
	}
	return o, nil
}

// Flags defines -s3_endpoint, -s3_path_style and -s3_region on fset,
// with the environment as defaults, and returns the Options they fill
// once fset is parsed. With flag.CommandLine, Beam ships the values set
// on the command line to the workers as pipeline options.
func Flags(fset *flag.FlagSet) *Options {
	env, _ := OptionsFromEnv()
	o := &Options{}
	fset.StringVar(&o.Endpoint, OptionEndpoint, env.Endpoint, "S3 endpoint URL for s3:// paths, e.g. http://minio:9000 (env "+EnvEndpoint+")")
	fset.BoolVar(&o.PathStyle, OptionPathStyle, env.PathStyle, "address S3 buckets path-style, as MinIO and Ceph need (env "+EnvPathStyle+")")
	fset.StringVar(&o.Region, OptionRegion, env.Region, "S3 region to sign requests for (env "+EnvRegion+")")
	return o
}

var (
	regMu      sync.Mutex
	regOpts    Options
	registered bool
)

// Register installs the file system for the "s3" scheme of Beam's
// filesystem registry, so that filesystem.New, textio and the pipeline's
// sources use it. Call it from init or before beam.Init, in the launcher
// and (the same binary) on workers; zero Options are fine there, the
// pipeline options and environment fill them. Later calls replace the
// Options. It panics if another package registered "s3" (Beam's
// io/filesystem/s3): import only one.
func Register(opts Options) {
	regMu.Lock()
	defer regMu.Unlock()
	regOpts = opts
	if registered {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("s3fs: cannot register the s3 scheme (is Beam's io/filesystem/s3 imported too?): %v", r))
		}
	}()
	filesystem.Register("s3", newRegistered)
	registered = true
}

// Effective returns the Options the registered file system uses now: those
// given to Register, completed from the pipeline options and the
// environment. Its error is the one every s3:// access would meet (a
// malformed endpoint or path-style value), so a launcher can refuse bad
// settings before the run starts.
func Effective() (Options, error) {
	regMu.Lock()
	o := regOpts
	regMu.Unlock()
	return o.resolve()
}

func newRegistered(ctx context.Context) filesystem.Interface {
	regMu.Lock()
	o := regOpts
	regMu.Unlock()
	f, err := New(ctx, o)
	if err != nil {
		return errFS{err}
	}
	return f
}

// FS is an S3 file system. It is safe for concurrent use.
type FS struct {
	client   *s3.Client
	opts     Options
	hintHost bool // errors may come from virtual-host addressing of a custom endpoint
}

// clients caches one client per resolved Options: Beam opens a file system
// per element, and a client keeps the connection pool and credentials.
var clients sync.Map // Options → *s3.Client

// New returns the file system for opts, completed from pipeline options
// and the environment (see Options). Clients are cached per configuration.
func New(ctx context.Context, opts Options) (*FS, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	f := &FS{opts: o, hintHost: o.Endpoint != "" && !o.PathStyle}
	if c, ok := clients.Load(o); ok {
		f.client = c.(*s3.Client)
		return f, nil
	}
	var loadOpts []func(*config.LoadOptions) error
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("s3fs: load aws config: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = DefaultRegion
	}
	client := s3.NewFromConfig(cfg, func(so *s3.Options) {
		so.UsePathStyle = o.PathStyle
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
			// S3-compatible stores often reject or lack the CRC checksums
			// the SDK uses by default; keep them to what S3 requires unless
			// the environment chooses otherwise.
			if os.Getenv("AWS_REQUEST_CHECKSUM_CALCULATION") == "" {
				so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
			}
			if os.Getenv("AWS_RESPONSE_CHECKSUM_VALIDATION") == "" {
				so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		}
		if cfg.RetryMaxAttempts == 0 {
			so.RetryMaxAttempts = 5
		}
		if testMaxBackoff > 0 {
			so.Retryer = retry.NewStandard(func(ro *retry.StandardOptions) {
				ro.MaxAttempts, ro.MaxBackoff, ro.RateLimiter = 5, testMaxBackoff, ratelimit.None
			})
		}
	})
	c, _ := clients.LoadOrStore(o, client)
	f.client = c.(*s3.Client)
	return f, nil
}

// Client returns the S3 client of f.
func (f *FS) Client() *s3.Client { return f.client }

// Close does nothing: clients are shared.
func (f *FS) Close() error { return nil }

// parseURI splits "s3://bucket/key".
func parseURI(uri string) (bucket, key string, err error) {
	rest, ok := strings.CutPrefix(uri, "s3://")
	if !ok {
		return "", "", fmt.Errorf("s3fs: %q is not an s3:// path", uri)
	}
	bucket, key, _ = strings.Cut(rest, "/")
	if bucket == "" {
		return "", "", fmt.Errorf("s3fs: %q has no bucket", uri)
	}
	return bucket, key, nil
}

// parseObject is parseURI for a single object: the key must be set.
func parseObject(uri string) (bucket, key string, err error) {
	bucket, key, err = parseURI(uri)
	if err == nil && (key == "" || strings.HasSuffix(key, "/")) {
		err = fmt.Errorf("s3fs: %q names no object", uri)
	}
	return bucket, key, err
}

// wrapErr adds the operation and path to err, marks missing objects with
// fs.ErrNotExist, and hints at path-style addressing when a custom
// endpoint cannot be resolved under a bucket's name.
func (f *FS) wrapErr(op, uri string, err error) error {
	if isNotFound(err) {
		return fmt.Errorf("s3fs: %s %s: %w: %w", op, uri, fs.ErrNotExist, err)
	}
	var dnsErr *net.DNSError
	if f.hintHost && errors.As(err, &dnsErr) {
		return fmt.Errorf("s3fs: %s %s: %w (S3-compatible stores usually need path-style addressing: set %s=true or -%s)", op, uri, err, EnvPathStyle, OptionPathStyle)
	}
	return fmt.Errorf("s3fs: %s %s: %w", op, uri, err)
}

func isNotFound(err error) bool {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		switch apiErr.ErrorCode() {
		case "NoSuchKey", "NotFound", "NoSuchBucket":
			return true
		}
	}
	var respErr *awshttp.ResponseError
	return errors.As(err, &respErr) && respErr.HTTPStatusCode() == 404
}

// List returns the objects matching glob, sorted: "s3://bucket/pattern"
// where the pattern uses path.Match syntax ('*', '?', '[...]', '\\')
// within a path segment, and a "**" segment matches any number of
// segments. It lists only under the pattern's literal prefix, and only
// one level deep when the pattern has no '/' after its first wildcard.
// Keys ending in '/' (folder markers) are skipped. No match gives nil.
func (f *FS) List(ctx context.Context, glob string) ([]string, error) {
	bucket, pattern, err := parseURI(glob)
	if err != nil {
		return nil, err
	}
	if pattern == "" {
		return nil, fmt.Errorf("s3fs: %q has no key pattern", glob)
	}
	segs := strings.Split(pattern, "/")
	for _, s := range segs {
		if _, err := path.Match(s, ""); err != nil {
			return nil, fmt.Errorf("s3fs: list %s: %w", glob, err)
		}
	}
	prefix := pattern
	if i := strings.IndexAny(pattern, `*?[\`); i >= 0 {
		prefix = pattern[:i]
	}
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	if rest := pattern[len(prefix):]; rest != "" && !strings.Contains(rest, "/") && !strings.Contains(rest, "**") {
		in.Delimiter = aws.String("/")
	}
	var out []string
	p := s3.NewListObjectsV2Paginator(f.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, f.wrapErr("list", glob, err)
		}
		for _, obj := range page.Contents {
			key := aws.ToString(obj.Key)
			if !strings.HasSuffix(key, "/") && matchSegments(segs, strings.Split(key, "/")) {
				out = append(out, "s3://"+bucket+"/"+key)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// matchSegments matches key segments against pattern segments, where a
// "**" pattern segment matches zero or more key segments.
func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			for len(pat) > 1 && pat[1] == "**" {
				pat = pat[1:]
			}
			for i := 0; i <= len(name); i++ {
				if matchSegments(pat[1:], name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pat[0], name[0]); !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	return len(name) == 0
}

// OpenRead opens an object for streaming. The body is not buffered; if the
// connection drops mid-object, the reader resumes from where it stopped
// with a ranged GET of the same version (ETag), up to 5 times.
func (f *FS) OpenRead(ctx context.Context, filename string) (io.ReadCloser, error) {
	bucket, key, err := parseObject(filename)
	if err != nil {
		return nil, err
	}
	r := &reader{ctx: ctx, fs: f, uri: filename, bucket: bucket, key: key, size: -1}
	if err := r.open(); err != nil {
		return nil, err
	}
	return r, nil
}

// maxResumes is how often a reader reopens a dropped object stream.
const maxResumes = 5

type reader struct {
	ctx         context.Context
	fs          *FS
	uri         string
	bucket, key string
	body        io.ReadCloser
	off, size   int64
	etag        *string
	resumes     int
	err         error
}

// open starts a GET at r.off.
func (r *reader) open() error {
	in := &s3.GetObjectInput{Bucket: aws.String(r.bucket), Key: aws.String(r.key)}
	if r.off > 0 {
		in.Range = aws.String(fmt.Sprintf("bytes=%d-", r.off))
		in.IfMatch = r.etag
	}
	out, err := r.fs.client.GetObject(r.ctx, in)
	if err != nil {
		return r.fs.wrapErr("read", r.uri, err)
	}
	r.body = out.Body
	if r.off == 0 {
		r.etag = out.ETag
		if out.ContentLength != nil {
			r.size = *out.ContentLength
		}
	}
	return nil
}

func (r *reader) Read(p []byte) (int, error) {
	for {
		if r.err != nil {
			return 0, r.err
		}
		if r.body == nil {
			if err := r.open(); err != nil {
				r.err = err
				return 0, err
			}
		}
		n, err := r.body.Read(p)
		r.off += int64(n)
		switch {
		case err == nil:
			return n, nil
		case err == io.EOF && (r.size < 0 || r.off >= r.size):
			return n, io.EOF
		case r.ctx.Err() != nil || r.resumes >= maxResumes:
			if err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			r.err = r.fs.wrapErr("read", r.uri, err)
			return n, r.err
		}
		// The stream broke off: reopen at r.off.
		r.body.Close()
		r.body = nil
		r.resumes++
		if n > 0 {
			return n, nil
		}
	}
}

func (r *reader) Close() error {
	if r.body == nil {
		return nil
	}
	err := r.body.Close()
	r.body = nil
	if r.err == nil {
		r.err = errors.New("s3fs: read after close")
	}
	return err
}

// OpenReaderAt returns random access to an object, each ReadAt a ranged
// GET, and the object's size: for formats read from the end, like Parquet.
func (f *FS) OpenReaderAt(ctx context.Context, filename string) (io.ReaderAt, int64, error) {
	bucket, key, err := parseObject(filename)
	if err != nil {
		return nil, 0, err
	}
	out, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, 0, f.wrapErr("stat", filename, err)
	}
	size := aws.ToInt64(out.ContentLength)
	return &readerAt{ctx: ctx, fs: f, uri: filename, bucket: bucket, key: key, size: size, etag: out.ETag}, size, nil
}

type readerAt struct {
	ctx         context.Context
	fs          *FS
	uri         string
	bucket, key string
	size        int64
	etag        *string
}

func (r *readerAt) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, fmt.Errorf("s3fs: read %s: negative offset %d", r.uri, off)
	}
	if off >= r.size {
		return 0, io.EOF
	}
	if len(p) == 0 {
		return 0, nil
	}
	end := min(off+int64(len(p)), r.size)
	// A body cut short (a dropped connection) is asked for again from where
	// it stopped, pinned to the same ETag, as the streaming reader does.
	n := 0
	for resumes := 0; off+int64(n) < end; resumes++ {
		got, err := r.readRange(p[n:end-off], off+int64(n), end)
		n += got
		if err == nil {
			break
		}
		if resumes == maxResumes || !errors.Is(err, io.ErrUnexpectedEOF) {
			return n, r.fs.wrapErr("read", r.uri, err)
		}
	}
	if end-off < int64(len(p)) {
		return n, io.EOF
	}
	return n, nil
}

// readRange reads bytes [from, end) of the object into p.
func (r *readerAt) readRange(p []byte, from, end int64) (int, error) {
	out, err := r.fs.client.GetObject(r.ctx, &s3.GetObjectInput{
		Bucket: aws.String(r.bucket), Key: aws.String(r.key), IfMatch: r.etag,
		Range: aws.String(fmt.Sprintf("bytes=%d-%d", from, end-1)),
	})
	if err != nil {
		return 0, err
	}
	defer out.Body.Close()
	n, err := io.ReadFull(out.Body, p)
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return n, err
}

// OpenWrite starts a streaming write of an object: data is uploaded in
// parts of Options.PartSize as it comes (a small object is one PutObject),
// and the object appears, whole, only when Close succeeds. Close returns
// the error of any failed part or of the commit, after aborting the
// upload. An existing object is replaced.
func (f *FS) OpenWrite(ctx context.Context, filename string) (io.WriteCloser, error) {
	bucket, key, err := parseObject(filename)
	if err != nil {
		return nil, err
	}
	return &writer{ctx: ctx, fs: f, uri: filename, bucket: bucket, key: key,
		partSize: f.opts.PartSize, sem: make(chan struct{}, uploadConcurrency)}, nil
}

// Size returns the size of an object in bytes; a missing object gives an
// error wrapping fs.ErrNotExist.
func (f *FS) Size(ctx context.Context, filename string) (int64, error) {
	out, err := f.head(ctx, filename)
	if err != nil {
		return -1, err
	}
	return aws.ToInt64(out.ContentLength), nil
}

// LastModified returns when an object was last written.
func (f *FS) LastModified(ctx context.Context, filename string) (time.Time, error) {
	out, err := f.head(ctx, filename)
	if err != nil {
		return time.Time{}, err
	}
	return aws.ToTime(out.LastModified), nil
}

func (f *FS) head(ctx context.Context, filename string) (*s3.HeadObjectOutput, error) {
	bucket, key, err := parseObject(filename)
	if err != nil {
		return nil, err
	}
	out, err := f.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, f.wrapErr("stat", filename, err)
	}
	return out, nil
}

// Remove deletes an object. Removing a missing object is not an error
// (S3 semantics).
func (f *FS) Remove(ctx context.Context, filename string) error {
	bucket, key, err := parseObject(filename)
	if err != nil {
		return err
	}
	if _, err := f.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)}); err != nil {
		return f.wrapErr("remove", filename, err)
	}
	return nil
}

// Copy copies an object within the store: server-side up to 5 GiB (one
// CopyObject), streamed through this process above that.
func (f *FS) Copy(ctx context.Context, oldpath, newpath string) error {
	srcBucket, srcKey, err := parseObject(oldpath)
	if err != nil {
		return err
	}
	dstBucket, dstKey, err := parseObject(newpath)
	if err != nil {
		return err
	}
	size, err := f.Size(ctx, oldpath)
	if err != nil {
		return err
	}
	if size > maxCopyBytes {
		return f.streamCopy(ctx, oldpath, newpath)
	}
	_, err = f.client.CopyObject(ctx, &s3.CopyObjectInput{
		Bucket:     aws.String(dstBucket),
		Key:        aws.String(dstKey),
		CopySource: aws.String(srcBucket + "/" + escapeKey(srcKey)),
	})
	if err != nil {
		return f.wrapErr("copy "+oldpath+" to", newpath, err)
	}
	return nil
}

func (f *FS) streamCopy(ctx context.Context, oldpath, newpath string) error {
	r, err := f.OpenRead(ctx, oldpath)
	if err != nil {
		return err
	}
	defer r.Close()
	w, err := f.OpenWrite(ctx, newpath)
	if err != nil {
		return err
	}
	if _, err := io.Copy(w, r); err != nil {
		w.(*writer).abort(err)
		return fmt.Errorf("s3fs: copy %s to %s: %w", oldpath, newpath, err)
	}
	return w.Close()
}

// escapeKey URL-encodes a key for x-amz-copy-source, keeping '/'.
func escapeKey(key string) string {
	segs := strings.Split(key, "/")
	for i, s := range segs {
		segs[i] = strings.ReplaceAll(url.PathEscape(s), "+", "%2B")
	}
	return strings.Join(segs, "/")
}

// Rename moves an object: Copy, then Remove of the old one.
func (f *FS) Rename(ctx context.Context, oldpath, newpath string) error {
	if oldpath == newpath {
		return nil
	}
	if err := f.Copy(ctx, oldpath, newpath); err != nil {
		return err
	}
	return f.Remove(ctx, oldpath)
}

// Compile-time checks of the Beam interfaces.
var (
	_ filesystem.Interface          = (*FS)(nil)
	_ filesystem.Remover            = (*FS)(nil)
	_ filesystem.Renamer            = (*FS)(nil)
	_ filesystem.Copier             = (*FS)(nil)
	_ filesystem.LastModifiedGetter = (*FS)(nil)
	_ filesystem.Interface          = errFS{}
)

// errFS is returned by the registered constructor when the configuration
// is invalid: every operation reports the error.
type errFS struct{ err error }

func (e errFS) Close() error                                            { return nil }
func (e errFS) List(context.Context, string) ([]string, error)          { return nil, e.err }
func (e errFS) OpenRead(context.Context, string) (io.ReadCloser, error) { return nil, e.err }
func (e errFS) OpenWrite(context.Context, string) (io.WriteCloser, error) {
	return nil, e.err
}
func (e errFS) Size(context.Context, string) (int64, error)  { return -1, e.err }
func (e errFS) Remove(context.Context, string) error         { return e.err }
func (e errFS) Rename(context.Context, string, string) error { return e.err }
func (e errFS) Copy(context.Context, string, string) error   { return e.err }
func (e errFS) LastModified(context.Context, string) (time.Time, error) {
	return time.Time{}, e.err
}

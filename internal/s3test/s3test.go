// Package s3test runs an in-memory S3 server (gofakes3) for tests and
// points the AWS SDK, Beam file systems and s3fs at it through the
// environment.
//
// Server uses t.Setenv, so tests that call it cannot run in parallel.
package s3test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Credentials and region the server's environment uses.
const (
	AccessKeyID     = "groundbeam-test"
	SecretAccessKey = "groundbeam-test-secret"
	Region          = "us-east-1"
)

// Option changes how Server behaves.
type Option func(*config)

type config struct {
	failEvery int
	cutEvery  int
}

// FailEvery makes the server answer every n-th request (counted from the
// first) with 503 SlowDown, as a busy S3 does. SDK clients retry these.
func FailEvery(n int) Option { return func(c *config) { c.failEvery = n } }

// CutBodies makes the server cut every n-th object GET response off after
// half of its body (at least one byte) by closing the connection.
func CutBodies(n int) Option { return func(c *config) { c.cutEvery = n } }

// Stats counts what a server did; read it with atomic loads.
type Stats struct {
	Requests atomic.Int64 // all requests
	Failed   atomic.Int64 // requests answered 503 by FailEvery
	Cut      atomic.Int64 // GET bodies cut by CutBodies
}

// Server starts an S3 server on 127.0.0.1 that keeps objects in memory
// and creates buckets on first use, stops it when the test ends, and sets
// the environment for the test:
//
//	AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION: test values
//	AWS_ENDPOINT_URL_S3, GROUNDBEAM_S3_ENDPOINT: the endpoint
//	GROUNDBEAM_S3_PATH_STYLE=true, GROUNDBEAM_S3_REGION
//	AWS_EC2_METADATA_DISABLED=true, shared config files pointed at nothing
//
// It returns the endpoint ("http://127.0.0.1:PORT") and a path-style client
// for it.
func Server(t testing.TB, opts ...Option) (endpoint string, client *s3.Client) {
	endpoint, client, _ = ServerStats(t, opts...)
	return endpoint, client
}

// ServerStats is Server that also returns the server's request counters.
func ServerStats(t testing.TB, opts ...Option) (string, *s3.Client, *Stats) {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	faker := gofakes3.New(s3mem.New(), gofakes3.WithAutoBucket(true), gofakes3.WithLogger(gofakes3.DiscardLog()))
	stats := &Stats{}
	srv := httptest.NewServer(c.wrap(faker.Server(), stats))
	t.Cleanup(srv.Close)
	endpoint := srv.URL

	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ACCESS_KEY_ID":           AccessKeyID,
		"AWS_SECRET_ACCESS_KEY":       SecretAccessKey,
		"AWS_SESSION_TOKEN":           "",
		"AWS_PROFILE":                 "",
		"AWS_REGION":                  Region,
		"AWS_DEFAULT_REGION":          Region,
		"AWS_ENDPOINT_URL":            "",
		"AWS_ENDPOINT_URL_S3":         endpoint,
		"AWS_EC2_METADATA_DISABLED":   "true",
		"AWS_CONFIG_FILE":             filepath.Join(dir, "no-config"),
		"AWS_SHARED_CREDENTIALS_FILE": filepath.Join(dir, "no-credentials"),
		"GROUNDBEAM_S3_ENDPOINT":      endpoint,
		"GROUNDBEAM_S3_PATH_STYLE":    "true",
		"GROUNDBEAM_S3_REGION":        Region,
	} {
		t.Setenv(k, v)
	}
	client := s3.New(s3.Options{
		Region:                     Region,
		BaseEndpoint:               aws.String(endpoint),
		UsePathStyle:               true,
		Credentials:                credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, ""),
		RequestChecksumCalculation: aws.RequestChecksumCalculationWhenRequired,
		ResponseChecksumValidation: aws.ResponseChecksumValidationWhenRequired,
		RetryMaxAttempts:           5,
	})
	return endpoint, client, stats
}

// Put stores an object, failing the test on error.
func Put(t testing.TB, client *s3.Client, bucket, key string, body []byte) {
	t.Helper()
	_, err := client.PutObject(context.Background(), &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(string(body)),
	})
	if err != nil {
		t.Fatalf("put s3://%s/%s: %v", bucket, key, err)
	}
}

// Get reads an object, failing the test on error.
func Get(t testing.TB, client *s3.Client, bucket, key string) []byte {
	t.Helper()
	out, err := client.GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		t.Fatalf("get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	b, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("read s3://%s/%s: %v", bucket, key, err)
	}
	return b
}

// wrap adds the configured faults in front of h.
func (c config) wrap(h http.Handler, stats *Stats) http.Handler {
	var gets atomic.Int64
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := stats.Requests.Add(1)
		if c.failEvery > 0 && n%int64(c.failEvery) == 0 {
			stats.Failed.Add(1)
			io.Copy(io.Discard, io.LimitReader(r.Body, 64<<20))
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected fault %d</Message></Error>`, n)
			return
		}
		isObjectGet := r.Method == http.MethodGet && strings.Count(strings.Trim(r.URL.Path, "/"), "/") >= 1 && !r.URL.Query().Has("uploadId")
		if c.cutEvery > 0 && isObjectGet && gets.Add(1)%int64(c.cutEvery) == 0 {
			h.ServeHTTP(&cutWriter{ResponseWriter: w, stats: stats}, r)
			return
		}
		h.ServeHTTP(w, r)
	})
}

// cutWriter passes half of a response body through, then aborts the
// connection.
type cutWriter struct {
	http.ResponseWriter
	stats   *Stats
	checked bool
	limit   int64
	written int64
}

func (c *cutWriter) WriteHeader(code int) {
	c.checked = true
	if code == http.StatusOK || code == http.StatusPartialContent {
		var size int64
		fmt.Sscan(c.Header().Get("Content-Length"), &size)
		c.limit = max(size/2, 1)
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if !c.checked {
		c.WriteHeader(http.StatusOK)
	}
	if c.limit == 0 {
		return c.ResponseWriter.Write(p)
	}
	if c.written+int64(len(p)) >= c.limit {
		c.ResponseWriter.Write(p[:c.limit-c.written])
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		c.stats.Cut.Add(1)
		panic(http.ErrAbortHandler)
	}
	c.written += int64(len(p))
	return c.ResponseWriter.Write(p)
}

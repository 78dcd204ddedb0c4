package sink

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
	"golang.org/x/sync/errgroup"
)

// Retry policy for writes to object stores. The GCS client retries only
// idempotent calls by itself, and an upload, copy or delete without
// preconditions is not one: a 503 or a reset connection there would
// otherwise fail the shard. Reads are retried by the clients.
var (
	retryAttempts = 10
	retryFirst    = 100 * time.Millisecond
	retryMax      = 10 * time.Second
)

// Transient reports whether a storage error may go away on retry: 408,
// 429 and 5xx answers, reset or refused connections, unexpected EOFs
// (storage.ShouldRetry, applied to every error err wraps), and HTTP 429
// or 5xx answers of other clients (the AWS SDK's response errors).
func Transient(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if storage.ShouldRetry(err) {
		return true
	}
	var st interface{ HTTPStatusCode() int }
	if errors.As(err, &st) {
		if c := st.HTTPStatusCode(); c == 429 || c >= 500 {
			return true
		}
	}
	if m, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range m.Unwrap() {
			if Transient(e) {
				return true
			}
		}
	}
	if e := errors.Unwrap(err); e != nil {
		return Transient(e)
	}
	return false
}

// retry runs op until it succeeds, fails with an error that is not
// Transient, or has been tried retryAttempts times, sleeping with
// exponential backoff and jitter in between.
func retry(ctx context.Context, op func() error) error {
	wait := retryFirst
	for attempt := 1; ; attempt++ {
		err := op()
		if err == nil || !Transient(err) || attempt == retryAttempts {
			if err != nil && attempt > 1 {
				err = fmt.Errorf("%w (after %d attempts)", err, attempt)
			}
			return err
		}
		d := wait/2 + rand.N(wait)
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(d):
		}
		wait = min(2*wait, retryMax)
	}
}

// isLocal reports whether path is a local file name rather than an
// object-store URI.
func isLocal(path string) bool {
	i := strings.Index(path, "://")
	return i < 0 || path[:i] == "file"
}

// notExist reports whether err says an object is missing.
func notExist(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, storage.ErrObjectNotExist)
}

// upload writes data to name, retrying the whole write on transient
// failures (the object appears only when Close succeeds).
func upload(ctx context.Context, fs filesystem.Interface, name string, data func() (io.Reader, error)) error {
	return retry(ctx, func() error {
		r, err := data()
		if err != nil {
			return err
		}
		w, err := fs.OpenWrite(ctx, name)
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		if _, err := io.Copy(w, r); err != nil {
			w.Close()
			return fmt.Errorf("write %s: %w", name, err)
		}
		if err := w.Close(); err != nil {
			return fmt.Errorf("commit %s: %w", name, err)
		}
		return nil
	})
}

// renameRetry renames from to to, retrying transient failures. Object
// stores rename by copy then delete, so a retry may find from already gone
// after an attempt whose answer was lost: to with the expected size
// (size < 0: any) then means the rename happened.
func renameRetry(ctx context.Context, fs filesystem.Interface, from, to string, size int64) error {
	retried := false
	return retry(ctx, func() error {
		err := rename(ctx, fs, from, to)
		if err != nil && retried && notExist(err) {
			if n, serr := fs.Size(ctx, to); serr == nil && (size < 0 || n == size) {
				if _, gone := fs.Size(ctx, from); gone != nil && notExist(gone) {
					return nil
				}
			}
		}
		retried = true
		return err
	})
}

// removeRetry removes name, retrying transient failures; a missing object
// is removed already.
func removeRetry(ctx context.Context, rm filesystem.Remover, name string) error {
	return retry(ctx, func() error {
		if err := rm.Remove(ctx, name); err != nil && !notExist(err) {
			return err
		}
		return nil
	})
}

// removeConcurrency is how many removes removeAll has in flight: object
// stores delete one object per request, and a start-over of a corpus of
// 41,408 shards removes as many markers.
const removeConcurrency = 32

// removeAll removes names, removeConcurrency at a time, each as
// removeRetry does. The first failure stops it and is returned.
func removeAll(ctx context.Context, rm filesystem.Remover, names []string) error {
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(removeConcurrency)
	for _, n := range names {
		g.Go(func() error {
			if err := removeRetry(ctx, rm, n); err != nil {
				return fmt.Errorf("remove %s: %w", n, err)
			}
			return nil
		})
	}
	return g.Wait()
}

// removeMatching removes every object that glob matches (a glob without
// wildcards is one object, if it exists), as removeAll does. A listing
// that fails, or a file system that cannot remove, removes nothing.
func removeMatching(ctx context.Context, glob string) error {
	fs, err := filesystem.New(ctx, glob)
	if err != nil {
		return err
	}
	defer fs.Close()
	names, err := fs.List(ctx, glob)
	if err != nil || len(names) == 0 {
		return nil
	}
	rm, ok := fs.(filesystem.Remover)
	if !ok {
		return nil
	}
	return removeAll(ctx, rm, names)
}

package s3fs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// errClosed is returned by Write after Close.
var errClosed = errors.New("s3fs: write after close")

// writer streams an object to S3: a small object is one PutObject at
// Close; a larger one becomes a multipart upload whose parts are sent while
// the caller writes, at most uploadConcurrency at a time.
type writer struct {
	ctx         context.Context
	fs          *FS
	uri         string
	bucket, key string
	partSize    int64
	buf         []byte
	uploadID    *string
	next        int32 // number of the next part, from 1
	sem         chan struct{}
	wg          sync.WaitGroup

	mu    sync.Mutex
	parts []types.CompletedPart
	err   error // first failure; sticky

	closed   bool
	closeErr error
}

func (w *writer) failed() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.err
}

func (w *writer) setErr(err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.err == nil {
		w.err = err
	}
}

// Write buffers p, sending each full part.
func (w *writer) Write(p []byte) (int, error) {
	if w.closed {
		return 0, errClosed
	}
	if err := w.failed(); err != nil {
		return 0, err
	}
	n := 0
	for len(p) > 0 {
		if w.buf == nil {
			w.buf = make([]byte, 0, w.partSize)
		}
		k := min(len(p), int(w.partSize)-len(w.buf))
		w.buf = append(w.buf, p[:k]...)
		p, n = p[k:], n+k
		if int64(len(w.buf)) == w.partSize {
			if err := w.sendPart(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

// sendPart starts the upload of the buffered part, beginning the multipart
// upload first if needed. It waits while uploadConcurrency parts are in
// flight.
func (w *writer) sendPart() error {
	if w.uploadID == nil {
		out, err := w.fs.client.CreateMultipartUpload(w.ctx, &s3.CreateMultipartUploadInput{
			Bucket: aws.String(w.bucket), Key: aws.String(w.key),
		})
		if err != nil {
			err = w.fs.wrapErr("write", w.uri, err)
			w.setErr(err)
			return err
		}
		w.uploadID = out.UploadId
	}
	data := w.buf
	w.buf = nil
	w.next++
	num := w.next
	w.sem <- struct{}{}
	if err := w.failed(); err != nil {
		<-w.sem
		return err
	}
	w.wg.Go(func() {
		defer func() { <-w.sem }()
		out, err := w.fs.client.UploadPart(w.ctx, &s3.UploadPartInput{
			Bucket: aws.String(w.bucket), Key: aws.String(w.key), UploadId: w.uploadID,
			PartNumber: aws.Int32(num), Body: bytes.NewReader(data), ContentLength: aws.Int64(int64(len(data))),
		})
		if err != nil {
			w.setErr(w.fs.wrapErr(fmt.Sprintf("write part %d of", num), w.uri, err))
			return
		}
		w.mu.Lock()
		w.parts = append(w.parts, types.CompletedPart{ETag: out.ETag, PartNumber: aws.Int32(num)})
		w.mu.Unlock()
	})
	return nil
}

// Close sends what is buffered and commits the object. After a failure
// the multipart upload is aborted and the error returned; the object is
// then left as it was.
func (w *writer) Close() error {
	if w.closed {
		return w.closeErr
	}
	w.closed = true
	w.closeErr = w.commit()
	return w.closeErr
}

func (w *writer) commit() error {
	if err := w.failed(); err != nil {
		w.abort(err)
		return err
	}
	if w.uploadID == nil {
		body := w.buf
		w.buf = nil
		_, err := w.fs.client.PutObject(w.ctx, &s3.PutObjectInput{
			Bucket: aws.String(w.bucket), Key: aws.String(w.key),
			Body: bytes.NewReader(body), ContentLength: aws.Int64(int64(len(body))),
		})
		if err != nil {
			return w.fs.wrapErr("write", w.uri, err)
		}
		return nil
	}
	if len(w.buf) > 0 {
		w.sendPart() // a failure is recorded and seen below
	}
	w.wg.Wait()
	if err := w.failed(); err != nil {
		w.abort(err)
		return err
	}
	sort.Slice(w.parts, func(i, j int) bool { return *w.parts[i].PartNumber < *w.parts[j].PartNumber })
	_, err := w.fs.client.CompleteMultipartUpload(w.ctx, &s3.CompleteMultipartUploadInput{
		Bucket: aws.String(w.bucket), Key: aws.String(w.key), UploadId: w.uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: w.parts},
	})
	if err != nil {
		err = w.fs.wrapErr("commit", w.uri, err)
		w.abort(err)
		return err
	}
	return nil
}

// abort gives up the multipart upload, if any, after cause. It uses a
// context of its own so that a cancelled write still cleans up.
func (w *writer) abort(cause error) {
	w.setErr(cause)
	w.closed = true
	if w.closeErr == nil {
		w.closeErr = w.failed()
	}
	w.wg.Wait()
	w.buf = nil
	if w.uploadID == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(w.ctx), 30*time.Second)
	defer cancel()
	w.fs.client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{
		Bucket: aws.String(w.bucket), Key: aws.String(w.key), UploadId: w.uploadID,
	})
	w.uploadID = nil
}

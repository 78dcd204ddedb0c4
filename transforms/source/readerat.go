package source

import (
	"context"
	"fmt"
	"io"
	"os"

	"github.com/apache/beam/sdks/v2/go/pkg/beam/io/filesystem"
)

// OpenReaderAt opens name for random access, as Parquet needs: a local
// file as it is, an object through the file system's ranged reads when it
// has them (s3://), or else spooled to a local temporary file. The returned
// function closes it (and removes the spool).
func OpenReaderAt(ctx context.Context, name string) (io.ReaderAt, int64, func(), error) {
	fs, err := filesystem.New(ctx, name)
	if err != nil {
		return nil, 0, nil, err
	}
	if x, ok := fs.(interface {
		OpenReaderAt(context.Context, string) (io.ReaderAt, int64, error)
	}); ok {
		ra, n, err := x.OpenReaderAt(ctx, name)
		if err != nil {
			fs.Close()
			return nil, 0, nil, err
		}
		return ra, n, func() { fs.Close() }, nil
	}
	rc, err := fs.OpenRead(ctx, name)
	if err != nil {
		fs.Close()
		return nil, 0, nil, err
	}
	if f, ok := rc.(*os.File); ok {
		st, err := f.Stat()
		if err != nil {
			f.Close()
			fs.Close()
			return nil, 0, nil, err
		}
		return f, st.Size(), func() { f.Close(); fs.Close() }, nil
	}
	defer fs.Close()
	defer rc.Close()
	tmp, err := os.CreateTemp("", "groundbeam-*.parquet")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool: %w", err)
	}
	cleanup := func() { tmp.Close(); os.Remove(tmp.Name()) }
	n, err := io.Copy(tmp, rc)
	if err != nil {
		cleanup()
		return nil, 0, nil, fmt.Errorf("spool: %w", err)
	}
	return tmp, n, cleanup, nil
}

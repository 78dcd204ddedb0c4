package ort

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// LibraryEnv is the environment variable naming the ONNX Runtime shared
// library when no path is given explicitly.
const LibraryEnv = "GROUNDBEAM_ORT_LIB"

// LibraryFile is the file name `make deps` installs into the cache folder.
const LibraryFile = "libonnxruntime.so.1"

// ErrNoLibrary is returned by [FindLibrary] when no ONNX Runtime library
// can be found.
var ErrNoLibrary = errors.New("onnx runtime library not found")

// CacheDirs lists the folders searched for LibraryFile, in order: the
// repository cache `make deps` fills (.cache/ort below the working
// directory or beside the executable's parent) and the user cache.
func CacheDirs() []string {
	var dirs []string
	if wd, err := os.Getwd(); err == nil {
		dirs = append(dirs, filepath.Join(wd, ".cache", "ort"))
	}
	if exe, err := os.Executable(); err == nil {
		dirs = append(dirs, filepath.Join(filepath.Dir(filepath.Dir(exe)), ".cache", "ort"))
	}
	if uc, err := os.UserCacheDir(); err == nil {
		dirs = append(dirs, filepath.Join(uc, "groundbeam", "ort"))
	}
	return dirs
}

// FindLibrary resolves the ONNX Runtime shared library: explicit (a flag)
// first, then $GROUNDBEAM_ORT_LIB, then the cache folders. A path that is
// named but missing is an error of its own, so a typo is not masked by a
// cached library.
func FindLibrary(explicit string) (string, error) {
	for _, c := range []struct{ path, from string }{
		{explicit, "--ort-lib"},
		{os.Getenv(LibraryEnv), "$" + LibraryEnv},
	} {
		if c.path == "" {
			continue
		}
		if _, err := os.Stat(c.path); err != nil {
			return "", fmt.Errorf("%w: %s names %s, which does not exist", ErrNoLibrary, c.from, c.path)
		}
		return c.path, nil
	}
	for _, d := range CacheDirs() {
		p := filepath.Join(d, LibraryFile)
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("%w: pass --ort-lib PATH, set $%s, or run `make deps` to fetch ONNX Runtime 1.30 into .cache/ort", ErrNoLibrary, LibraryEnv)
}

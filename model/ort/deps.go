//go:build cgo

package ort

import (
	"debug/elf"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// checkDependencies checks that the dynamic loader can resolve every
// DT_NEEDED entry of the shared library at lib, so that a missing CUDA
// library is reported by name (as a *MissingDependencyError) instead of
// as ONNX Runtime's generic failure to load the provider. An entry counts
// as found when it is in lib's RUNPATH or RPATH ($ORIGIN expanded), when
// it is an ONNX Runtime library beside lib or beside the loaded ONNX
// Runtime (which loads those itself), or when dlopen(RTLD_LAZY|RTLD_LOCAL)
// loads it. Libraries the provider dlopens later (cuDNN, cuFFT) are not
// in DT_NEEDED and are not checked.
func checkDependencies(lib, ortLib string) error {
	f, err := elf.Open(lib)
	if err != nil {
		return fmt.Errorf("read %s: %w", lib, err)
	}
	defer f.Close()
	needed, err := f.ImportedLibraries()
	if err != nil {
		return fmt.Errorf("read dependencies of %s: %w", lib, err)
	}
	dirs := searchPath(f, filepath.Dir(lib))
	for _, name := range needed {
		if resolvable(name, dirs, lib, ortLib) {
			continue
		}
		ok, detail := dlopenCheck(name)
		if ok {
			continue
		}
		return &MissingDependencyError{Library: lib, Needed: name, Missing: missingFile(detail), Detail: detail}
	}
	return nil
}

// searchPath returns the folders of f's DT_RUNPATH and DT_RPATH entries
// with $ORIGIN replaced by origin.
func searchPath(f *elf.File, origin string) []string {
	var dirs []string
	for _, tag := range []elf.DynTag{elf.DT_RUNPATH, elf.DT_RPATH} {
		paths, err := f.DynString(tag)
		if err != nil {
			continue
		}
		for _, p := range paths {
			for d := range strings.SplitSeq(p, ":") {
				d = strings.ReplaceAll(strings.ReplaceAll(d, "${ORIGIN}", origin), "$ORIGIN", origin)
				if d != "" {
					dirs = append(dirs, d)
				}
			}
		}
	}
	return dirs
}

// resolvable reports whether name is found without asking the loader: a
// path that exists, a file in one of dirs, or an ONNX Runtime library
// beside lib or ortLib.
func resolvable(name string, dirs []string, lib, ortLib string) bool {
	if strings.Contains(name, "/") {
		return exists(name)
	}
	for _, d := range dirs {
		if exists(filepath.Join(d, name)) {
			return true
		}
	}
	if strings.HasPrefix(name, "libonnxruntime") {
		for _, l := range []string{lib, ortLib} {
			if l != "" && exists(filepath.Join(filepath.Dir(l), name)) {
				return true
			}
		}
	}
	return false
}

func exists(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir()
}

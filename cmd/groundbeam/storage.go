package main

import (
	"flag"
	"fmt"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"

	"github.com/groundbeam/groundbeam/transforms/source/s3fs"
)

// addS3Flags registers the s3:// file system's settings (--s3_endpoint,
// --s3_path_style, --s3_region; docs/storage.md) on fs. The returned
// function, called after parsing, makes the ones set on the command line
// pipeline options, which the launcher's own reads use and Beam ships to
// every worker, and refuses settings no s3:// access could use.
func addS3Flags(fs *flag.FlagSet) func() error {
	s3fs.Flags(fs)
	return func() error {
		fs.Visit(func(f *flag.Flag) {
			switch f.Name {
			case s3fs.OptionEndpoint, s3fs.OptionPathStyle, s3fs.OptionRegion:
				beam.PipelineOptions.Set(f.Name, f.Value.String())
			}
		})
		if _, err := s3fs.Effective(); err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		return nil
	}
}

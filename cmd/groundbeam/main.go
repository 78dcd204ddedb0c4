// Command groundbeam turns image-text pairs in object storage into a
// pseudo-labelled open-vocabulary detection corpus.
//
//	groundbeam label  --input 'gs://bucket/shards/*.tar' --output OUT --teacher BUNDLE --clip BUNDLE
//	groundbeam vocab  --names FILE --clip BUNDLE --output OUT
//	groundbeam embed  --input PREVIOUS_OUT --clip BUNDLE --output OUT
//	groundbeam models tiny DIR
//	groundbeam models verify BUNDLE
//	groundbeam models devices
//	groundbeam samples DIR
//	groundbeam inspect OUT --n 16 --out sheet.png
//	groundbeam stats OUT
//	groundbeam export coco OUT --out instances.json
//	groundbeam bench-session --bundle DIR --graph image|grounding --batch N --iters N
//
// Exit codes: 0 ok, 1 the run failed, 2 usage error.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
)

// errUsage marks a command-line mistake (exit code 2).
var errUsage = errors.New("usage")

type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"label", "label image-text shards with the teacher and CLIP into Parquet", runLabel},
		{"embed", "recompute CLIP region embeddings of a previous run or a COCO/LVIS file (no teacher)", runEmbed},
		{"vocab", "CLIP text embeddings of class names (prompt ensemble) into OUT/vocab", runVocab},
		{"models", "make model bundles (`models tiny DIR`), check one against its fixtures (`models verify BUNDLE`), list provider devices (`models devices`)", runModels},
		{"samples", "write a small generated corpus of image-text tar shards", runSamples},
		{"inspect", "draw boxes and phrases on sample images: a contact-sheet PNG and an HTML page", runInspect},
		{"stats", "rows, box and score histograms, top phrases, rejections by reason", runStats},
		{"export", "export the corpus (`export coco OUT --out instances.json`, `export odvg OUT --out DIR`)", runExport},
		{"bench-session", "time one graph of a bundle on synthetic batches with an ONNX Runtime provider (bench/gpu)", runBenchSession},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: groundbeam COMMAND [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-13s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun `groundbeam COMMAND --help` for a command's flags and examples.")
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	slog.SetDefault(slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	if len(args) > 0 && strings.HasPrefix(args[0], "-") && args[0] != "-h" && args[0] != "--help" {
		// Launched by a runner as a worker (--worker ...): Beam's own flags.
		flag.CommandLine.Parse(args)
		beam.Init() // runs the worker harness and exits when --worker is set
		usage(stderr)
		return 2
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err := c.run(ctx, args[1:], stdout, stderr)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case errors.Is(err, errUsage):
			fmt.Fprintf(stderr, "groundbeam %s: %v\n", c.name, err)
			return 2
		default:
			fmt.Fprintf(stderr, "groundbeam %s: %v\n", c.name, oneLine(err))
			return 1
		}
	}
	fmt.Fprintf(stderr, "groundbeam: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}

// oneLine folds a (possibly joined) error into one line.
func oneLine(err error) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(err.Error(), "\n", "; ")), " ")
}

// newFlags returns a flag set whose parse errors are usage errors and
// whose help shows the examples.
func newFlags(name, synopsis, examples string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("groundbeam "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: groundbeam %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
		if examples != "" {
			fmt.Fprintf(stderr, "\nexamples:\n%s\n", examples)
		}
	}
	return fs
}

// parse parses args into fs, allowing flags after positional arguments
// (`samples DIR --pairs 8`), and returns the positional arguments. Parse
// failures are usage errors.
func parse(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if rest[0] == "--" {
			return append(pos, rest[1:]...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// Command hhembench is the harness behind `make bench-hhem`: it writes a
// flan-t5-base-shaped HHEM model of random weights with a tokenizer whose
// ids are predictable, runs hallu's hhem scorer as a benchmark worker, and
// drives hallu, ONNX Runtime and PyTorch workers in interleaved rounds over
// the same token ids after checking that they agree.
//
//	hhembench gen    -dir DIR                  write model.safetensors, tokenizer.json, config.json
//	hhembench worker -dir DIR [-opt k=v]...    serve timed forward passes on stdin/stdout
//	hhembench drive  -c SPEC...                interleaved rounds and the table
//	hhembench docs   -n N -out FILE            leaderboard-like records for `hallu score`
//	hhembench one    -dir DIR -tokens N        one pair in a fresh process: time and peak memory
//	hhembench time   [-docs N] -- CMD...       a command's wall and CPU time, utilisation and peak RSS
//
// Workers speak one line at a time: the driver sends the space-separated
// token ids of a pair, the worker replies "SECONDS SCORE" (the forward
// pass's wall time and softmax(logits)[1]); "rss" asks for the process's
// peak resident memory in MB. A worker prints "ready" once loaded.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/scorers"
	_ "github.com/hallu-eval/hallu/scorers/hhem" // registers the hhem scorer
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: hhembench gen|worker|drive|docs|one|time [flags] (see the package comment)")
		os.Exit(2)
	}
	cmds := map[string]func(context.Context, []string) error{
		"gen": runGen, "worker": runWorker, "drive": runDrive, "docs": runDocs, "one": runOne, "time": runTime,
	}
	run, ok := cmds[os.Args[1]]
	if !ok {
		fmt.Fprintf(os.Stderr, "hhembench: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
	if err := run(context.Background(), os.Args[2:]); err != nil {
		fmt.Fprintf(os.Stderr, "hhembench %s: %v\n", os.Args[1], err)
		os.Exit(1)
	}
}

func runGen(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	dir := fs.String("dir", "", "directory to write the model into")
	seed := fs.Uint64("seed", 7, "weights seed")
	fs.Parse(args)
	if *dir == "" {
		return errors.New("-dir is required")
	}
	return writeModel(*dir, flanT5Base, *seed)
}

// optsFlag collects repeated -opt key=value scorer options.
type optsFlag scorers.Options

func (o optsFlag) String() string { return fmt.Sprint(map[string]string(o)) }
func (o optsFlag) Set(s string) error {
	k, v, ok := strings.Cut(s, "=")
	if !ok {
		return fmt.Errorf("-opt %q: want key=value", s)
	}
	o[k] = v
	return nil
}

func openScorer(ctx context.Context, dir string, extra optsFlag) (scorers.Scorer, error) {
	opts := scorers.Options{"model-dir": dir}
	for k, v := range extra {
		opts[k] = v
	}
	return scorers.Open(ctx, "hhem", opts)
}

// runWorker serves the driver: each input line is a pair's ids, turned
// back into text so that the timed call is the scorer's own Score,
// tokenization included, as `hallu score` runs it.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	dir := fs.String("dir", "", "model directory (from gen)")
	extra := optsFlag{}
	fs.Var(extra, "opt", "extra hhem scorer option key=value (repeatable)")
	fs.Parse(args)
	s, err := openScorer(ctx, *dir, extra)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 16<<20)
	for line := 1; in.Scan(); line++ {
		if strings.TrimSpace(in.Text()) == "rss" {
			fmt.Printf("%.0f\n", peakRSSMB())
			continue
		}
		ids, err := parseIDs(in.Text())
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		src, sum, err := pairText(ids)
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		t0 := time.Now()
		res, err := s.Score(ctx, []scorers.Pair{{Source: src, Summary: sum}})
		sec := time.Since(t0).Seconds()
		if err != nil {
			return fmt.Errorf("stdin line %d (%d tokens): %w", line, len(ids), err)
		}
		fmt.Printf("%.6f %.9f\n", sec, res[0].Score)
	}
	return in.Err()
}

func parseIDs(s string) ([]int, error) {
	f := strings.Fields(s)
	ids := make([]int, len(f))
	for i, w := range f {
		v, err := strconv.Atoi(w)
		if err != nil {
			return nil, fmt.Errorf("token %d: %w", i, err)
		}
		ids[i] = v
	}
	return ids, nil
}

// runOne scores one pair of n tokens in this process and reports the
// time and the peak resident memory, before and after the pass, so that
// runs at several lengths show how memory grows with length.
func runOne(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("one", flag.ExitOnError)
	dir := fs.String("dir", "", "model directory (from gen)")
	n := fs.Int("tokens", 8192, "pair length in tokens")
	extra := optsFlag{}
	fs.Var(extra, "opt", "extra hhem scorer option key=value (repeatable)")
	fs.Parse(args)
	ids, err := pairIDs(*n, flanT5Base.Vocab, 1)
	if err != nil {
		return err
	}
	src, sum, err := pairText(ids)
	if err != nil {
		return err
	}
	s, err := openScorer(ctx, *dir, extra)
	if err != nil {
		return err
	}
	defer s.Close()
	loaded := peakRSSMB()
	t0 := time.Now()
	res, err := s.Score(ctx, []scorers.Pair{{Source: src, Summary: sum}})
	if err != nil {
		return err
	}
	sec := time.Since(t0).Seconds()
	peak := peakRSSMB()
	fmt.Printf("tokens=%d sec=%.2f score=%.6f peakRSS_MB=%.0f loadedRSS_MB=%.0f forwardRSS_MB=%.0f\n",
		*n, sec, res[0].Score, peak, loaded, peak-loaded)
	return nil
}

// peakRSSMB is this process's resident-memory high-water mark (VmHWM), 0
// where /proc is missing.
func peakRSSMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return float64(kb) / 1024
		}
	}
	return 0
}

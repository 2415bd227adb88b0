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
// Workers speak one line at a time: the driver sends a request of N ≥ 1
// pairs of the same length, each as its space-separated token ids, pairs
// separated by " | " (at N = 1 just the ids); the worker scores them in one
// forward pass and replies "SECONDS SCORE1 ... SCOREN" (the pass's wall
// time and each pair's softmax(logits)[1], in request order; at N = 1
// "SECONDS SCORE"). "rss" asks for the process's peak resident memory in
// MB. A worker prints "ready" once loaded.
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

// Worker defaults for the hhem scorer's batching: high enough that a
// request's pairs always run as one forward pass (see checkOnePass).
const (
	workerBatch       = 1024
	workerBatchTokens = 1 << 24
)

// runWorker serves the driver: each input line is a request of pairs'
// ids, turned back into text so that the timed call is the scorer's own
// Score over all the request's pairs, tokenization included, as `hallu
// score` runs a batch.
func runWorker(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("worker", flag.ExitOnError)
	dir := fs.String("dir", "", "model directory (from gen)")
	extra := optsFlag{}
	fs.Var(extra, "opt", "extra hhem scorer option key=value (repeatable)")
	fs.Parse(args)
	limits, err := workerLimits(extra)
	if err != nil {
		return err
	}
	s, err := openScorer(ctx, *dir, extra)
	if err != nil {
		return err
	}
	defer s.Close()
	fmt.Println("ready")
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 64<<20)
	for line := 1; in.Scan(); line++ {
		if strings.TrimSpace(in.Text()) == "rss" {
			fmt.Printf("%.0f\n", peakRSSMB())
			continue
		}
		reply, err := serveRequest(ctx, s, limits, in.Text())
		if err != nil {
			return fmt.Errorf("stdin line %d: %w", line, err)
		}
		fmt.Println(reply)
	}
	return in.Err()
}

// batchLimits are the hhem scorer's batch and batch-tokens options.
type batchLimits struct{ seqs, tokens int }

// workerLimits sets the scorer's batch options to the worker defaults
// where -opt left them out and returns the values in force.
func workerLimits(extra optsFlag) (batchLimits, error) {
	get := func(key string, def int) (int, error) {
		v, ok := extra[key]
		if !ok {
			extra[key] = strconv.Itoa(def)
			return def, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, fmt.Errorf("-opt %s=%s: %w", key, v, err)
		}
		return n, nil
	}
	seqs, err1 := get("batch", workerBatch)
	tokens, err2 := get("batch-tokens", workerBatchTokens)
	return batchLimits{seqs, tokens}, errors.Join(err1, err2)
}

// checkOnePass refuses a request the scorer would split into several
// forward passes, which would time something other than one batch.
func (l batchLimits) checkOnePass(pairs, tokens int) error {
	if pairs > 1 && (pairs > l.seqs || pairs*tokens > l.tokens) {
		return fmt.Errorf("%d pairs of %d tokens would not run as one forward pass (batch=%d, batch-tokens=%d)",
			pairs, tokens, l.seqs, l.tokens)
	}
	return nil
}

// serveRequest scores one request's pairs in one Score call and formats
// the reply.
func serveRequest(ctx context.Context, s scorers.Scorer, limits batchLimits, line string) (string, error) {
	seqs, err := parseRequest(line)
	if err != nil {
		return "", err
	}
	pairs := make([]scorers.Pair, len(seqs))
	for j, ids := range seqs {
		src, sum, err := pairText(ids)
		if err != nil {
			return "", fmt.Errorf("pair %d: %w", j, err)
		}
		pairs[j] = scorers.Pair{Source: src, Summary: sum}
	}
	n := len(seqs[0])
	if err := limits.checkOnePass(len(pairs), n); err != nil {
		return "", err
	}
	t0 := time.Now()
	res, err := s.Score(ctx, pairs)
	sec := time.Since(t0).Seconds()
	if err != nil {
		return "", fmt.Errorf("%d pair(s) of %d tokens: %w", len(pairs), n, err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%.6f", sec)
	for _, r := range res {
		fmt.Fprintf(&b, " %.9f", r.Score)
	}
	return b.String(), nil
}

// parseRequest splits a request into its pairs' ids; all pairs must have
// the same length, as the other runtimes take them as one [N, L] tensor.
func parseRequest(line string) ([][]int, error) {
	parts := strings.Split(line, "|")
	seqs := make([][]int, len(parts))
	for j, p := range parts {
		ids, err := parseIDs(p)
		if err != nil {
			return nil, fmt.Errorf("pair %d: %w", j, err)
		}
		if len(ids) == 0 {
			return nil, fmt.Errorf("pair %d: no token ids", j)
		}
		if j > 0 && len(ids) != len(seqs[0]) {
			return nil, fmt.Errorf("pair %d has %d tokens, pair 0 has %d: a request's pairs must have one length", j, len(ids), len(seqs[0]))
		}
		seqs[j] = ids
	}
	return seqs, nil
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

package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// specsFlag collects repeated -c "name|tolerance|shell command" contenders.
type specsFlag []contender

func (s *specsFlag) String() string { return fmt.Sprint(len(*s), " contenders") }
func (s *specsFlag) Set(v string) error {
	parts := strings.SplitN(v, "|", 3)
	if len(parts) != 3 {
		return fmt.Errorf("-c %q: want name|tolerance|command", v)
	}
	tol, err := strconv.ParseFloat(parts[1], 64)
	if err != nil {
		return fmt.Errorf("-c %q: tolerance: %w", v, err)
	}
	c := contender{name: parts[0], tol: tol, cmd: parts[2]}
	if name, lim, ok := strings.Cut(c.name, "@"); ok {
		if c.maxTokens, err = strconv.Atoi(lim); err != nil || c.maxTokens < 1 {
			return fmt.Errorf("-c %q: want name@maxtokens", v)
		}
		c.name = name
	}
	*s = append(*s, c)
	return nil
}

// contender is one worker process: hallu with one kernel path, ONNX
// Runtime or PyTorch.
type contender struct {
	name      string
	tol       float64 // most |Δscore| from the reference that still counts as equal
	cmd       string
	maxTokens int // longest pair it runs (name@N); 0: all

	proc   *exec.Cmd
	in     io.WriteCloser
	out    *bufio.Scanner
	log    string // its stderr
	failed string // why it stopped, if it did
	peakMB float64
}

// lengthResult is one contender's figures at one batch size and length:
// secs are whole passes (a pass scores the batch's pairs together).
type lengthResult struct {
	secs     []float64
	scores   []float64 // one per pair of the batch
	delta    float64   // largest |score − reference's| over the batch
	excluded string
}

// point is one cell of the grid a thread count is measured over.
type point struct{ batch, tokens int }

func runDrive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	var cs specsFlag
	fs.Var(&cs, "c", "contender `name[@maxtokens]|tolerance|command` (repeatable; the first is the reference the others must match)")
	lengths := fs.String("lengths", "128,512,2048", "pair lengths in tokens")
	batches := fs.String("batch", "1", "pairs per pass (list: each is measured); a pass sends that many pairs of one length in one request")
	threads := fs.String("threads", "1,2", "thread counts, each a separate set of worker processes")
	rounds := fs.Int("rounds", 5, "timed rounds per length; contenders alternate within a round")
	slow := fs.Float64("slow", 60, "a contender whose check pass takes longer than this many seconds is timed once at that length")
	ortName := fs.String("ort", "ort", "contender the ratio column divides by")
	logDir := fs.String("logs", os.TempDir(), "directory for the workers' stderr")
	fs.Parse(args)
	if len(cs) == 0 {
		return errors.New("no contenders (-c)")
	}
	ns, err := intList(*lengths)
	if err != nil {
		return fmt.Errorf("-lengths: %w", err)
	}
	ts, err := intList(*threads)
	if err != nil {
		return fmt.Errorf("-threads: %w", err)
	}
	bs, err := intList(*batches)
	if err != nil {
		return fmt.Errorf("-batch: %w", err)
	}
	var grid []point
	for _, b := range bs {
		for _, n := range ns {
			grid = append(grid, point{b, n})
		}
	}
	for _, t := range ts {
		fmt.Printf("\n## %d thread(s), %d rounds\n\n", t, *rounds)
		live := slices.Clone(cs)
		for i := range live {
			c := &live[i]
			if err := c.start(ctx, t, *logDir); err != nil {
				fmt.Printf("%s: not run: %v\n", c.name, err)
			}
		}
		res := map[string]map[point]*lengthResult{}
		for _, p := range grid {
			for name, r := range measure(live, p.tokens, p.batch, *rounds, *slow) {
				if res[name] == nil {
					res[name] = map[point]*lengthResult{}
				}
				res[name][p] = r
			}
		}
		for i := range live {
			live[i].stop()
		}
		printTable(live, grid, ns, res, *ortName)
	}
	return nil
}

func intList(s string) ([]int, error) {
	var out []int
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		v, err := strconv.Atoi(f)
		if err != nil || v < 1 {
			return nil, fmt.Errorf("%q is not a positive integer", f)
		}
		out = append(out, v)
	}
	return out, nil
}

// start launches the worker with the thread count in the variables each
// runtime reads (Go, OpenMP, and BENCH_THREADS for the scripts' own
// session options) and waits for its "ready".
func (c *contender) start(ctx context.Context, threads int, logDir string) error {
	c.log = filepath.Join(logDir, fmt.Sprintf("hhembench-%s-t%d.log", c.name, threads))
	logf, err := os.Create(c.log)
	if err != nil {
		return err
	}
	defer logf.Close()
	c.proc = exec.CommandContext(ctx, "sh", "-c", c.cmd)
	t := strconv.Itoa(threads)
	c.proc.Env = append(os.Environ(), "GOMAXPROCS="+t, "OMP_NUM_THREADS="+t, "BENCH_THREADS="+t)
	c.proc.Stderr = logf
	if c.in, err = c.proc.StdinPipe(); err != nil {
		return err
	}
	out, err := c.proc.StdoutPipe()
	if err != nil {
		return err
	}
	c.out = bufio.NewScanner(out)
	c.out.Buffer(make([]byte, 1<<16), 1<<20)
	if err := c.proc.Start(); err != nil {
		return err
	}
	line, err := c.read()
	if err != nil {
		return err
	}
	if line != "ready" {
		return c.fail(fmt.Errorf("said %q instead of ready", line))
	}
	return nil
}

func (c *contender) read() (string, error) {
	if c.out.Scan() {
		return strings.TrimSpace(c.out.Text()), nil
	}
	err := c.out.Err()
	if err == nil {
		err = errors.New("exited")
	}
	return "", c.fail(err)
}

// fail marks the contender out, quoting the end of its stderr.
func (c *contender) fail(err error) error {
	tail, _ := os.ReadFile(c.log)
	lines := strings.Split(strings.TrimSpace(string(tail)), "\n")
	if len(lines) > 3 {
		lines = lines[len(lines)-3:]
	}
	c.failed = fmt.Sprintf("%v (%s: %s)", err, c.log, strings.Join(lines, " / "))
	if c.in != nil {
		c.in.Close()
	}
	return errors.New(c.failed)
}

// pass sends one request of pairs pairs and returns the worker's seconds
// for the whole request and the pairs' scores in request order.
func (c *contender) pass(line string, pairs int) (sec float64, scores []float64, err error) {
	if c.failed != "" {
		return 0, nil, errors.New(c.failed)
	}
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return 0, nil, c.fail(err)
	}
	reply, err := c.read()
	if err != nil {
		return 0, nil, err
	}
	sec, scores, err = parseReply(reply, pairs)
	if err != nil {
		return 0, nil, c.fail(err)
	}
	return sec, scores, nil
}

// parseReply reads "SECONDS SCORE1 ... SCOREN"; at one pair that is the
// original "SECONDS SCORE".
func parseReply(reply string, pairs int) (sec float64, scores []float64, err error) {
	f := strings.Fields(reply)
	if len(f) != pairs+1 {
		return 0, nil, fmt.Errorf("reply %q is not \"SECONDS\" and %d score(s)", reply, pairs)
	}
	vals := make([]float64, len(f))
	for i, w := range f {
		if vals[i], err = strconv.ParseFloat(w, 64); err != nil {
			return 0, nil, fmt.Errorf("reply %q: %w", reply, err)
		}
	}
	return vals[0], vals[1:], nil
}

// batchIDs is a request's pairs: batch distinct pairs of n tokens each.
// The first is the pair a batch of one has always sent (seed n), so
// results at batch 1 stay comparable with earlier runs.
func batchIDs(n, batch int) ([][]int, error) {
	seqs := make([][]int, batch)
	for j := range seqs {
		ids, err := pairIDs(n, flanT5Base.Vocab, uint64(n)+uint64(j)<<32)
		if err != nil {
			return nil, err
		}
		seqs[j] = ids
	}
	return seqs, nil
}

// requestLine writes a request: each pair's space-separated ids, pairs
// separated by " | " (one pair: the ids alone, as before batching).
func requestLine(seqs [][]int) string {
	parts := make([]string, len(seqs))
	for j, ids := range seqs {
		words := make([]string, len(ids))
		for i, id := range ids {
			words[i] = strconv.Itoa(id)
		}
		parts[j] = strings.Join(words, " ")
	}
	return strings.Join(parts, " | ")
}

// maxDelta is the largest |a[i] − b[i]|; NaN anywhere makes it NaN, so a
// tolerance test on it fails.
func maxDelta(a, b []float64) float64 {
	d := 0.0
	for i := range a {
		x := math.Abs(a[i] - b[i])
		if math.IsNaN(x) {
			return x
		}
		d = max(d, x)
	}
	return d
}

func (c *contender) stop() {
	if c.proc == nil || c.proc.Process == nil {
		return
	}
	if c.failed == "" {
		if _, err := io.WriteString(c.in, "rss\n"); err == nil {
			if line, err := c.read(); err == nil {
				c.peakMB, _ = strconv.ParseFloat(line, 64)
			}
		}
		c.in.Close()
	}
	c.proc.Wait()
}

// measure checks every live contender's scores on one request of batch
// pairs of n tokens against the reference's (the first contender), which
// also warms it up, then times the ones that agree in interleaved rounds:
// round r starts with contender r mod k, so none always runs right after
// the same neighbour.
func measure(cs []contender, n, batch, rounds int, slow float64) map[string]*lengthResult {
	seqs, err := batchIDs(n, batch)
	if err != nil {
		fmt.Printf("%d tokens: %v\n", n, err)
		return nil
	}
	line := requestLine(seqs)
	res := map[string]*lengthResult{}
	want := map[string]int{}
	var ref []float64
	for i := range cs {
		c := &cs[i]
		r := &lengthResult{}
		res[c.name] = r
		if c.failed != "" {
			r.excluded = "not running"
			continue
		}
		if c.maxTokens > 0 && n > c.maxTokens {
			r.excluded = fmt.Sprintf("skipped above %d tokens (too slow)", c.maxTokens)
			continue
		}
		sec, scores, err := c.pass(line, batch)
		if err != nil {
			r.excluded = err.Error()
			fmt.Printf("batch %d  %6d tokens  %-10s failed: %v\n", batch, n, c.name, err)
			continue
		}
		if i == 0 {
			ref = scores
		}
		r.scores = scores
		if ref != nil {
			r.delta = maxDelta(scores, ref)
		}
		switch {
		case res[cs[0].name].excluded != "":
			r.excluded = "no reference score"
		case !(r.delta <= c.tol):
			r.excluded = fmt.Sprintf("scores %s differ from %s's %s by up to %.2g > %.2g: not timed",
				fmtScores(scores), cs[0].name, fmtScores(ref), r.delta, c.tol)
		default:
			want[c.name] = rounds
			if sec > slow {
				want[c.name] = 1
			}
		}
		status := "checked"
		if r.excluded != "" {
			status = "EXCLUDED: " + r.excluded
		}
		fmt.Printf("batch %d  %6d tokens  %-10s score %.6f  max |Δ| over %d %.1e (tolerance %.0e)  first pass %.3f s  %s\n",
			batch, n, c.name, scores[0], batch, r.delta, c.tol, sec, status)
	}
	for round := range rounds {
		for k := range cs {
			c := &cs[(k+round)%len(cs)]
			r := res[c.name]
			if len(r.secs) >= want[c.name] || r.excluded != "" {
				continue
			}
			sec, scores, err := c.pass(line, batch)
			if err != nil {
				r.excluded = err.Error()
				continue
			}
			if d := maxDelta(scores, r.scores); !(d <= c.tol) {
				r.excluded = fmt.Sprintf("scores changed between passes: %s then %s", fmtScores(r.scores), fmtScores(scores))
				continue
			}
			r.secs = append(r.secs, sec)
		}
	}
	return res
}

func fmtScores(xs []float64) string {
	parts := make([]string, len(xs))
	for i, x := range xs {
		parts[i] = strconv.FormatFloat(x, 'f', 6, 64)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// printTable writes one row per contender and grid point. A pass at batch
// b scores b pairs, so s/pair is the pass's time over b and GFLOP/s counts
// b pairs' work; the ratio divides by ORT's at the same batch and length.
func printTable(cs []contender, grid []point, ns []int, res map[string]map[point]*lengthResult, ortName string) {
	fmt.Println()
	fmt.Println("| batch | tokens | contender | s/pair median [min–max] (runs) | pairs/s | GFLOP/s | time ÷ ORT's | peak RSS MB |")
	fmt.Println("|---:|---:|---|---|---:|---:|---:|---:|")
	for _, p := range grid {
		gflop := float64(p.batch) * encoderFLOPs(flanT5Base, p.tokens) / 1e9
		var ort float64
		if r := res[ortName][p]; r != nil && r.excluded == "" && len(r.secs) > 0 {
			ort = median(r.secs)
		}
		for _, c := range cs {
			r := res[c.name][p]
			if r == nil {
				continue
			}
			if r.excluded != "" || len(r.secs) == 0 {
				why := r.excluded
				if why == "" {
					why = "no timed run"
				}
				fmt.Printf("| %d | %d | %s | not timed: %s | | | | |\n", p.batch, p.tokens, c.name, why)
				continue
			}
			m := median(r.secs)
			b := float64(p.batch)
			ratio := "–"
			if ort > 0 {
				ratio = fmt.Sprintf("%.2f", m/ort)
			}
			fmt.Printf("| %d | %d | %s | %.3f [%.3f–%.3f] (%d) | %.2f | %.0f | %s | %.0f |\n",
				p.batch, p.tokens, c.name, m/b, slices.Min(r.secs)/b, slices.Max(r.secs)/b, len(r.secs), b/m, gflop/m, ratio, c.peakMB)
		}
	}
	fmt.Print("\nGFLOP per pair (encoderFLOPs: 11 full blocks of 8·n·d·i + 6·n·d·dff + 4·n²·i, plus the last block's\n" +
		"k,v for all n and the rest for position 0; d=i=768, dff=2048; a pass at batch b does b times this):")
	for _, n := range ns {
		fmt.Printf(" %d→%.2f", n, encoderFLOPs(flanT5Base, n)/1e9)
	}
	fmt.Println()
}

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

// lengthResult is one contender's figures at one length.
type lengthResult struct {
	secs     []float64
	score    float64
	delta    float64
	excluded string
}

func runDrive(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("drive", flag.ExitOnError)
	var cs specsFlag
	fs.Var(&cs, "c", "contender `name[@maxtokens]|tolerance|command` (repeatable; the first is the reference the others must match)")
	lengths := fs.String("lengths", "128,512,2048", "pair lengths in tokens")
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
	for _, t := range ts {
		fmt.Printf("\n## %d thread(s), %d rounds\n\n", t, *rounds)
		live := slices.Clone(cs)
		for i := range live {
			c := &live[i]
			if err := c.start(ctx, t, *logDir); err != nil {
				fmt.Printf("%s: not run: %v\n", c.name, err)
			}
		}
		res := map[string]map[int]*lengthResult{}
		for _, n := range ns {
			res2 := measure(live, n, *rounds, *slow)
			for name, r := range res2 {
				if res[name] == nil {
					res[name] = map[int]*lengthResult{}
				}
				res[name][n] = r
			}
		}
		for i := range live {
			live[i].stop()
		}
		printTable(live, ns, res, *ortName)
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

// pass sends one pair and returns the worker's seconds and score.
func (c *contender) pass(line string) (sec, score float64, err error) {
	if c.failed != "" {
		return 0, 0, errors.New(c.failed)
	}
	if _, err := io.WriteString(c.in, line+"\n"); err != nil {
		return 0, 0, c.fail(err)
	}
	reply, err := c.read()
	if err != nil {
		return 0, 0, err
	}
	f := strings.Fields(reply)
	if len(f) != 2 {
		return 0, 0, c.fail(fmt.Errorf("reply %q is not \"SECONDS SCORE\"", reply))
	}
	sec, err1 := strconv.ParseFloat(f[0], 64)
	score, err2 := strconv.ParseFloat(f[1], 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, 0, c.fail(fmt.Errorf("reply %q: %w", reply, err))
	}
	return sec, score, nil
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

// measure checks every live contender's score on one pair of n tokens
// against the reference's (the first contender), which also warms it up,
// then times the ones that agree in interleaved rounds: round r starts with
// contender r mod k, so none always runs right after the same neighbour.
func measure(cs []contender, n, rounds int, slow float64) map[string]*lengthResult {
	ids, err := pairIDs(n, flanT5Base.Vocab, uint64(n))
	if err != nil {
		fmt.Printf("%d tokens: %v\n", n, err)
		return nil
	}
	words := make([]string, len(ids))
	for i, id := range ids {
		words[i] = strconv.Itoa(id)
	}
	line := strings.Join(words, " ")
	res := map[string]*lengthResult{}
	want := map[string]int{}
	var ref float64
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
		sec, score, err := c.pass(line)
		if err != nil {
			r.excluded = err.Error()
			fmt.Printf("%6d tokens  %-10s failed: %v\n", n, c.name, err)
			continue
		}
		if i == 0 {
			ref = score
		}
		r.score, r.delta = score, math.Abs(score-ref)
		switch {
		case res[cs[0].name].excluded != "":
			r.excluded = "no reference score"
		case !(r.delta <= c.tol):
			r.excluded = fmt.Sprintf("score %.6f differs from %s's %.6f by %.2g > %.2g: not timed", score, cs[0].name, ref, r.delta, c.tol)
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
		fmt.Printf("%6d tokens  %-10s score %.6f  |Δ| %.1e (tolerance %.0e)  first pass %.3f s  %s\n",
			n, c.name, score, r.delta, c.tol, sec, status)
	}
	for round := range rounds {
		for k := range cs {
			c := &cs[(k+round)%len(cs)]
			r := res[c.name]
			if len(r.secs) >= want[c.name] || r.excluded != "" {
				continue
			}
			sec, score, err := c.pass(line)
			if err != nil {
				r.excluded = err.Error()
				continue
			}
			if !(math.Abs(score-r.score) <= c.tol) {
				r.excluded = fmt.Sprintf("score changed between passes: %.6f then %.6f", r.score, score)
				continue
			}
			r.secs = append(r.secs, sec)
		}
	}
	return res
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func printTable(cs []contender, ns []int, res map[string]map[int]*lengthResult, ortName string) {
	fmt.Println()
	fmt.Println("| tokens | contender | s/pair median [min–max] (runs) | pairs/s | GFLOP/s | time ÷ ORT's | peak RSS MB |")
	fmt.Println("|---:|---|---|---:|---:|---:|---:|")
	for _, n := range ns {
		gflop := encoderFLOPs(flanT5Base, n) / 1e9
		var ort float64
		if r := res[ortName][n]; r != nil && r.excluded == "" && len(r.secs) > 0 {
			ort = median(r.secs)
		}
		for _, c := range cs {
			r := res[c.name][n]
			if r == nil {
				continue
			}
			if r.excluded != "" || len(r.secs) == 0 {
				why := r.excluded
				if why == "" {
					why = "no timed run"
				}
				fmt.Printf("| %d | %s | not timed: %s | | | | |\n", n, c.name, why)
				continue
			}
			m := median(r.secs)
			ratio := "–"
			if ort > 0 {
				ratio = fmt.Sprintf("%.2f", m/ort)
			}
			fmt.Printf("| %d | %s | %.3f [%.3f–%.3f] (%d) | %.2f | %.0f | %s | %.0f |\n",
				n, c.name, m, slices.Min(r.secs), slices.Max(r.secs), len(r.secs), 1/m, gflop/m, ratio, c.peakMB)
		}
	}
	fmt.Print("\nGFLOP per pair (encoderFLOPs: 11 full blocks of 8·n·d·i + 6·n·d·dff + 4·n²·i, plus the last block's\n" +
		"k,v for all n and the rest for position 0; d=i=768, dff=2048):")
	for _, n := range ns {
		fmt.Printf(" %d→%.2f", n, encoderFLOPs(flanT5Base, n)/1e9)
	}
	fmt.Println()
}

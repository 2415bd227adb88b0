// Package exec is a consistency scorer registered as "exec" that runs any
// external command speaking JSON lines on stdin and stdout, so scorers
// written in other languages (MiniCheck, AlignScore, a local NLI model in
// Python) plug into hallu without Go code.
//
// Protocol, one JSON object per line:
//
//	hallu -> plugin: {"id": "doc-1", "source": "...", "summary": "..."}
//	plugin -> hallu: {"id": "doc-1", "score": 0.93, "explanation": "..."}
//	             or: {"id": "doc-1", "error": "why this pair cannot be scored"}
//
// The plugin answers each request before the next is sent, with the same
// id and a score in [0,1] (>= 0.5 = consistent); anything it logs goes to
// stderr. The process is started once and kept running across records
// (load the model once, before reading stdin). A record gets an error,
// never a score, when the plugin replies {"error"}, says something that is
// not the protocol (the error names the command and quotes the line), takes
// longer than the timeout, or exits; in the last three cases the process is
// killed and the next record starts a fresh one, up to max-restarts times.
package exec

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hallu-eval/hallu/scorers"
)

// Name is the registry name.
const Name = "exec"

// Defaults for unset options.
const (
	DefaultTimeout      = time.Minute
	DefaultStartTimeout = 10 * time.Minute
	DefaultMaxRestarts  = 3
	stderrTail          = 2048
	exitInfoWait        = 10 * time.Second
	excerptLen          = 200
)

func init() {
	scorers.Register(scorers.Info{
		Name:        Name,
		Description: "any external command speaking JSON lines on stdin/stdout (option cmd=; see docs/scorers.md)",
		Open:        func(_ context.Context, opts scorers.Options) (scorers.Scorer, error) { return Open(opts) },
	})
}

// Config configures the scorer; Open builds it from options.
type Config struct {
	Argv    []string // the command and its arguments
	Display string   // the command as the user wrote it, for messages
	Version string   // recorded in judgments; "" = Display
	// Timeout bounds one record's reply; the first record of a fresh
	// process gets StartTimeout more, for loading a model.
	Timeout, StartTimeout time.Duration
	MaxRestarts           int // restarts after a crash, timeout or protocol error
	Workers               int // processes run side by side
	Dir                   string
}

// Scorer runs the plugin. It is safe for concurrent use.
type Scorer struct {
	cfg  Config
	pool chan *proc // idle processes; nil = start one when needed

	mu       sync.Mutex
	restarts int
	all      map[*proc]bool // for Close
	closed   bool
}

var knownOptions = []string{"cmd", "shell", "timeout", "start-timeout", "max-restarts", "workers", "version", "dir"}

// Open builds the scorer from --scorer-opt options and starts the plugin,
// so a command that cannot run fails here, not on every record.
func Open(opts scorers.Options) (*Scorer, error) {
	if err := opts.Check(Name, knownOptions...); err != nil {
		return nil, err
	}
	p := scorers.OptionParser{Opts: opts}
	line := strings.TrimSpace(opts.Get("cmd", ""))
	cfg := Config{
		Display:      line,
		Version:      opts.Get("version", ""),
		Timeout:      p.Duration("timeout", DefaultTimeout),
		StartTimeout: p.Duration("start-timeout", DefaultStartTimeout),
		MaxRestarts:  p.Int("max-restarts", DefaultMaxRestarts),
		Workers:      p.Int("workers", 1),
		Dir:          opts.Get("dir", ""),
	}
	shell := p.Bool("shell", false)
	if p.Err != nil {
		return nil, p.Err
	}
	if line == "" {
		return nil, errors.New(`no command: give --scorer-opt cmd="python3 my_scorer.py"`)
	}
	if shell {
		cfg.Argv = []string{"/bin/sh", "-c", line}
	} else {
		argv, err := SplitCommand(line)
		if err != nil {
			return nil, fmt.Errorf("cmd %q: %w", line, err)
		}
		cfg.Argv = argv
	}
	return New(cfg)
}

// New starts cfg.Workers plugin processes.
func New(cfg Config) (*Scorer, error) {
	switch {
	case len(cfg.Argv) == 0:
		return nil, errors.New("no command")
	case cfg.Timeout <= 0 || cfg.StartTimeout < 0 || cfg.MaxRestarts < 0 || cfg.Workers < 1:
		return nil, errors.New("timeout and workers must be positive, start-timeout and max-restarts not negative")
	}
	if cfg.Display == "" {
		cfg.Display = strings.Join(cfg.Argv, " ")
	}
	s := &Scorer{cfg: cfg, pool: make(chan *proc, cfg.Workers), all: map[*proc]bool{}}
	for range cfg.Workers {
		pr, err := s.start()
		if err != nil {
			s.Close()
			return nil, err
		}
		s.pool <- pr
	}
	return s, nil
}

func (s *Scorer) Name() string { return Name }

func (s *Scorer) Version() string {
	if s.cfg.Version != "" {
		return s.cfg.Version
	}
	return s.cfg.Display
}

// Identity is what decides a plugin's scores: the command it runs, as the
// argument list (so spacing and quoting styles that give the same argv give
// the same identity), its working directory when one is set, and its
// declared version (only that: the command line as typed, which Version
// falls back to, would tell apart quotings of one command). Timeouts, restarts and workers change only speed and
// failure handling. Environment values stay out: they hold keys.
func (s *Scorer) Identity() scorers.Identity {
	argv, _ := json.Marshal(s.cfg.Argv)
	opts := map[string]string{"cmd": string(argv)}
	if s.cfg.Dir != "" {
		opts["dir"] = filepath.Clean(s.cfg.Dir)
	}
	return scorers.Identity{Name: Name, Version: s.cfg.Version, Options: opts}
}

// Close ends every plugin: stdin is closed so it can exit cleanly, and
// after a grace period it is killed.
func (s *Scorer) Close() error {
	s.mu.Lock()
	s.closed = true
	procs := make([]*proc, 0, len(s.all))
	for pr := range s.all {
		procs = append(procs, pr)
	}
	s.mu.Unlock()
	for _, pr := range procs {
		pr.stop(5 * time.Second)
	}
	return nil
}

// Score sends the pairs to the plugin processes, one record at a time per
// process.
func (s *Scorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	return scorers.ScoreEach(ctx, pairs, s.cfg.Workers, func(ctx context.Context, p scorers.Pair) scorers.Result {
		pr := <-s.pool
		done := false
		defer func() {
			// A panic (recovered further up) must not take the slot
			// with it, or every later Score would wait forever; the
			// process may be mid-record, so it goes.
			if !done {
				if pr != nil {
					pr.stop(0)
					s.forget(pr)
				}
				s.pool <- nil
			}
		}()
		res, kept := s.scoreOne(ctx, pr, p)
		done = true
		s.pool <- kept
		return res
	})
}

// scoreOne judges one pair on pr (starting a process when pr is nil) and
// returns the process to keep: nil when it had to be killed.
func (s *Scorer) scoreOne(ctx context.Context, pr *proc, p scorers.Pair) (scorers.Result, *proc) {
	if pr == nil {
		var err error
		if pr, err = s.restart(); err != nil {
			return scorers.Result{Err: err}, nil
		}
	}
	res, ok := s.exchange(ctx, pr, p)
	if !ok {
		pr.stop(0)
		s.forget(pr)
		return res, nil
	}
	return res, pr
}

// exchange sends one request and reads its reply; ok is false when the
// process must not be used again.
func (s *Scorer) exchange(ctx context.Context, pr *proc, p scorers.Pair) (res scorers.Result, ok bool) {
	line, err := json.Marshal(struct {
		ID      string `json:"id"`
		Source  string `json:"source"`
		Summary string `json:"summary"`
	}{p.ID, p.Source, p.Summary})
	if err != nil {
		return scorers.Result{Err: err}, true
	}
	wait := s.cfg.Timeout
	if pr.fresh {
		wait += s.cfg.StartTimeout
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	// The write runs beside the wait: a plugin that stopped reading would
	// otherwise block it past the timeout once the pipe is full.
	written := make(chan error, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				written <- fmt.Errorf("panic while writing: %v", v)
			}
		}()
		_, err := pr.stdin.Write(append(line, '\n'))
		written <- err
	}()
	for {
		select {
		case err := <-written:
			written = nil
			if err != nil {
				return scorers.Result{Err: s.errorf("could not send record %s: %v%s", p.ID, err, pr.exitInfo())}, false
			}
			continue
		case r, open := <-pr.lines:
			if !open {
				return scorers.Result{Err: s.errorf("exited before answering record %s%s", p.ID, pr.exitInfo())}, false
			}
			pr.fresh = false
			return s.readReply(r, p.ID)
		case <-timer.C:
			return scorers.Result{Err: s.errorf("no reply to record %s within %s; killed it%s", p.ID, wait, pr.stderrInfo())}, false
		case <-ctx.Done():
			return scorers.Result{Err: s.errorf("record %s interrupted: %v", p.ID, ctx.Err())}, false
		}
	}
}

// readReply checks one output line against the protocol. A plugin error
// or an out-of-range score leaves the stream in step; a line that is not
// a reply to this record does not.
func (s *Scorer) readReply(l outLine, id string) (scorers.Result, bool) {
	bad := func(what string) (scorers.Result, bool) {
		return scorers.Result{Err: s.errorf("protocol error on output line %d (%s): %q", l.n, what, excerpt(l.text))}, false
	}
	var r struct {
		ID          json.RawMessage `json:"id"`
		Score       *float64        `json:"score"`
		Explanation string          `json:"explanation"`
		Error       *string         `json:"error"`
	}
	if err := json.Unmarshal([]byte(l.text), &r); err != nil {
		return bad("not a JSON object; log to stderr, not stdout")
	}
	var gotID string
	if err := json.Unmarshal(r.ID, &gotID); err != nil {
		gotID = string(r.ID) // a number is accepted if it spells the id
	}
	switch {
	case len(r.ID) == 0:
		return bad(fmt.Sprintf("no id; expected %q", id))
	case gotID != id:
		return bad(fmt.Sprintf("id %s, expected %q", r.ID, id))
	case r.Error != nil:
		return scorers.Result{Err: s.errorf("could not score record %s: %s", id, *r.Error)}, true
	case r.Score == nil:
		return bad(`no "score" and no "error"`)
	case math.IsNaN(*r.Score) || *r.Score < 0 || *r.Score > 1:
		return scorers.Result{Err: s.errorf("score %v for record %s is outside [0,1] (output line %d)", *r.Score, id, l.n)}, true
	}
	return scorers.Result{Score: *r.Score, Explanation: r.Explanation}, true
}

func (s *Scorer) errorf(format string, args ...any) error {
	return fmt.Errorf("exec scorer %q: %s", s.cfg.Display, fmt.Sprintf(format, args...))
}

// restart starts a replacement process, unless the budget is spent.
func (s *Scorer) restart() (*proc, error) {
	s.mu.Lock()
	if s.restarts >= s.cfg.MaxRestarts {
		s.mu.Unlock()
		return nil, s.errorf("not restarted: it already failed and was restarted %d times (max-restarts)", s.restarts)
	}
	s.restarts++
	s.mu.Unlock()
	return s.start()
}

func (s *Scorer) start() (*proc, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, s.errorf("scorer is closed")
	}
	pr, err := startProc(s.cfg)
	if err != nil {
		return nil, s.errorf("%v", err)
	}
	s.all[pr] = true
	return pr, nil
}

func (s *Scorer) forget(pr *proc) {
	s.mu.Lock()
	delete(s.all, pr)
	s.mu.Unlock()
}

// outLine is one line of a plugin's stdout, numbered from 1.
type outLine struct {
	n    int
	text string
}

// proc is one running plugin.
type proc struct {
	cmd    *osexec.Cmd
	stdin  io.WriteCloser
	lines  chan outLine // closed at EOF on stdout
	stderr *tail
	fresh  bool          // has not answered yet: gets StartTimeout
	exited chan struct{} // closed once Wait returned
	err    error         // Wait's result, after exited
	once   sync.Once
}

func startProc(cfg Config) (*proc, error) {
	cmd := osexec.Command(cfg.Argv[0], cfg.Argv[1:]...)
	cmd.Dir = cfg.Dir
	cmd.Env = os.Environ()
	cmd.WaitDelay = 2 * time.Second
	ownGroup(cmd)
	pr := &proc{cmd: cmd, lines: make(chan outLine), stderr: &tail{max: stderrTail}, fresh: true, exited: make(chan struct{})}
	cmd.Stderr = pr.stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	pr.stdin = stdin
	go func() {
		defer close(pr.lines)
		// A panic here would end hallu, not just this plugin: the closed
		// channel reads as the plugin exiting, which is what it will do.
		defer func() { _ = recover() }()
		br := bufio.NewReaderSize(stdout, 64<<10)
		for n := 1; ; n++ {
			text, err := br.ReadString('\n')
			if text = strings.TrimRight(text, "\r\n"); text != "" || err == nil {
				pr.lines <- outLine{n, text}
			}
			if err != nil {
				return
			}
		}
	}()
	go func() {
		pr.err = cmd.Wait()
		close(pr.exited)
	}()
	return pr, nil
}

// stop closes stdin and waits up to grace for the process to exit, then
// kills it; either way whatever it started in its process group is killed
// too, so no orphan keeps a GPU or a port after hallu is done with it.
func (pr *proc) stop(grace time.Duration) {
	pr.once.Do(func() {
		// Nobody reads the output any more: drain it so the reader
		// goroutine ends.
		go func() {
			for range pr.lines {
			}
		}()
		pr.stdin.Close()
		if grace > 0 {
			select {
			case <-pr.exited:
			case <-time.After(grace):
			}
		}
		killGroup(pr.cmd.Process.Pid)
		pr.cmd.Process.Kill()
		<-pr.exited
	})
}

// exitInfo describes how the process ended, with its last stderr. Its
// stdout is closed, so it is ending; the wait only bounds a plugin that
// closed stdout and lives on, and is long enough for a loaded machine.
func (pr *proc) exitInfo() string {
	select {
	case <-pr.exited:
	case <-time.After(exitInfoWait):
		return pr.stderrInfo()
	}
	status := "exit status 0"
	if pr.err != nil {
		status = pr.err.Error()
	}
	return " (" + status + ")" + pr.stderrInfo()
}

func (pr *proc) stderrInfo() string {
	if t := strings.TrimSpace(pr.stderr.String()); t != "" {
		return "; its stderr ends: " + fmt.Sprintf("%q", t)
	}
	return ""
}

func excerpt(s string) string {
	if len(s) > excerptLen {
		return s[:excerptLen] + "…"
	}
	return s
}

// tail keeps the last max bytes written to it.
type tail struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.buf = append(t.buf, p...)
	if len(t.buf) > t.max {
		t.buf = append([]byte(nil), t.buf[len(t.buf)-t.max:]...)
	}
	return len(p), nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.buf)
}

// SplitCommand splits a command line as a POSIX shell would split words:
// blanks separate, single quotes keep everything, double quotes keep all
// but backslash escapes of \ " $ `, and a backslash outside quotes escapes
// the next character. There is no expansion of variables or globs; use
// shell=true for that.
func SplitCommand(line string) ([]string, error) {
	var (
		args  []string
		cur   strings.Builder
		inArg bool
	)
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n':
			if inArg {
				args = append(args, cur.String())
				cur.Reset()
				inArg = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unclosed single quote")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inArg = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte("\\\"$`", line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New("unclosed double quote")
			}
			inArg = true
		case c == '\\':
			if i+1 >= len(line) {
				return nil, errors.New("trailing backslash")
			}
			i++
			cur.WriteByte(line[i])
			inArg = true
		default:
			cur.WriteByte(c)
			inArg = true
		}
	}
	if inArg {
		args = append(args, cur.String())
	}
	return args, nil
}

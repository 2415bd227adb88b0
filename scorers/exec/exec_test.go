package exec

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	osexec "os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

const (
	pluginEnv = "HALLU_EXEC_TEST_PLUGIN"
	fifoEnv   = "HALLU_EXEC_TEST_FIFO"
)

// TestHelperProcess is the plugin: the test binary, re-run with
// pluginEnv set. Its behaviour on each record depends on words in the
// summary, so one process can play well-behaved, crashing, slow and
// garbage-emitting plugins:
//
//	score=X    answer X            crash   exit 3 after a stderr line
//	slow       sleep 1m            pyerr   {"id","error"}
//	wrongid    answer another id   range   score 1.5
//	nonjson    print a log line    noscore {"id"} only
//
// With pluginEnv=banner it first prints a banner line on stdout; with
// pluginEnv=spawn it first starts a long sleep whose stdout is the FIFO
// named by fifoEnv, so the test sees the child die as end of file there.
func TestHelperProcess(t *testing.T) {
	mode := os.Getenv(pluginEnv)
	if mode == "" {
		return
	}
	defer os.Exit(0)
	out := bufio.NewWriter(os.Stdout)
	if mode == "banner" {
		fmt.Fprintln(out, "Loading model... done")
		out.Flush()
	}
	if mode == "spawn" {
		f, err := os.OpenFile(os.Getenv(fifoEnv), os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		child := osexec.Command("sleep", "600")
		child.Stdout = f
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		f.Close()
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var req struct{ ID, Source, Summary string }
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "bad request:", err)
			os.Exit(2)
		}
		reply := map[string]any{"id": req.ID}
		switch s := req.Summary; {
		case strings.Contains(s, "crash"):
			fmt.Fprintln(os.Stderr, "Traceback: CUDA out of memory")
			os.Exit(3)
		case strings.Contains(s, "slow"):
			time.Sleep(time.Minute)
		case strings.Contains(s, "wrongid"):
			reply["id"] = "someone-else"
		case strings.Contains(s, "nonjson"):
			fmt.Fprintln(out, "warning: tokenizer truncated input")
			out.Flush()
			continue
		case strings.Contains(s, "pyerr"):
			reply["error"] = "input too long for the model"
		case strings.Contains(s, "range"):
			reply["score"] = 1.5
		case strings.Contains(s, "noscore"):
		default:
			var x float64
			fmt.Sscanf(s[strings.Index(s, "score=")+6:], "%g", &x)
			reply["score"], reply["explanation"] = x, "len "+fmt.Sprint(len(req.Source))
		}
		b, _ := json.Marshal(reply)
		out.Write(append(b, '\n'))
		out.Flush()
	}
}

func openPlugin(t *testing.T, mode string, extra ...string) *Scorer {
	t.Helper()
	t.Setenv(pluginEnv, mode)
	// Roomy limits: a fresh test binary under -race on a busy machine can
	// take seconds to answer, and no test here is about these limits
	// except the one that sets its own.
	opts := scorers.Options{"cmd": fmt.Sprintf("'%s' -test.run=^TestHelperProcess$", os.Args[0]), "timeout": "2m", "start-timeout": "2m"}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		opts[k] = v
	}
	s, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func score(t *testing.T, s *Scorer, summaries ...string) []scorers.Result {
	t.Helper()
	var pairs []scorers.Pair
	for i, sum := range summaries {
		pairs = append(pairs, scorers.Pair{ID: fmt.Sprintf("doc-%d", i), Source: "the source text", Summary: sum})
	}
	res, err := s.Score(context.Background(), pairs)
	require.NoError(t, err)
	require.Len(t, res, len(pairs))
	return res
}

func TestWellBehavedPluginKeepsRunning(t *testing.T) {
	s := openPlugin(t, "good", "workers=2")
	res := score(t, s, "score=0.9", "score=0.1", "score=0", "score=1", "score=0.5")
	for i, want := range []float64{0.9, 0.1, 0, 1, 0.5} {
		require.NoError(t, res[i].Err)
		assert.Equal(t, want, res[i].Score)
		assert.Equal(t, "len 15", res[i].Explanation)
	}
	res = score(t, s, "score=0.3")
	require.NoError(t, res[0].Err)
	assert.Equal(t, 0, s.restarts, "the same processes served both batches")
	assert.Contains(t, s.Version(), "TestHelperProcess")
}

func TestPluginErrorsAndBadScoresArePerRecord(t *testing.T) {
	s := openPlugin(t, "good")
	res := score(t, s, "pyerr", "range", "score=0.7")
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "could not score record doc-0: input too long for the model")
	require.Error(t, res[1].Err)
	assert.Contains(t, res[1].Err.Error(), "score 1.5 for record doc-1 is outside [0,1]")
	require.NoError(t, res[2].Err)
	assert.Equal(t, 0.7, res[2].Score)
	assert.Equal(t, 0, s.restarts, "an answered error keeps the process")
}

func TestProtocolViolationsNameCommandAndLine(t *testing.T) {
	cases := []struct{ summary, want string }{
		{"wrongid", `id "someone-else", expected "doc-0"`},
		{"nonjson", `not a JSON object; log to stderr, not stdout): "warning: tokenizer truncated input"`},
		{"noscore", `no "score" and no "error"`},
	}
	for _, c := range cases {
		s := openPlugin(t, "good")
		res := score(t, s, c.summary, "score=0.4")
		require.Error(t, res[0].Err, c.summary)
		msg := res[0].Err.Error()
		assert.Contains(t, msg, c.want)
		assert.Contains(t, msg, "protocol error on output line 1")
		assert.Contains(t, msg, "TestHelperProcess", "names the command")
		require.NoError(t, res[1].Err, "%s: a fresh process serves the next record", c.summary)
		assert.Equal(t, 0.4, res[1].Score)
		assert.Equal(t, 1, s.restarts)
	}
	// A banner on stdout is the classic mistake.
	s := openPlugin(t, "banner")
	res := score(t, s, "score=0.2")
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), `"Loading model... done"`)
}

func TestCrashRestartsAreBounded(t *testing.T) {
	s := openPlugin(t, "good", "max-restarts=2")
	res := score(t, s, "crash", "score=0.6", "crash", "crash", "score=0.6")
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "exited before answering record doc-0")
	assert.Contains(t, res[0].Err.Error(), "exit status 3")
	assert.Contains(t, res[0].Err.Error(), "CUDA out of memory", "stderr tail is kept")
	require.NoError(t, res[1].Err, "restarted after the crash")
	require.Error(t, res[2].Err) // second crash: second restart used for doc-3
	require.Error(t, res[3].Err)
	assert.Contains(t, res[3].Err.Error(), "exited before answering record doc-3")
	require.Error(t, res[4].Err)
	assert.Contains(t, res[4].Err.Error(), "not restarted: it already failed and was restarted 2 times")
}

func TestSlowPluginIsKilledAtTimeout(t *testing.T) {
	// The timeout is short, but only a plugin that has already answered
	// once is held to it: every fresh process gets start-timeout (roomy)
	// besides, so the warm-up and the replacement answer in time however
	// slowly the machine starts them, and the plugin under test sleeps far
	// past 200ms.
	s := openPlugin(t, "good", "timeout=200ms")
	warm := score(t, s, "score=0.1")
	require.NoError(t, warm[0].Err)
	res := score(t, s, "slow")
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "no reply to record doc-0 within 200ms; killed it")
	res = score(t, s, "score=0.8")
	require.NoError(t, res[0].Err, "a fresh process serves the next record")
	assert.Equal(t, 0.8, res[0].Score)
	assert.Equal(t, 1, s.restarts)
}

func TestOpenErrors(t *testing.T) {
	_, err := Open(scorers.Options{})
	assert.ErrorContains(t, err, "no command")
	_, err = Open(scorers.Options{"cmd": "/nonexistent/hallu-plugin --x"})
	assert.ErrorContains(t, err, `exec scorer "/nonexistent/hallu-plugin --x"`)
	_, err = Open(scorers.Options{"cmd": "python3 'unclosed"})
	assert.ErrorContains(t, err, "unclosed single quote")
	_, err = Open(scorers.Options{"cmd": "true", "timout": "1s"})
	assert.ErrorContains(t, err, `unknown option "timout"`)
	_, err = scorers.Open(context.Background(), Name, scorers.Options{"cmd": "true", "bacth": "8"})
	assert.ErrorContains(t, err, `unknown option "bacth" (exec takes cmd, shell, timeout`)
}

func TestSplitCommand(t *testing.T) {
	cases := map[string][]string{
		`python3 wrap.py --model roberta-large`:   {"python3", "wrap.py", "--model", "roberta-large"},
		`'/path with space/py'  -c "a \"b\" \$x"`: {"/path with space/py", "-c", `a "b" $x`},
		`a\ b c''d ""`: {"a b", "cd", ""},
		"  ":           nil,
	}
	for in, want := range cases {
		got, err := SplitCommand(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{`"open`, `x\`} {
		_, err := SplitCommand(bad)
		assert.Error(t, err, bad)
	}
}

func TestIdentity(t *testing.T) {
	open := func(opts scorers.Options) scorers.Identity {
		t.Helper()
		s, err := scorers.Open(context.Background(), Name, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return scorers.IdentityOf(s)
	}
	id := open(scorers.Options{"cmd": "cat", "workers": "2", "timeout": "3s"})
	assert.Equal(t, scorers.Identity{Name: Name, Options: map[string]string{"cmd": `["cat"]`}}, id,
		"workers and timeout change speed, not scores")
	assert.Equal(t, id.Key(), open(scorers.Options{"cmd": "  'cat' "}).Key(), "the same argv is the same scorer")

	v := open(scorers.Options{"cmd": "cat", "version": "minicheck-7b", "dir": "/tmp/"})
	assert.Equal(t, "minicheck-7b", v.Version)
	assert.Equal(t, "/tmp", v.Options["dir"])
	assert.Equal(t, `version "" here, "minicheck-7b" there; option dir unset here, /tmp there`, id.Diff(v))

	sh := open(scorers.Options{"cmd": "cat -u", "shell": "true"})
	assert.Equal(t, `["/bin/sh","-c","cat -u"]`, sh.Options["cmd"])
}

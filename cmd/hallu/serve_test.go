package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
)

var listeningLine = regexp.MustCompile(`msg=listening addr=(127\.0\.0\.1:\d+)`)

// startServe runs `hallu serve` in this process on a free port until the
// test ends, and returns its base URL once the scorer is loaded.
func startServe(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testutil.SyncBuffer
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, append([]string{"--addr", "127.0.0.1:0"}, args...), nil, io.Discard, &stderr)
	}()
	t.Cleanup(func() {
		cancel()
		assert.NoError(t, <-done, stderr.String())
	})
	var url string
	require.Eventually(t, func() bool {
		m := listeningLine.FindStringSubmatch(stderr.String())
		if m == nil || !strings.Contains(stderr.String(), "scorer loaded") {
			return false
		}
		url = "http://" + m[1]
		return true
	}, 30*time.Second, time.Millisecond, "the server did not come up: %s", &stderr)
	return url
}

// judgedScores maps each judged record to its score.
func judgedScores(t *testing.T, path string) map[string]float64 {
	t.Helper()
	out := map[string]float64{}
	for _, r := range readRecords(t, path) {
		require.NotNil(t, r.Judgment, r.DocID)
		require.Nil(t, r.Judgment.Error, "%s %s", r.DocID, r.Model)
		if r.Judgment.Score != nil {
			out[r.DocID+" "+r.Model] = *r.Judgment.Score
		}
	}
	return out
}

// TestVectaraScorerAgainstServe is the README's example: hallu's own
// vectara scorer, pointed at `hallu serve`, scores exactly as the served
// scorer does offline.
func TestVectaraScorerAgainstServe(t *testing.T) {
	cases := map[string][]string{
		"overlap": {"--scorer", "overlap"},
	}
	// The tiny HHEM is skipped where ../shared is absent.
	if _, err := os.Stat(filepath.Join(testutil.ModuleRoot(t), "..", "shared", "testdata", "hhem-tiny")); err == nil {
		cases["hhem"] = []string{"--scorer", "hhem", "--model-dir", testutil.SharedTestdata(t, "hhem-tiny"),
			"--scorer-opt", "tokenizer-dir=" + testutil.SharedTestdata(t, "t5")}
	}
	for name, scorerArgs := range cases {
		t.Run(name, func(t *testing.T) {
			t.Setenv("HALLU_SERVE_TEST_KEY", "sk-test-serve-0451")
			url := startServe(t, append(scorerArgs, "--api-key-env", "HALLU_SERVE_TEST_KEY")...)
			dir := t.TempDir()
			in := filepath.Join(dir, "gen.jsonl")
			require.NoError(t, os.WriteFile(in, scoreCLIInput(t, 8), 0o644))

			offline := filepath.Join(dir, "offline.jsonl")
			code, _, stderr := runCLI(t, nil, append([]string{"score", "--in", in, "--out", offline}, scorerArgs...)...)
			require.Equal(t, 0, code, stderr)

			served := filepath.Join(dir, "served.jsonl")
			code, _, stderr = runCLI(t, nil, "score", "--in", in, "--out", served, "--scorer", "vectara",
				"--scorer-opt", "base-url="+url, "--scorer-opt", "api-key-env=HALLU_SERVE_TEST_KEY",
				"--scorer-opt", "model="+name, "--concurrency", "4")
			require.Equal(t, 0, code, stderr)

			want, got := judgedScores(t, offline), judgedScores(t, served)
			require.Len(t, want, 16)
			assert.Equal(t, want, got, "every score through the API equals the offline one")
			assert.NotContains(t, stderr, "sk-test-serve-0451")
		})
	}
}

func TestServeRefusesAnUnsetKeyVariable(t *testing.T) {
	t.Setenv("HALLU_SERVE_UNSET_KEY", "")
	code, _, stderr := runHallu(t, "serve", "--scorer", "overlap", "--addr", "127.0.0.1:0", "--api-key-env", "HALLU_SERVE_UNSET_KEY")
	assert.Equal(t, 2, code)
	assert.Equal(t, "hallu serve: --api-key-env HALLU_SERVE_UNSET_KEY: the environment variable is unset or empty; set it to the key clients must send as x-api-key\n", stderr)
}

func TestServeFlagsOutOfRange(t *testing.T) {
	for _, c := range [][]string{
		{"--max-queue", "0"}, {"--max-batch", "0"}, {"--workers", "0"}, {"--max-body", "0"},
		{"--batch-wait", "-1ms"}, {"--read-timeout", "0s"}, {"--grace", "0s"}, {"--log-format", "xml"},
	} {
		t.Run(strings.Join(c, " "), func(t *testing.T) {
			code, _, stderr := runHallu(t, append([]string{"serve", "--scorer", "overlap", "--addr", "127.0.0.1:0"}, c...)...)
			assert.Equal(t, 2, code, stderr)
			first, _, _ := strings.Cut(stderr, "\n")
			assert.Contains(t, first, c[0]+" ")
		})
	}
	code, _, stderr := runHallu(t, "serve", "--scorer", "nosuch", "--addr", "127.0.0.1:0")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `unknown scorer "nosuch"`)
}

// TestServeSIGTERMUnderLoadDrains sends SIGTERM to a real process while
// clients keep it busy: it stops accepting, answers what it accepted, and
// exits 0.
func TestServeSIGTERMUnderLoadDrains(t *testing.T) {
	bin := buildHallu(t)
	cmd := exec.Command(bin, "serve", "--addr", "127.0.0.1:0", "--scorer", "overlap", "--max-queue", "64", "--grace", "1m")
	stderrPipe, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cmd.Process.Kill() })
	var logs testutil.SyncBuffer
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderrPipe)
		for sc.Scan() {
			logs.Write(append(sc.Bytes(), '\n'))
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	url := "http://" + <-addr + "/v2/evaluate_factual_consistency"

	// 16 clients send requests until the server stops answering; each
	// answer is checked against the offline score of its pair.
	type outcome struct{ ok, refused, failed int }
	outcomes := make([]outcome, 16)
	started := make(chan struct{}, len(outcomes))
	var wg sync.WaitGroup
	for c := range outcomes {
		wg.Go(func() {
			client := &http.Client{Transport: &http.Transport{}}
			for i := 0; ; i++ {
				summary := fmt.Sprintf("The council approved %d homes.", c*1000+i)
				body := fmt.Sprintf(`{"generated_text": %q, "source_texts": ["The council approved 12 homes on the river site."]}`, summary)
				resp, err := client.Post(url, "application/json", strings.NewReader(body))
				if err != nil {
					outcomes[c].failed++
					return // the server is gone
				}
				raw, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch resp.StatusCode {
				case http.StatusOK:
					var r struct{ Score *float64 }
					if assert.NoError(t, json.Unmarshal(raw, &r)) && assert.NotNil(t, r.Score) {
						outcomes[c].ok++
					}
				case http.StatusTooManyRequests, http.StatusServiceUnavailable:
					outcomes[c].refused++
				default:
					t.Errorf("client %d: HTTP %d: %s", c, resp.StatusCode, raw)
					return
				}
				if i == 3 {
					started <- struct{}{}
				}
			}
		})
	}
	for range outcomes {
		<-started // every client is under way
	}
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	err = cmd.Wait()
	wg.Wait()
	require.NoError(t, err, "exit 0 after a drain: %s", logs.String())
	assert.Contains(t, logs.String(), "msg=draining")
	assert.Contains(t, logs.String(), "msg=drained")
	total := outcome{}
	for _, o := range outcomes {
		total.ok += o.ok
		total.refused += o.refused
		total.failed += o.failed
	}
	t.Logf("SIGTERM under load: %d answered, %d refused (429/503), %d clients saw the server go", total.ok, total.refused, total.failed)
	assert.GreaterOrEqual(t, total.ok, 4*len(outcomes))
}

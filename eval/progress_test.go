package eval

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/hallu-eval/hallu/internal/testutil"

	"github.com/hallu-eval/hallu/internal/httpretry"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestProgressLogLines(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf testutil.SyncBuffer
		assert.False(t, IsTerminal(&buf))
		p := newProgress(&buf, "generate", 10, 10*time.Second)
		_, isLog := p.(*logProgress)
		require.True(t, isLog, "a non-terminal writer gets log lines, not a bar")
		p.skip()
		p.record(false)
		time.Sleep(15 * time.Second)
		p.record(true)
		time.Sleep(10 * time.Second)
		synctest.Wait()
		p.finish()
		p.finish() // idempotent
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		require.Equal(t, []string{
			"generate: 1 done, 0 failed, 1 already done of 10, 0.10 records/s, ETA 1m20s",
			"generate: 1 done, 1 failed, 1 already done of 10, 0.10 records/s, ETA 1m10s",
			"generate: 1 done, 1 failed, 1 already done of 10, 0.08 records/s, ETA 1m28s",
		}, lines, "a line every interval, and a final one")
	})
}

func TestProgressShortRunPrintsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf testutil.SyncBuffer
		p := newProgress(&buf, "generate", 10, 10*time.Second)
		p.record(false)
		time.Sleep(9 * time.Second)
		p.finish()
		assert.Empty(t, buf.String(), "the caller sums up a run shorter than the interval")
	})
}

func TestProgressDuringRun(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newMemGenServer(func(w http.ResponseWriter, r *http.Request, q genReq) {
			time.Sleep(time.Second)
			genOK(w, q)
		})
		cfg := genConfig(srv)
		cfg.Concurrency = 1
		var buf testutil.SyncBuffer
		cfg.Progress = &buf
		cfg.ProgressInterval = 1500 * time.Millisecond
		cfg.Total = 5
		_, _, err := genRun(t, context.Background(), cfg, &genSource{n: 5})
		require.NoError(t, err)
		assert.Contains(t, buf.String(), "generate: 1 done, 0 failed of 5, 0.67 records/s, ETA 6s\n")
		assert.True(t, strings.HasSuffix(buf.String(), "generate: 5 done, 0 failed of 5, 1.00 records/s\n"), buf.String())
	})
}

func TestProgressNil(t *testing.T) {
	p := newProgress(nil, "generate", 0, 0)
	p.record(true)
	p.finish()
	assert.IsType(t, nopProgress{}, p)
}

func TestProgressBar(t *testing.T) {
	var buf testutil.SyncBuffer
	for _, total := range []int{3, 0} { // known total, and a spinner
		p := newBarProgress(&buf, "generate", total)
		p.skip()
		p.record(false)
		p.record(true)
		p.finish()
		assert.Contains(t, buf.String(), "generate (1 failed)")
		assert.Equal(t, 1, p.failed)
		assert.Equal(t, 1, p.skipped)
	}
}

func TestScrubRemovesCredentials(t *testing.T) {
	g, err := NewGenerator(GenerateConfig{Endpoint: "http://alice:hunter2@127.0.0.1:9/v1?api_key=zzz", Model: "m", APIKey: "sk-abc"})
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9/v1", g.endpoint)
	for _, msg := range []string{
		`Post "http://alice:***@127.0.0.1:9/v1/chat/completions": connection refused`,
		`Post "http://alice:hunter2@127.0.0.1:9/v1?api_key=zzz": bad, key sk-abc`,
	} {
		got := httpretry.Scrub(msg, g.cfg.APIKey, g.cfg.Endpoint)
		assert.NotContains(t, got, "alice")
		assert.NotContains(t, got, "hunter2")
		assert.NotContains(t, got, "zzz")
		assert.NotContains(t, got, "sk-abc")
	}
}

package serve_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/serve"

	_ "github.com/hallu-eval/hallu/scorers/hhem"
	_ "github.com/hallu-eval/hallu/scorers/overlap"
)

// hashScorer gives each pair a score derived from its text, so every
// answer can be checked against the pair it belongs to. Work makes it
// CPU-bound: a fixed cost per call plus one per pair, as an encoder's.
type hashScorer struct {
	work  int           // sha256 rounds per pair; the call costs 4× that once
	gate  chan struct{} // when set, each call waits for a token
	calls atomic.Int64
	pairs atomic.Int64
}

func (h *hashScorer) Name() string    { return "hash" }
func (h *hashScorer) Version() string { return "1" }
func (h *hashScorer) Close() error    { return nil }

func (h *hashScorer) Score(ctx context.Context, pairs []scorers.Pair) ([]scorers.Result, error) {
	h.calls.Add(1)
	h.pairs.Add(int64(len(pairs)))
	if h.gate != nil {
		select {
		case <-h.gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	burn(4 * h.work)
	res := make([]scorers.Result, len(pairs))
	for i, p := range pairs {
		burn(h.work)
		res[i].Score = hashScore(p)
	}
	return res, nil
}

var sink atomic.Uint64

func burn(rounds int) {
	var d [32]byte
	for range rounds {
		d = sha256.Sum256(d[:])
	}
	sink.Add(uint64(d[0]))
}

func hashScore(p scorers.Pair) float64 {
	d := sha256.Sum256([]byte(p.Source + "\x00" + p.Summary))
	return float64(binary.BigEndian.Uint64(d[:])%10001) / 10000
}

// newTestServer serves sc through httptest.
func newTestServer(t testing.TB, cfg serve.Config, sc scorers.Scorer) (*serve.Server, *httptest.Server) {
	t.Helper()
	s, err := serve.New(cfg)
	require.NoError(t, err)
	if sc != nil {
		s.SetScorer(sc)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() { ts.Close(); s.Close() })
	return s, ts
}

// listen runs s.Serve on a fresh 127.0.0.1 port; stop ends it and returns
// Serve's error.
func listen(t testing.TB, s *serve.Server) (url string, stop func() error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Serve(ctx, ln) }()
	var once bool
	var serr error
	stop = func() error {
		if !once {
			once = true
			cancel()
			serr = <-errc
		}
		return serr
	}
	t.Cleanup(func() { stop() })
	return "http://" + ln.Addr().String(), stop
}

func post(t testing.TB, client *http.Client, url string, body any, header ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = bytes.NewBufferString(b)
	default:
		j, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(http.MethodPost, url, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

func get(t testing.TB, url string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

func evalBody(summary string, sources ...string) map[string]any {
	return map[string]any{"generated_text": summary, "source_texts": sources, "model_parameters": map[string]string{"model_name": ""}}
}

// testPairs are n pairs of varied lengths.
func testPairs(n int) []scorers.Pair {
	ps := make([]scorers.Pair, n)
	for i := range ps {
		src := fmt.Sprintf("Document %d. The council approved %d new homes on the river site in %d.", i, 10+i, 1990+i%30)
		for k := range i % 7 {
			src += fmt.Sprintf(" Paragraph %d repeats that the vote passed with %d in favour.", k, i%11)
		}
		ps[i] = scorers.Pair{ID: fmt.Sprint(i), Source: src, Summary: fmt.Sprintf("The council approved %d homes.", 10+i+(i%3))}
	}
	return ps
}

func tinyHHEM(t testing.TB) scorers.Scorer {
	t.Helper()
	sc, err := scorers.Open(context.Background(), "hhem", scorers.Options{
		"model-dir":     testutil.SharedTestdata(t, "hhem-tiny"),
		"tokenizer-dir": testutil.SharedTestdata(t, "t5"),
	})
	require.NoError(t, err)
	t.Cleanup(func() { sc.Close() })
	return sc
}

func offline(t testing.TB, sc scorers.Scorer, pairs []scorers.Pair) []float64 {
	t.Helper()
	res, err := sc.Score(context.Background(), pairs)
	require.NoError(t, err)
	out := make([]float64, len(res))
	for i, r := range res {
		require.NoError(t, r.Err)
		out[i] = r.Score
	}
	return out
}

// testWait bounds waits for a state the test knows will come; reaching it
// is the assertion, not how fast.
const (
	testWait  = 30 * time.Second
	pollEvery = time.Millisecond
)

// lockedWriter lets the server's goroutines log into one buffer.
type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func testLogger(w io.Writer, mu *sync.Mutex) *slog.Logger {
	return slog.New(slog.NewTextHandler(lockedWriter{mu: mu, w: w}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

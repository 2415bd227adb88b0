package vectara

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// fakeAPI mimics the factual-consistency endpoint: the score is read from
// the summary ("score=0.25"), so each pair's answer is known.
type fakeAPI struct {
	*httptest.Server
	calls, inflight, maxInflight atomic.Int64
	mu                           sync.Mutex
	bodies                       []request
	handle                       func(w http.ResponseWriter, r *http.Request, n int64, req request) bool // true = handled
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := f.calls.Add(1)
		in := f.inflight.Add(1)
		defer f.inflight.Add(-1)
		for m := f.maxInflight.Load(); in > m && !f.maxInflight.CompareAndSwap(m, in); m = f.maxInflight.Load() {
		}
		if r.URL.Path != "/v2/evaluate_factual_consistency" || r.Method != http.MethodPost {
			http.NotFound(w, r)
			return
		}
		if r.Header.Get("x-api-key") != "vk-test-secret" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"messages":["Unauthorized"]}`)
			return
		}
		var req request
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.bodies = append(f.bodies, req)
		f.mu.Unlock()
		if f.handle != nil && f.handle(w, r, n, req) {
			return
		}
		time.Sleep(2 * time.Millisecond) // let calls overlap
		var score float64
		fmt.Sscanf(req.GeneratedText[strings.Index(req.GeneratedText, "score=")+6:], "%g", &score)
		fmt.Fprintf(w, `{"score": %g}`, score)
	}))
	t.Cleanup(f.Close)
	return f
}

func open(t *testing.T, f *fakeAPI, extra ...string) *Scorer {
	t.Helper()
	t.Setenv("VECTARA_API_KEY", "vk-test-secret")
	opts := scorers.Options{"base-url": f.URL, "backoff-base": "1ms", "backoff-max": "5ms", "retries": "2"}
	for _, kv := range extra {
		k, v, _ := strings.Cut(kv, "=")
		opts[k] = v
	}
	s, err := Open(opts)
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s
}

func TestScoresPairsConcurrentlyInOrder(t *testing.T) {
	f := newFakeAPI(t)
	s := open(t, f, "concurrency=3", "language=eng")
	var pairs []scorers.Pair
	for i := range 12 {
		pairs = append(pairs, scorers.Pair{ID: fmt.Sprint(i), Source: fmt.Sprintf("source %d", i), Summary: fmt.Sprintf("summary score=%g", float64(i)/12)})
	}
	res, err := s.Score(context.Background(), pairs)
	require.NoError(t, err)
	for i, r := range res {
		require.NoError(t, r.Err)
		assert.InDelta(t, float64(i)/12, r.Score, 1e-12, "pair %d", i)
	}
	assert.LessOrEqual(t, f.maxInflight.Load(), int64(3))
	b := f.bodies[0]
	assert.Equal(t, "hhem_v2.3", b.ModelParameters.ModelName)
	assert.Equal(t, "eng", b.Language)
	require.Len(t, b.SourceTexts, 1)
	assert.True(t, strings.HasPrefix(b.SourceTexts[0], "source "))
	assert.Equal(t, "hhem_v2.3", s.Version())
}

func TestRetriesRateLimitAndServerErrors(t *testing.T) {
	f := newFakeAPI(t)
	f.handle = func(w http.ResponseWriter, _ *http.Request, n int64, _ request) bool {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return true
		case 2:
			w.WriteHeader(http.StatusBadGateway)
			return true
		case 3:
			fmt.Fprint(w, `{"scor`) // cut short
			return true
		}
		return false
	}
	s := open(t, f, "retries=3")
	res, err := s.Score(context.Background(), []scorers.Pair{{ID: "a", Source: "s", Summary: "x score=0.75"}})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, 0.75, res[0].Score)
	assert.Equal(t, int64(4), f.calls.Load())
}

func TestFailuresAreRecordedPerPair(t *testing.T) {
	f := newFakeAPI(t)
	f.handle = func(w http.ResponseWriter, _ *http.Request, _ int64, req request) bool {
		switch {
		case strings.Contains(req.GeneratedText, "toolong"):
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `{"messages":["source_texts too long"]}`)
		case strings.Contains(req.GeneratedText, "outofrange"):
			fmt.Fprint(w, `{"score": 1.7}`)
		case strings.Contains(req.GeneratedText, "noscore"):
			fmt.Fprint(w, `{"result": "ok"}`)
		default:
			return false
		}
		return true
	}
	s := open(t, f)
	res, err := s.Score(context.Background(), []scorers.Pair{
		{ID: "ok", Source: "s", Summary: "score=0.5"},
		{ID: "long", Source: "s", Summary: "toolong"},
		{ID: "range", Source: "s", Summary: "outofrange"},
		{ID: "none", Source: "s", Summary: "noscore"},
	})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	assert.Equal(t, 0.5, res[0].Score)
	require.Error(t, res[1].Err)
	assert.Contains(t, res[1].Err.Error(), "after 1 attempts (bad_request)")
	assert.Contains(t, res[1].Err.Error(), "source_texts too long")
	for _, r := range res[2:] {
		require.Error(t, r.Err)
		assert.Contains(t, r.Err.Error(), "without a score in [0,1]")
		assert.Contains(t, r.Err.Error(), "after 3 attempts (protocol)")
	}
}

func TestKeyHandling(t *testing.T) {
	f := newFakeAPI(t)
	t.Setenv("VECTARA_API_KEY", "")
	_, err := Open(scorers.Options{"base-url": f.URL})
	assert.ErrorContains(t, err, "VECTARA_API_KEY")

	t.Setenv("OTHER_KEY", "wrong-key-789")
	s, err := Open(scorers.Options{"base-url": f.URL, "api-key-env": "OTHER_KEY"})
	require.NoError(t, err)
	res, err := s.Score(context.Background(), []scorers.Pair{{ID: "a", Source: "s", Summary: "score=1"}})
	require.NoError(t, err)
	require.Error(t, res[0].Err)
	assert.Contains(t, res[0].Err.Error(), "(auth)")
	assert.NotContains(t, res[0].Err.Error(), "wrong-key-789")

	_, err = Open(scorers.Options{"base-url": f.URL, "api-key-env": "OTHER_KEY", "batch": "8"})
	assert.ErrorContains(t, err, `unknown option "batch"`)
	_, err = scorers.Open(context.Background(), Name, scorers.Options{"base-url": f.URL, "api-key-env": "OTHER_KEY", "bacth": "8"})
	assert.ErrorContains(t, err, `unknown option "bacth" (vectara takes base-url, api-key-env, model, language`)
}

func TestIdentity(t *testing.T) {
	f := newFakeAPI(t)
	t.Setenv("VECTARA_API_KEY", "vk-test-secret")
	open := func(opts scorers.Options) scorers.Identity {
		t.Helper()
		opts["base-url"] = f.URL
		s, err := scorers.Open(context.Background(), Name, opts)
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return scorers.IdentityOf(s)
	}
	id := open(scorers.Options{})
	assert.Equal(t, scorers.Identity{Name: Name, Version: DefaultModel, Options: map[string]string{"model": DefaultModel, "language": "auto"}}, id)
	fast := open(scorers.Options{"concurrency": "16", "rpm": "600", "timeout": "5s", "retries": "0", "model": DefaultModel})
	assert.Equal(t, id.Key(), fast.Key(), "speed options do not split judgments")
	eng := open(scorers.Options{"language": " ENG "})
	assert.Equal(t, "option language=auto here, eng there", id.Diff(eng))
}

// Close drops the kept-alive connections.
func TestCloseDropsConnections(t *testing.T) {
	closed := make(chan struct{}, 16)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `{"score": 0.5}`)
	}))
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closed <- struct{}{}
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	s, err := New(Config{BaseURL: srv.URL, APIKey: "k", Model: DefaultModel, Concurrency: 1, Timeout: time.Minute})
	require.NoError(t, err)
	res, err := s.Score(context.Background(), []scorers.Pair{{ID: "a", Source: "s", Summary: "t"}})
	require.NoError(t, err)
	require.NoError(t, res[0].Err)
	require.NoError(t, s.Close())
	select { // the bound only ends a broken test
	case <-closed:
	case <-time.After(time.Minute):
		t.Fatal("the connection stayed open after Close")
	}
}

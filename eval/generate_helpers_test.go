package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/results"
)

// genSource yields n generated documents without holding them: document i
// has id "doc-i" and a text carrying the marker the fake server reads.
type genSource struct {
	n, i int
	err  error // returned after n documents instead of io.EOF, when set
	// bad lists indexes that come back as *dataset.RecordError.
	bad map[int]bool
}

func (s *genSource) Next() (dataset.Document, error) {
	if s.i >= s.n {
		if s.err != nil {
			return dataset.Document{}, s.err
		}
		return dataset.Document{}, io.EOF
	}
	i := s.i
	s.i++
	if s.bad[i] {
		return dataset.Document{}, &dataset.RecordError{File: "gen.jsonl", Line: i + 1, Record: i + 1, Err: dataset.ErrEmptyText}
	}
	return genDoc(i), nil
}

func (s *genSource) Close() error { return nil }

func genDoc(i int) dataset.Document {
	id := fmt.Sprintf("doc-%d", i)
	return dataset.Document{ID: id, Text: "The article [[" + id + "]] says the river is 12 km long.", Dataset: "gen"}
}

var genMarker = regexp.MustCompile(`\[\[([^\]]+)\]\]`)

// genReq is what the fake server saw of one request.
type genReq struct {
	doc     string
	attempt int // 1-based, per document
	at      time.Time
	raw     []byte
	body    map[string]any
	header  http.Header
}

// genServer is a fake OpenAI-compatible endpoint. handle decides the reply;
// nil means a normal one. It counts requests in flight.
type genServer struct {
	*httptest.Server // nil for an in-memory server (newMemGenServer)
	mu               sync.Mutex
	reqs             []genReq
	perDoc           map[string]int
	inflight         atomic.Int64
	maxInflight      atomic.Int64
	handle           func(w http.ResponseWriter, r *http.Request, q genReq)
}

func newGenServer(t testing.TB, handle func(w http.ResponseWriter, r *http.Request, q genReq)) *genServer {
	s := &genServer{perDoc: map[string]int{}, handle: handle}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// newMemGenServer is a genServer without sockets, for tests in a synctest
// bubble: a connection's reader goroutine is never durably blocked, so
// fake time would not advance. genConfig wires its transport.
func newMemGenServer(handle func(w http.ResponseWriter, r *http.Request, q genReq)) *genServer {
	return &genServer{perDoc: map[string]int{}, handle: handle}
}

// memTransport runs a handler in the caller's goroutine.
type memTransport struct{ h http.Handler }

func (m memTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	r := req.Clone(req.Context())
	r.RequestURI = req.URL.RequestURI()
	m.h.ServeHTTP(rec, r)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = req
	return resp, nil
}

// base is the base URL a client is given.
func (s *genServer) base() string {
	if s.Server == nil {
		return "http://mem.test/v1"
	}
	return s.Server.URL + "/v1"
}

func (s *genServer) serve(w http.ResponseWriter, r *http.Request) {
	n := s.inflight.Add(1)
	defer s.inflight.Add(-1)
	for {
		m := s.maxInflight.Load()
		if n <= m || s.maxInflight.CompareAndSwap(m, n) {
			break
		}
	}
	q := genReq{at: time.Now(), header: r.Header.Clone()}
	if r.URL.Path != "/v1/chat/completions" {
		genError(w, http.StatusNotFound, "no route")
		return
	}
	q.raw, _ = io.ReadAll(r.Body)
	if err := json.Unmarshal(q.raw, &q.body); err != nil {
		genError(w, http.StatusBadRequest, "bad json: "+err.Error())
		return
	}
	if m := genMarker.FindSubmatch(q.raw); m != nil {
		q.doc = string(m[1])
	}
	s.mu.Lock()
	s.perDoc[q.doc]++
	q.attempt = s.perDoc[q.doc]
	s.reqs = append(s.reqs, q)
	s.mu.Unlock()
	if s.handle != nil {
		s.handle(w, r, q)
		return
	}
	genOK(w, q)
}

func (s *genServer) requests() []genReq {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]genReq(nil), s.reqs...)
}

func (s *genServer) attempts(doc string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perDoc[doc]
}

func genSummary(doc string) string { return "Summary of " + doc + "." }

// genOK answers a normal completion (or stream, if asked for one).
func genOK(w http.ResponseWriter, q genReq) {
	if q.body["stream"] == true {
		genStream(w, []string{"Summary of ", q.doc, "."}, true, true)
		return
	}
	genReply(w, genSummary(q.doc), "stop")
}

func genReply(w http.ResponseWriter, content, finish string) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{
		"id": "x", "object": "chat.completion", "created": 1, "model": "m",
		"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": content}, "finish_reason": finish}},
		"usage":   map[string]any{"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110},
	})
}

func genError(w http.ResponseWriter, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error"}})
}

// genStream writes SSE chunks; finish adds a finish_reason and a usage
// chunk, done the [DONE] line. Without them the stream just stops, as when
// a connection is cut.
func genStream(w http.ResponseWriter, parts []string, finish, done bool) {
	w.Header().Set("Content-Type", "text/event-stream")
	fl, _ := w.(http.Flusher)
	send := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(w, "data: %s\n\n", b)
		if fl != nil {
			fl.Flush()
		}
	}
	for _, p := range parts {
		send(map[string]any{"id": "x", "object": "chat.completion.chunk", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": p}, "finish_reason": nil}}})
	}
	if finish {
		send(map[string]any{"id": "x", "object": "chat.completion.chunk", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": "stop"}}})
		send(map[string]any{"id": "x", "object": "chat.completion.chunk", "choices": []any{}, "usage": map[string]any{"prompt_tokens": 100, "completion_tokens": 3}})
	}
	if done {
		fmt.Fprint(w, "data: [DONE]\n\n")
	}
}

// genConfig is a config for the fake server with test-sized backoffs.
func genConfig(s *genServer) GenerateConfig {
	cfg := GenerateConfig{
		Endpoint:    s.base(),
		Model:       "test-model",
		Concurrency: 4,
		Timeout:     5 * time.Second,
		MaxRetries:  3,
		BackoffBase: time.Millisecond,
		BackoffMax:  5 * time.Millisecond,
		Progress:    io.Discard,
	}
	if s.Server == nil {
		cfg.HTTPClient = &http.Client{Transport: memTransport{http.HandlerFunc(s.serve)}}
	}
	return cfg
}

// genRun runs Generate over src and returns the records written.
func genRun(t testing.TB, ctx context.Context, cfg GenerateConfig, src dataset.Source) ([]*results.Record, GenerateStats, error) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(ctx, src, results.NewWriter(&buf).Write, cfg)
	return genParse(t, buf.Bytes()), st, err
}

func genParse(t testing.TB, b []byte) []*results.Record {
	t.Helper()
	var recs []*results.Record
	r := results.NewReader(bytes.NewReader(b), "output")
	for {
		rec, err := r.Next()
		if err == io.EOF {
			return recs
		}
		require.NoError(t, err)
		recs = append(recs, rec)
	}
}

// genByDoc indexes records by doc id, failing on duplicates.
func genByDoc(t testing.TB, recs []*results.Record) map[string]*results.Record {
	t.Helper()
	m := map[string]*results.Record{}
	for _, r := range recs {
		require.NotContains(t, m, r.DocID, "duplicate record for %s", r.DocID)
		m[r.DocID] = r
	}
	return m
}

// genResume opens path for appending, as the CLI does, and returns the
// GenKey of every successful record by results.Key.
func genResume(t testing.TB, path string) (map[string]string, *results.Writer) {
	t.Helper()
	done, w, err := results.Resume(path, func(r *results.Record) bool { return r.Error == nil },
		func(r *results.Record) string { return r.GenKey })
	require.NoError(t, err)
	return done, w
}

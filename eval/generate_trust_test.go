package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

// closeAfterReply answers like genOK, advertising keep-alive, then closes
// the connection, as llama.cpp's server was seen to: the client reuses a
// connection the server has already dropped.
func closeAfterReply(w http.ResponseWriter, r *http.Request, q genReq) {
	rec := httptest.NewRecorder()
	genOK(rec, q)
	c, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer c.Close()
	body := rec.Body.Bytes()
	fmt.Fprintf(buf, "HTTP/1.1 200 OK\r\nContent-Type: %s\r\nContent-Length: %d\r\nConnection: keep-alive\r\nKeep-Alive: timeout=60\r\n\r\n",
		rec.Header().Get("Content-Type"), len(body))
	buf.Write(body)
	buf.Flush()
}

// Issue #9 case 7.
func TestServerClosingAfterEveryReplyCostsNoDocument(t *testing.T) {
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			srv := newGenServer(t, closeAfterReply)
			cfg := genConfig(srv)
			cfg.Stream = stream
			cfg.Concurrency = 4
			const n = 200
			recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: n})
			require.NoError(t, err)
			for _, r := range recs {
				assert.Nil(t, r.Error, "%s: %+v", r.DocID, r.Error)
			}
			assert.Equal(t, GenerateStats{Done: n}, st)
		})
	}
}

// sseError streams some content, an error event in the given form, and
// [DONE], all with HTTP 200.
func sseError(w http.ResponseWriter, event string) {
	w.Header().Set("Content-Type", "text/event-stream")
	fmt.Fprint(w, `data: {"id":"x","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"Sum"},"finish_reason":null}]}`+"\n\n")
	fmt.Fprint(w, event+"\n\n")
	fmt.Fprint(w, "data: [DONE]\n\n")
}

const ctxMsg = "the request exceeds the available context size, try increasing it"

// Issue #9 case 8.
func TestStreamErrorEventsAreClassifiedLikeStatuses(t *testing.T) {
	cases := []struct {
		name     string
		event    string
		class    string
		attempts int
	}{
		{"data error 400", `data: {"error":{"code":400,"message":"` + ctxMsg + `","type":"invalid_request_error"}}`, errclass.BadRequest, 1},
		{"llama.cpp error field", `error: {"code":400,"message":"` + ctxMsg + `","type":"invalid_request_error"}`, errclass.BadRequest, 1},
		{"event error", "event: error\n" + `data: {"code":400,"message":"` + ctxMsg + `"}`, errclass.BadRequest, 1},
		{"openai type without code", `data: {"error":{"code":"context_length_exceeded","message":"` + ctxMsg + `","type":"invalid_request_error"}}`, errclass.BadRequest, 1},
		{"data error 503", `data: {"error":{"code":503,"message":"` + ctxMsg + `"}}`, errclass.Server, 3},
		{"data error 429", `data: {"error":{"code":429,"message":"` + ctxMsg + `"}}`, errclass.RateLimit, 3},
		{"no code", `data: {"error":"` + ctxMsg + `"}`, errclass.Server, 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
				if q.doc == "doc-1" {
					sseError(w, tc.event)
					return
				}
				genOK(w, q)
			})
			cfg := genConfig(srv)
			cfg.Stream = true
			cfg.MaxRetries = 2
			recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 2})
			require.NoError(t, err)
			assert.Equal(t, GenerateStats{Done: 1, Failed: 1}, st)
			rec := genByDoc(t, recs)["doc-1"]
			require.NotNil(t, rec.Error)
			assert.Equal(t, tc.class, rec.Error.Class, rec.Error.Message)
			assert.Contains(t, rec.Error.Message, ctxMsg, "the server's message is kept")
			assert.Equal(t, tc.attempts, rec.Attempts)
			assert.Equal(t, tc.attempts, srv.attempts("doc-1"))
		})
	}
}

// Issue #9 case 9, generation side.
func TestServedModelAndTruncationAreRecorded(t *testing.T) {
	long := strings.Repeat("The river is twelve kilometres long and runs through the town. ", 200)
	for _, stream := range []bool{false, true} {
		t.Run(fmt.Sprintf("stream=%v", stream), func(t *testing.T) {
			srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
				finish, prompt := "stop", 10_000
				switch q.doc {
				case "doc-1":
					finish = "length"
				case "doc-2":
					prompt = 512 // a 512-token context kept the end of the prompt only
				}
				if stream {
					w.Header().Set("Content-Type", "text/event-stream")
					for _, c := range []map[string]any{
						{"id": "x", "model": "served-7b-q4", "system_fingerprint": "b4567-cuda", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{"content": "Short."}}}},
						{"id": "x", "model": "served-7b-q4", "system_fingerprint": "b4567-cuda", "choices": []any{map[string]any{"index": 0, "delta": map[string]any{}, "finish_reason": finish}}},
						{"id": "x", "model": "served-7b-q4", "choices": []any{}, "usage": map[string]any{"prompt_tokens": prompt, "completion_tokens": 2}},
					} {
						b, _ := json.Marshal(c)
						fmt.Fprintf(w, "data: %s\n\n", b)
					}
					fmt.Fprint(w, "data: [DONE]\n\n")
					return
				}
				w.Header().Set("Content-Type", "application/json")
				json.NewEncoder(w).Encode(map[string]any{
					"id": "x", "model": "served-7b-q4", "system_fingerprint": "b4567-cuda",
					"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "Short."}, "finish_reason": finish}},
					"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": 2},
				})
			})
			cfg := genConfig(srv)
			cfg.Stream = stream
			src := &sliceSource{docs: []dataset.Document{
				{ID: "doc-0", Text: long + "[[doc-0]]"}, {ID: "doc-1", Text: long + "[[doc-1]]"}, {ID: "doc-2", Text: long + "[[doc-2]]"},
			}}
			recs, st, err := genRun(t, context.Background(), cfg, src)
			require.NoError(t, err)
			assert.Equal(t, GenerateStats{Done: 3, OutputTruncated: 1, InputTruncated: 1}, st)
			m := genByDoc(t, recs)
			for id, r := range m {
				assert.Equal(t, "test-model", r.Model, id)
				assert.Equal(t, "served-7b-q4", r.ServedModel, id)
				assert.Equal(t, "b4567-cuda", r.SystemFingerprint, id)
				assert.Equal(t, EstimateTokens(strings.ReplaceAll(DefaultPrompt, ArticlePlaceholder, src.text(id))), r.PromptTokensEst, id)
				assert.Equal(t, id == "doc-1", r.OutputTruncated, id)
				assert.Equal(t, id == "doc-2", r.InputTruncated, id)
			}
			// The estimate is within reach of the truth: ~3300 tokens.
			assert.InDelta(t, 3400, m["doc-0"].PromptTokensEst, 400)
		})
	}
}

// sliceSource yields fixed documents.
type sliceSource struct {
	docs []dataset.Document
	i    int
}

func (s *sliceSource) Next() (dataset.Document, error) {
	if s.i >= len(s.docs) {
		return dataset.Document{}, errEOF
	}
	s.i++
	return s.docs[s.i-1], nil
}

func (s *sliceSource) Close() error { return nil }

func (s *sliceSource) text(id string) string {
	for _, d := range s.docs {
		if d.ID == id {
			return d.Text
		}
	}
	return ""
}

// refusedURL is a loopback base URL where nothing listens.
func refusedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/v1"
}

// Issue #9 case 10.
func TestFatalFailuresStopTheRun(t *testing.T) {
	cases := []struct {
		name string
		code int    // 0 = refused connection
		want string // the message, with %s for the base URL
	}{
		{"401", 401, "HTTP 401 from %s: check HALLU_TEST_KEY"},
		{"403", 403, "HTTP 403 from %s: check HALLU_TEST_KEY"},
		{"404", 404, `HTTP 404 from %s: unknown model "test-model"? (or a base URL without /v1); the server said: no`},
		{"refused", 0, "connection refused by %s: is the server running?"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var cfg GenerateConfig
			var srv *genServer
			if tc.code != 0 {
				srv = newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
					genError(w, tc.code, "no")
				})
				cfg = genConfig(srv)
			} else {
				cfg = genConfig(&genServer{Server: &httptest.Server{}})
				cfg.Endpoint = refusedURL(t)
			}
			cfg.APIKeyEnv = "HALLU_TEST_KEY"
			cfg.APIKey = "sk-test"
			cfg.Concurrency = 2
			cfg.MaxRetries = 5
			const n = 100
			recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: n})
			var fe *FatalError
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, fmt.Sprintf(tc.want, cfg.Endpoint), err.Error())
			assert.NotContains(t, err.Error(), "\n")
			assert.NotErrorIs(t, err, ErrNoneSucceeded)
			assert.Equal(t, st, fe.Stats)
			// Three in a row stop it: nothing is written after the third.
			assert.Equal(t, DefaultMaxFatal, st.Failed)
			assert.Len(t, recs, DefaultMaxFatal)
			for _, r := range recs {
				if tc.code != 0 {
					assert.Equal(t, 1, r.Attempts, "no retry on %d", tc.code)
				} else {
					assert.LessOrEqual(t, r.Attempts, 2, "one short retry when refused")
				}
			}
			if srv != nil {
				// Workers run ahead of the writer by at most the pool's
				// window, 2 per worker.
				assert.LessOrEqual(t, len(srv.requests()), DefaultMaxFatal+2*cfg.Concurrency)
			}
		})
	}
}

func TestFatalStopNeedsConsecutiveFailures(t *testing.T) {
	// Every other document is unknown to the server: never three in a row.
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		i, _ := strconv.Atoi(strings.TrimPrefix(q.doc, "doc-"))
		if i%2 == 1 {
			genError(w, 404, "no such document")
			return
		}
		genOK(w, q)
	})
	cfg := genConfig(srv)
	cfg.Concurrency = 1
	_, st, err := genRun(t, context.Background(), cfg, &genSource{n: 10})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: 5, Failed: 5}, st)

	cfg.MaxFatal = -1 // never stop: every document is tried
	cfg.APIKeyEnv = "HALLU_TEST_KEY"
	srv2 := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) { genError(w, 401, "no") })
	cfg.Endpoint = srv2.base()
	_, st, err = genRun(t, context.Background(), cfg, &genSource{n: 10})
	assert.ErrorIs(t, err, ErrNoneSucceeded)
	assert.Equal(t, GenerateStats{Failed: 10}, st)

	// Without MaxFatal's stop, the message of a keyless 401 still helps.
	cfg.MaxFatal = 0
	_, _, err = genRun(t, context.Background(), cfg, &genSource{n: 10})
	assert.EqualError(t, err, "HTTP 401 from "+srv2.base()+": no API key was sent; set HALLU_TEST_KEY")

	// Failures only, but documents done by an earlier run: not an error.
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	cfg.MaxFatal = -1
	cfg.Done = map[string]string{results.Key("test-model", "doc-0"): g.Key(genDoc(0))}
	_, st, err = genRun(t, context.Background(), cfg, &genSource{n: 3})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Failed: 2, Skipped: 1}, st)
}

func TestRecordKeysAndExtraBody(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	seed := 7
	cfg.Seed = &seed
	cfg.Temperature = 0.5
	cfg.MaxTokens = 300
	cfg.ExtraBody = map[string]any{"top_p": 0.9, "options": map[string]any{"num_ctx": 8192}}
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	recs, _, err := genRun(t, context.Background(), cfg, &genSource{n: 3})
	require.NoError(t, err)

	q := srv.requests()[0]
	assert.Equal(t, 0.9, q.body["top_p"])
	assert.Equal(t, map[string]any{"num_ctx": 8192.0}, q.body["options"])
	assert.Regexp(t, `"temperature":0.5[,}]`, string(q.raw))

	tmpl := g.Template()
	assert.Equal(t, "test-model", tmpl.Model)
	assert.Equal(t, srv.base(), tmpl.Endpoint)
	assert.Equal(t, results.TextHash(DefaultPrompt), tmpl.PromptHash)
	assert.Equal(t, &results.Params{Temperature: 0.5, Seed: &seed, MaxTokens: 300, Extra: cfg.ExtraBody}, tmpl.Params)
	for _, r := range genByDoc(t, recs) {
		doc := genDoc(mustIndex(t, r.DocID))
		assert.Equal(t, results.TextHash(doc.Text), r.DocHash)
		assert.Equal(t, 300, r.Params.MaxTokens)
		assert.Empty(t, results.SettingsDiff(tmpl, r))
		assert.Equal(t, g.Key(doc), r.GenKey)
		assert.Equal(t, results.GenerationKey(r), r.GenKey)
	}
	// Another text under the same id, or another setting, is another key.
	other := genDoc(0)
	other.Text += " Changed."
	assert.NotEqual(t, g.Key(genDoc(0)), g.Key(other))
	cfg.ExtraBody = map[string]any{"top_p": 0.8, "options": map[string]any{"num_ctx": 8192}}
	g2, err := NewGenerator(cfg)
	require.NoError(t, err)
	assert.NotEqual(t, g.Key(genDoc(0)), g2.Key(genDoc(0)))
	assert.NotEmpty(t, results.SettingsDiff(g2.Template(), g.Template()))

	for _, k := range []string{"temperature", "seed", "model", "messages", "max_tokens", "stream"} {
		cfg.ExtraBody = map[string]any{k: 1}
		_, err := NewGenerator(cfg)
		assert.ErrorContains(t, err, k, "extra body may not override %s", k)
	}
}

func TestResumeSkipsOnlyMatchingKeys(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	g, err := NewGenerator(cfg)
	require.NoError(t, err)
	changed := genDoc(1)
	changed.Text = "an older text [[doc-1]]"
	cfg.Done = map[string]string{
		results.Key("test-model", "doc-0"): g.Key(genDoc(0)), // same request: skipped
		results.Key("test-model", "doc-1"): g.Key(changed),   // another text: redone
		results.Key("test-model", "doc-2"): "",               // an older hallu's record: redone
	}
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 4})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: 3, Skipped: 1}, st)
	m := genByDoc(t, recs)
	assert.NotContains(t, m, "doc-0")
	assert.Contains(t, m, "doc-1")
}

func mustIndex(t *testing.T, id string) int {
	i, err := strconv.Atoi(strings.TrimPrefix(id, "doc-"))
	require.NoError(t, err)
	return i
}

var errEOF = func() error { _, err := bytes.NewReader(nil).Read(nil); return err }()

// Generate must leave no connection open: a server's graceful shutdown
// waits for them (up to 5 s for one that never carried a request, which a
// transport dialling ahead for 8 workers and 4 documents leaves behind).
func TestGenerateClosesItsConnections(t *testing.T) {
	var (
		mu      sync.Mutex
		open    int
		changed = make(chan struct{}, 1)
	)
	srv := &genServer{perDoc: map[string]int{}}
	srv.Server = httptest.NewUnstartedServer(http.HandlerFunc(srv.serve))
	srv.Config.ConnState = func(c net.Conn, s http.ConnState) {
		mu.Lock()
		defer mu.Unlock()
		switch s {
		case http.StateNew:
			open++
		case http.StateClosed, http.StateHijacked:
			open--
		}
		select {
		case changed <- struct{}{}:
		default:
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := genConfig(srv)
	cfg.Concurrency = 8
	_, st, err := genRun(t, context.Background(), cfg, &genSource{n: 4})
	require.NoError(t, err)
	require.Equal(t, 4, st.Done)
	safety := time.After(30 * time.Second) // without Close they stay open for good
	for {
		mu.Lock()
		n := open
		mu.Unlock()
		if n == 0 {
			return
		}
		select {
		case <-changed:
		case <-safety:
			t.Fatalf("%d connections left open after Generate returned", n)
		}
	}
}

type idleCloser struct {
	http.RoundTripper
	closed int
}

func (c *idleCloser) CloseIdleConnections() { c.closed++ }

func TestGeneratorCloseReachesTheBaseTransport(t *testing.T) {
	base := &idleCloser{RoundTripper: http.DefaultTransport}
	g, err := NewGenerator(GenerateConfig{Endpoint: "http://127.0.0.1:1/v1", Model: "m", HTTPClient: &http.Client{Transport: base}})
	require.NoError(t, err)
	require.NoError(t, g.Close())
	assert.Equal(t, 1, base.closed)
}

func TestPanicInAnnotateFailsItsDocumentOnly(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	cfg.Annotate = func(doc dataset.Document, rec *results.Record) {
		if doc.ID == "doc-2" {
			panic("annotator bug")
		}
	}
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 5})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: 4, Failed: 1}, st)
	rec := genByDoc(t, recs)["doc-2"]
	require.NotNil(t, rec.Error)
	assert.Equal(t, "panic: annotator bug", rec.Error.Message)
	assert.NotEmpty(t, rec.GenKey)
}

// blockingSource yields n documents, then blocks like a quiet pipe until
// release is closed.
type blockingSource struct {
	genSource
	release chan struct{}
}

func (s *blockingSource) Next() (dataset.Document, error) {
	if s.i >= s.n {
		<-s.release
		return dataset.Document{}, errEOF
	}
	return s.genSource.Next()
}

func TestInterruptWhileTheDatasetBlocks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newMemGenServer(nil)
		cfg := genConfig(srv)
		src := &blockingSource{genSource: genSource{n: 3}, release: make(chan struct{})}
		defer close(src.release)
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(time.Minute) // long after the three documents are done
			cancel()
		}()
		start := time.Now()
		recs, st, err := genRun(t, ctx, cfg, src)
		var ie *InterruptedError
		require.ErrorAs(t, err, &ie)
		assert.Equal(t, "generate", ie.Stage)
		assert.Len(t, recs, 3)
		assert.Equal(t, GenerateStats{Done: 3, NotStartedAtLeast: true}, st)
		assert.Equal(t, time.Minute+drainBudget, time.Since(start), "Ctrl-C waits only for the count's budget")
	})
}

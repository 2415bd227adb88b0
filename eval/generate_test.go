package eval

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

func TestGenerateWritesEveryDocumentOnce(t *testing.T) {
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		time.Sleep(5 * time.Millisecond) // let requests overlap
		genOK(w, q)
	})
	cfg := genConfig(srv)
	cfg.APIKey = "sk-test-secret-123"
	cfg.Endpoint = strings.Replace(srv.base(), "http://", "http://user:pw@", 1)
	cfg.Annotate = func(doc dataset.Document, rec *results.Record) {
		rec.Injected = []results.Injection{{Kind: "number", Original: doc.ID, Replaced: "x"}}
	}
	const n = 30
	var out bytes.Buffer
	st, err := Generate(context.Background(), &genSource{n: n}, results.NewWriter(&out).Write, cfg)
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: n}, st)

	recs := genByDoc(t, genParse(t, out.Bytes()))
	require.Len(t, recs, n)
	for i := range n {
		doc := genDoc(i)
		rec := recs[doc.ID]
		require.NotNil(t, rec, doc.ID)
		assert.Nil(t, rec.Error)
		assert.Equal(t, genSummary(doc.ID), rec.Summary)
		assert.Empty(t, rec.Raw)
		assert.Equal(t, doc.Text, rec.Source)
		assert.Equal(t, "gen", rec.Dataset)
		assert.Equal(t, "test-model", rec.Model)
		assert.Equal(t, srv.base(), rec.Endpoint, "no credentials in the endpoint")
		assert.Equal(t, "stop", rec.FinishReason)
		assert.Equal(t, 1, rec.Attempts)
		assert.Equal(t, &results.Usage{PromptTokens: 100, CompletionTokens: 10}, rec.Usage)
		assert.Positive(t, rec.LatencyMS)
		assert.False(t, rec.StartedAt.IsZero())
		assert.False(t, rec.EndedAt.Before(rec.StartedAt))
		assert.Len(t, rec.PromptHash, 16)
		assert.Equal(t, doc.ID, rec.Injected[0].Original, "Annotate ran before writing")
	}
	assert.NotContains(t, out.String(), "sk-test-secret-123")
	assert.NotContains(t, out.String(), "pw@")

	for _, q := range srv.requests() {
		assert.Regexp(t, `"temperature":0[,}]`, string(q.raw), "temperature 0 must be on the wire")
		assert.NotContains(t, q.body, "seed")
		assert.NotContains(t, q.body, "max_tokens")
		assert.Equal(t, "Bearer sk-test-secret-123", q.header.Get("Authorization"))
		msgs := q.body["messages"].([]any)
		require.Len(t, msgs, 1, "one user message, no system message")
		m := msgs[0].(map[string]any)
		assert.Equal(t, "user", m["role"])
		assert.Equal(t, strings.ReplaceAll(DefaultPrompt, "{article}", genDoc(0).Text),
			strings.ReplaceAll(m["content"].(string), "[["+q.doc+"]]", "[[doc-0]]"))
	}
	assert.LessOrEqual(t, srv.maxInflight.Load(), int64(cfg.Concurrency))
}

func TestGenerateSendsOptions(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	seed := 0
	cfg.Seed = &seed
	cfg.Temperature = 0.7
	cfg.MaxTokens = 256
	cfg.Prompt = "Summarize:\n{article}"
	_, _, err := genRun(t, context.Background(), cfg, &genSource{n: 1})
	require.NoError(t, err)
	q := srv.requests()[0]
	assert.Regexp(t, `"temperature":0.7[,}]`, string(q.raw))
	assert.Regexp(t, `"seed":0[,}]`, string(q.raw))
	assert.EqualValues(t, 256, q.body["max_tokens"])
	assert.Equal(t, "Summarize:\n"+genDoc(0).Text, q.body["messages"].([]any)[0].(map[string]any)["content"])
}

func TestGenerateConcurrencyBound(t *testing.T) {
	for _, c := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(c), func(t *testing.T) {
			// Every request waits until c are in flight at once: only c
			// workers sending together get past it (the lower bound), and
			// the server sees if one more comes (the upper bound).
			var (
				mu      sync.Mutex
				waiting int
				release = make(chan struct{})
			)
			srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
				mu.Lock()
				if waiting++; waiting == c {
					close(release)
				}
				mu.Unlock()
				select {
				case <-release:
					genOK(w, q)
				case <-r.Context().Done():
				}
			})
			cfg := genConfig(srv)
			cfg.Concurrency = c
			cfg.Timeout = time.Minute
			cfg.Grace = time.Millisecond
			// Only a safety net, so that a serial generator fails instead of
			// hanging: the assertion is that every document succeeds.
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			recs, st, err := genRun(t, ctx, cfg, &genSource{n: 4 * c})
			require.NoError(t, err, "fewer than %d requests were ever in flight together", c)
			assert.Equal(t, GenerateStats{Done: 4 * c}, st)
			assert.Len(t, genByDoc(t, recs), 4*c)
			assert.Equal(t, int64(c), srv.maxInflight.Load())
		})
	}
}

func TestRetryAfterIsHonoured(t *testing.T) {
	cases := []struct {
		name string
		set  func(h http.Header, now time.Time) time.Time // returns the earliest allowed retry
	}{
		{"seconds", func(h http.Header, now time.Time) time.Time {
			h.Set("Retry-After", "1")
			return now.Add(time.Second)
		}},
		{"http-date", func(h http.Header, now time.Time) time.Time {
			at := now.Add(2 * time.Second).Truncate(time.Second)
			h.Set("Retry-After", at.UTC().Format(http.TimeFormat))
			return at
		}},
		{"retry-after-ms", func(h http.Header, now time.Time) time.Time {
			h.Set("retry-after-ms", "400")
			h.Set("Retry-After", "0") // the precise header wins
			return now.Add(400 * time.Millisecond)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var earliest time.Time
				srv := newMemGenServer(func(w http.ResponseWriter, r *http.Request, q genReq) {
					if q.attempt == 1 {
						earliest = tc.set(w.Header(), q.at)
						genError(w, http.StatusTooManyRequests, "slow down")
						return
					}
					genOK(w, q)
				})
				cfg := genConfig(srv)
				cfg.BackoffBase, cfg.BackoffMax = time.Hour, time.Hour // only the header can explain a shorter wait
				recs, _, err := genRun(t, context.Background(), cfg, &genSource{n: 1})
				require.NoError(t, err)
				require.Len(t, recs, 1)
				assert.Equal(t, 2, recs[0].Attempts)
				assert.Equal(t, genSummary("doc-0"), recs[0].Summary)
				reqs := srv.requests()
				require.Len(t, reqs, 2)
				// In the bubble nothing but the wait moves the clock.
				assert.Equal(t, earliest, reqs[1].at, "retried %v after the first request, the server asked for %v",
					reqs[1].at.Sub(reqs[0].at), earliest.Sub(reqs[0].at))
			})
		})
	}
}

func TestRateLimitExhaustsRetries(t *testing.T) {
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		genError(w, http.StatusTooManyRequests, "quota")
	})
	cfg := genConfig(srv)
	cfg.MaxRetries = 2
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 2})
	var fe *FatalError
	require.ErrorAs(t, err, &fe, "a run without one success is an error")
	assert.ErrorIs(t, err, ErrNoneSucceeded)
	assert.Equal(t, "no document succeeded: 2 failed, the last with rate_limit: HTTP 429: quota", err.Error())
	assert.Equal(t, GenerateStats{Failed: 2}, st)
	assert.Equal(t, st, fe.Stats)
	require.Len(t, recs, 2, "failed documents are still written")
	for _, r := range recs {
		require.NotNil(t, r.Error)
		assert.Equal(t, errclass.RateLimit, r.Error.Class)
		assert.Contains(t, r.Error.Message, "429")
		assert.Equal(t, 3, r.Attempts)
		assert.Empty(t, r.Summary)
		assert.Equal(t, 3, srv.attempts(r.DocID))
	}
}

func TestTransientFailuresAreRetried(t *testing.T) {
	cases := []struct {
		name  string
		fail  func(w http.ResponseWriter, r *http.Request)
		class string
	}{
		{"500 json", func(w http.ResponseWriter, r *http.Request) { genError(w, 500, "overloaded") }, errclass.Server},
		{"502 html", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte("<html>bad gateway</html>"))
		}, errclass.Server},
		{"hang past timeout", func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, errclass.Timeout},
		{"malformed json", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"choices": [ nonsense`))
		}, errclass.Protocol},
		{"no choices", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"id":"x","choices":[]}`))
		}, errclass.Protocol},
		{"connection reset", func(w http.ResponseWriter, r *http.Request) {
			c, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				c.Close()
			}
		}, errclass.Connection},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// doc-0 fails twice then succeeds; doc-1 always fails.
			handle := func(w http.ResponseWriter, r *http.Request, q genReq) {
				if q.doc == "doc-1" || q.attempt <= 2 {
					tc.fail(w, r)
					return
				}
				genOK(w, q)
			}
			if tc.class == errclass.Connection { // needs a socket to reset
				checkTransient(t, newGenServer(t, handle), tc.class)
				return
			}
			// In a bubble, the timeout case waits out fake time only.
			synctest.Test(t, func(t *testing.T) { checkTransient(t, newMemGenServer(handle), tc.class) })
		})
	}
}

func checkTransient(t *testing.T, srv *genServer, class string) {
	cfg := genConfig(srv)
	cfg.Timeout = 500 * time.Millisecond
	cfg.MaxRetries = 3
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 2})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: 1, Failed: 1}, st)
	m := genByDoc(t, recs)
	require.Len(t, m, 2)
	assert.Nil(t, m["doc-0"].Error)
	assert.Equal(t, genSummary("doc-0"), m["doc-0"].Summary)
	if class == errclass.Connection {
		// net/http may resend within one attempt (see below).
		assert.GreaterOrEqual(t, m["doc-0"].Attempts, 2)
		assert.LessOrEqual(t, m["doc-0"].Attempts, 3)
	} else {
		assert.Equal(t, 3, m["doc-0"].Attempts)
	}
	require.NotNil(t, m["doc-1"].Error)
	assert.Equal(t, class, m["doc-1"].Error.Class, m["doc-1"].Error.Message)
	assert.Equal(t, 4, m["doc-1"].Attempts)
	if class != errclass.Connection {
		assert.Equal(t, 4, srv.attempts("doc-1"))
		return
	}
	// net/http resends a request that met a dead reused connection once,
	// on a new one; that is not an attempt of ours.
	assert.GreaterOrEqual(t, srv.attempts("doc-1"), 4)
	assert.LessOrEqual(t, srv.attempts("doc-1"), 8)
}

func TestPermanentFailuresAreNotRetried(t *testing.T) {
	cases := []struct {
		code  int
		msg   string
		class string
	}{
		{400, "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens.", errclass.BadRequest},
		{401, "Incorrect API key provided", errclass.Auth},
		{403, "forbidden", errclass.Auth},
		{404, `model "nope" not found, try pulling it first`, errclass.NotFound},
		{422, "unprocessable", errclass.BadRequest},
	}
	for _, tc := range cases {
		t.Run(fmt.Sprint(tc.code), func(t *testing.T) {
			srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
				if q.doc == "doc-1" {
					genError(w, tc.code, tc.msg)
					return
				}
				genOK(w, q)
			})
			recs, st, err := genRun(t, context.Background(), genConfig(srv), &genSource{n: 3})
			require.NoError(t, err)
			assert.Equal(t, GenerateStats{Done: 2, Failed: 1}, st)
			m := genByDoc(t, recs)
			require.Len(t, m, 3)
			rec := m["doc-1"]
			require.NotNil(t, rec.Error)
			assert.Equal(t, tc.class, rec.Error.Class)
			assert.Contains(t, rec.Error.Message, tc.msg)
			assert.Equal(t, 1, rec.Attempts)
			assert.Equal(t, 1, srv.attempts("doc-1"))
		})
	}
}

func TestStreaming(t *testing.T) {
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		switch {
		case q.doc == "doc-1": // always cut: no finish reason, no [DONE]
			genStream(w, []string{"Summary of ", "doc"}, false, false)
		case q.doc == "doc-2" && q.attempt == 1: // cut once
			genStream(w, []string{"Summ"}, false, false)
		case q.doc == "doc-3":
			genStream(w, []string{"<think>The user wants", " a summary.</think>\n\n", "Short."}, true, true)
		default:
			genOK(w, q)
		}
	})
	cfg := genConfig(srv)
	cfg.Stream = true
	cfg.MaxRetries = 2
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 4})
	require.NoError(t, err)
	assert.Equal(t, GenerateStats{Done: 3, Failed: 1}, st)
	m := genByDoc(t, recs)

	ok := m["doc-0"]
	assert.Equal(t, genSummary("doc-0"), ok.Summary)
	assert.Equal(t, "stop", ok.FinishReason)
	assert.Positive(t, ok.TTFTMS)
	assert.LessOrEqual(t, ok.TTFTMS, ok.LatencyMS)
	assert.Equal(t, &results.Usage{PromptTokens: 100, CompletionTokens: 3}, ok.Usage)

	cut := m["doc-1"]
	require.NotNil(t, cut.Error, "a cut stream is an error, not a short summary")
	assert.Equal(t, errclass.Protocol, cut.Error.Class)
	assert.Empty(t, cut.Summary)
	assert.Equal(t, 3, cut.Attempts)

	assert.Equal(t, genSummary("doc-2"), m["doc-2"].Summary)
	assert.Equal(t, 2, m["doc-2"].Attempts)

	assert.Equal(t, "Short.", m["doc-3"].Summary)
	assert.Equal(t, "<think>The user wants a summary.</think>\n\nShort.", m["doc-3"].Raw)

	for _, q := range srv.requests() {
		assert.Equal(t, true, q.body["stream"])
		assert.Equal(t, map[string]any{"include_usage": true}, q.body["stream_options"])
		assert.Regexp(t, `"temperature":0[,}]`, string(q.raw))
	}
}

func TestThinkStripping(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  A summary.\n", "A summary."},
		{"<think>hmm</think>A summary.", "A summary."},
		{"<think>\nlong\nreasoning\n</think>\n\nA summary.", "A summary."},
		{"<think>a</think>One. <think>b</think>Two.", "One. Two."},
		{"  <think>reasoning cut off by max tokens", ""},
		{"reasoning whose opening tag was in the template</think>A summary.", "A summary."},
		{"A summary that mentions <think> in passing.", "A summary that mentions <think> in passing."},
		{"", ""},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, stripThink(c.in), "%q", c.in)
	}

	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		genReply(w, "<think>plan</think>\n Summary. ", "stop")
	})
	recs, _, err := genRun(t, context.Background(), genConfig(srv), &genSource{n: 1})
	require.NoError(t, err)
	assert.Equal(t, "Summary.", recs[0].Summary)
	assert.Equal(t, "<think>plan</think>\n Summary. ", recs[0].Raw)
}

func TestRequestsPerMinuteSpacesRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		srv := newMemGenServer(nil)
		cfg := genConfig(srv)
		cfg.Concurrency = 4
		cfg.RequestsPerMinute = 1200 // one every 50 ms
		const n = 6
		start := time.Now()
		recs, _, err := genRun(t, context.Background(), cfg, &genSource{n: n})
		require.NoError(t, err)
		require.Len(t, recs, n)
		reqs := srv.requests()
		require.Len(t, reqs, n)
		// Without the limit four workers would send four at once.
		for i, q := range reqs {
			assert.Equal(t, time.Duration(i)*50*time.Millisecond, q.at.Sub(start), "request %d", i)
		}
	})
}

func TestConfigErrors(t *testing.T) {
	base := GenerateConfig{Endpoint: "http://127.0.0.1:1/v1", Model: "m"}
	for name, mut := range map[string]func(*GenerateConfig){
		"no placeholder": func(c *GenerateConfig) { c.Prompt = "Summarize the passage." },
		"no model":       func(c *GenerateConfig) { c.Model = "" },
		"no endpoint":    func(c *GenerateConfig) { c.Endpoint = "" },
		"bad endpoint":   func(c *GenerateConfig) { c.Endpoint = "localhost:11434" },
		"bad temp":       func(c *GenerateConfig) { c.Temperature = -1 },
	} {
		c := base
		mut(&c)
		_, err := NewGenerator(c)
		assert.Error(t, err, name)
	}
	_, err := NewGenerator(GenerateConfig{Endpoint: "http://u:secret@127.0.0.1:1/v1?key=secret", Model: "m", Prompt: "x"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "{article}")
	g, err := NewGenerator(base)
	require.NoError(t, err)
	g2, err := NewGenerator(GenerateConfig{Endpoint: "http://127.0.0.1:1/v1", Model: "m", Prompt: DefaultPrompt})
	require.NoError(t, err)
	assert.Equal(t, g.PromptHash(), g2.PromptHash(), "empty prompt means DefaultPrompt")
	assert.True(t, strings.HasPrefix(DefaultPrompt, "\nYour task is"))
	assert.True(t, strings.HasSuffix(DefaultPrompt, "Here is the passage:\n{article}\n"))
}

func TestCancelKeepsFinishedWorkAndResumes(t *testing.T) {
	var answered atomic.Int64
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		time.Sleep(30 * time.Millisecond)
		genOK(w, q)
		answered.Add(1)
	})
	path := filepath.Join(t.TempDir(), "out.jsonl")
	const n = 40

	done, w := genResume(t, path)
	cfg := genConfig(srv)
	cfg.Concurrency = 3
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for answered.Load() < 5 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	cfg.Done = done
	st, err := Generate(ctx, &genSource{n: n}, w.Write, cfg)
	require.NoError(t, w.Close())
	var ie *InterruptedError
	require.ErrorAs(t, err, &ie)
	assert.Contains(t, err.Error(), "rerun the same command to resume")
	assert.Equal(t, st, ie.Stats)
	assert.Equal(t, n, st.Done+st.Failed+st.NotStarted, "%+v", st)
	assert.False(t, st.NotStartedAtLeast)
	assert.Positive(t, st.NotStarted)

	b, err := os.ReadFile(path)
	require.NoError(t, err)
	first := genByDoc(t, genParse(t, b))
	assert.Len(t, first, st.Done, "requests in flight at cancel finished and were written")
	for _, r := range first {
		assert.Nil(t, r.Error, "nothing is written as canceled")
	}

	done, w = genResume(t, path)
	assert.Len(t, done, st.Done)
	cfg.Done = done
	st2, err := Generate(context.Background(), &genSource{n: n}, w.Write, cfg)
	require.NoError(t, err)
	require.NoError(t, w.Close())
	assert.Equal(t, st.Done, st2.Skipped)
	assert.Equal(t, n-st.Done, st2.Done)

	b, err = os.ReadFile(path)
	require.NoError(t, err)
	all := genByDoc(t, genParse(t, b))
	require.Len(t, all, n)
	for i := range n {
		id := genDoc(i).ID
		assert.Equal(t, genSummary(id), all[id].Summary)
	}
}

func TestCancelAfterGraceDropsRequestsInFlight(t *testing.T) {
	started := make(chan struct{}, 10)
	srv := newGenServer(t, func(w http.ResponseWriter, r *http.Request, q genReq) {
		started <- struct{}{}
		<-r.Context().Done() // never answers
	})
	cfg := genConfig(srv)
	cfg.Concurrency = 2
	cfg.Grace = 20 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		<-started
		cancel()
	}()
	recs, st, err := genRun(t, ctx, cfg, &genSource{n: 10})
	var ie *InterruptedError
	require.ErrorAs(t, err, &ie)
	assert.Empty(t, recs, "cut requests are not written, so resume redoes them")
	assert.Equal(t, GenerateStats{NotStarted: 10}, st)
}

func TestDatasetErrors(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	cfg.Concurrency = 1

	// A final read error stops the run after writing what was read.
	recs, st, err := genRun(t, context.Background(), cfg, &genSource{n: 3, err: errors.New("dataset x.jsonl: read: disk on fire")})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "disk on fire")
	assert.Len(t, recs, 3)
	assert.Equal(t, 3, st.Done)

	// A bad record stops the run by default...
	_, _, err = genRun(t, context.Background(), cfg, &genSource{n: 5, bad: map[int]bool{2: true}})
	var re *dataset.RecordError
	require.ErrorAs(t, err, &re)
	assert.Contains(t, err.Error(), "gen.jsonl line 3")

	// ...or is skipped when OnBadRecord says so.
	var seen []string
	cfg.OnBadRecord = func(e *dataset.RecordError) error { seen = append(seen, e.Error()); return nil }
	recs, st, err = genRun(t, context.Background(), cfg, &genSource{n: 5, bad: map[int]bool{2: true}})
	require.NoError(t, err)
	assert.Len(t, recs, 4)
	assert.Equal(t, 1, st.Rejected)
	assert.Equal(t, []string{"dataset gen.jsonl line 3: empty text"}, seen)
}

type failingWriter struct{ after int }

func (f *failingWriter) Write(b []byte) (int, error) {
	if f.after == 0 {
		return 0, errors.New("no space left on device")
	}
	f.after--
	return len(b), nil
}

func TestWriteFailureStopsTheRun(t *testing.T) {
	srv := newGenServer(t, nil)
	cfg := genConfig(srv)
	cfg.Concurrency = 2
	st, err := Generate(context.Background(), &genSource{n: 100}, results.NewWriter(&failingWriter{after: 3}).Write, cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no space left on device")
	assert.Equal(t, 3, st.Done)
	assert.Less(t, len(srv.requests()), 100, "no new documents after the failure")
}

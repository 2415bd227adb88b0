package serve_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
	"github.com/hallu-eval/hallu/serve"
)

// TestLoad200Clients: 200 concurrent clients, 3 requests each, against a
// queue far smaller than the load. Every answer is 200 with the exact
// offline score of its pair(s), or 429 with a usable Retry-After; nothing
// else, and nothing lost.
func TestLoad200Clients(t *testing.T) {
	if testing.Short() {
		t.Skip("load test")
	}
	cases := map[string]func(t *testing.T) scorers.Scorer{
		"hash": func(*testing.T) scorers.Scorer { return &hashScorer{work: 200} },
		"hhem": func(t *testing.T) scorers.Scorer { return tinyHHEM(t) },
	}
	for name, open := range cases {
		t.Run(name, func(t *testing.T) {
			sc := open(t)
			const clients, perClient = 200, 3
			pairs := testPairs(clients * perClient * 2)
			want := offline(t, sc, pairs)
			s, err := serve.New(serve.Config{MaxQueue: 24, MaxBatch: 8})
			require.NoError(t, err)
			s.SetScorer(sc)
			url, stop := listen(t, s)

			var ok, throttled atomic.Int64
			var wg sync.WaitGroup
			for c := range clients {
				wg.Go(func() {
					client := &http.Client{Transport: &http.Transport{}}
					defer client.CloseIdleConnections()
					for r := range perClient {
						i := (c*perClient + r) * 2
						// Even clients ask one pair at a time, Vectara's way;
						// odd ones two pairs through the batch endpoint.
						var resp *http.Response
						var raw []byte
						if c%2 == 0 {
							resp, raw = post(t, client, url+"/v2/evaluate_factual_consistency", evalBody(pairs[i].Summary, pairs[i].Source))
						} else {
							resp, raw = post(t, client, url+"/v1/score", serve.ScoreRequest{Pairs: []serve.ScorePair{
								{ID: pairs[i].ID, Source: pairs[i].Source, Summary: pairs[i].Summary},
								{ID: pairs[i+1].ID, Source: pairs[i+1].Source, Summary: pairs[i+1].Summary},
							}})
						}
						switch resp.StatusCode {
						case http.StatusOK:
							ok.Add(1)
							if c%2 == 0 {
								var got serve.EvaluateResponse
								require.NoError(t, json.Unmarshal(raw, &got))
								assert.Equal(t, want[i], got.Score, "pair %d", i)
								continue
							}
							var got serve.ScoreResponse
							require.NoError(t, json.Unmarshal(raw, &got))
							require.Len(t, got.Results, 2)
							for k, res := range got.Results {
								assert.Equal(t, pairs[i+k].ID, res.ID)
								if assert.NotNil(t, res.Score, res.Error) {
									assert.Equal(t, want[i+k], *res.Score, "pair %d", i+k)
								}
							}
						case http.StatusTooManyRequests:
							throttled.Add(1)
							after, err := strconv.Atoi(resp.Header.Get("Retry-After"))
							assert.NoError(t, err, "429 without a Retry-After in seconds")
							assert.GreaterOrEqual(t, after, 1)
						default:
							t.Errorf("HTTP %d: %s", resp.StatusCode, raw)
						}
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int64(clients*perClient), ok.Load()+throttled.Load(), "every request was answered")
			assert.Positive(t, ok.Load())
			_, body := get(t, url+"/metrics")
			m := parseMetrics(t, body)
			t.Logf("%s: %d requests answered 200, %d answered 429; %g pairs in %g batches (mean %.1f)", name, ok.Load(), throttled.Load(),
				m["hallu_serve_batch_size_sum"], m["hallu_serve_batch_size_count"], m["hallu_serve_batch_size_sum"]/m["hallu_serve_batch_size_count"])
			assert.Equal(t, float64(throttled.Load()), m[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="429"}`]+m[`hallu_serve_requests_total{endpoint="score",code="429"}`])
			require.NoError(t, stop())
		})
	}
}

// TestClientsThatHangUpLeakNothing: clients that disconnect while their
// pairs are queued or being scored leave no goroutine behind, their queued
// pairs are dropped, and the server goes on answering.
func TestClientsThatHangUpLeakNothing(t *testing.T) {
	hs := &hashScorer{gate: make(chan struct{})}
	s, err := serve.New(serve.Config{MaxBatch: 4, MaxQueue: 100})
	require.NoError(t, err)
	s.SetScorer(hs)
	url, stop := listen(t, s)
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	// Warm up: the server's own goroutines are running before the count.
	go func() { hs.gate <- struct{}{} }()
	resp, _ := post(t, client, url+"/v2/evaluate_factual_consistency", evalBody("warm", "up"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	tr.CloseIdleConnections()
	closeIdle := func() {
		tr.CloseIdleConnections()
		http.DefaultTransport.(*http.Transport).CloseIdleConnections() // get's
	}
	closeIdle()
	before := runtime.NumGoroutine()

	const n = 20
	ctx, hangUp := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url+"/v2/evaluate_factual_consistency",
				strings.NewReader(fmt.Sprintf(`{"generated_text": "gone %d", "source_texts": ["s"]}`, i)))
			_, err := client.Do(req)
			assert.ErrorIs(t, err, context.Canceled)
		})
	}
	// One batch is at the gate, the other pairs wait in the queue.
	require.Eventually(t, func() bool { return hs.calls.Load() == 2 && int(hs.pairs.Load()-1)+queued(t, url) == n }, testWait, pollEvery)
	hangUp()
	wg.Wait()
	// The server has seen every client go before the batch in progress
	// finishes (for nobody).
	require.Eventually(t, func() bool {
		_, body := get(t, url+"/metrics")
		return parseMetrics(t, body)[`hallu_serve_requests_total{endpoint="evaluate_factual_consistency",code="499"}`] == n
	}, testWait, pollEvery)
	close(hs.gate)
	tr.CloseIdleConnections()
	require.Eventually(t, func() bool { return queued(t, url) == 0 }, testWait, pollEvery, "the departed clients' pairs were dropped")
	require.Eventually(t, func() bool {
		closeIdle()
		return runtime.NumGoroutine() <= before
	}, testWait, pollEvery, "goroutines: %d before, %d after", before, runtime.NumGoroutine())
	assert.Equal(t, int64(2), hs.calls.Load(), "no batch was scored for the clients that left")

	resp, raw := post(t, client, url+"/v2/evaluate_factual_consistency", evalBody("still here", "s"))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var got serve.EvaluateResponse
	require.NoError(t, json.Unmarshal(raw, &got))
	assert.Equal(t, hashScore(scorers.Pair{Source: "s", Summary: "still here"}), got.Score)
	tr.CloseIdleConnections()
	require.NoError(t, stop())
}

// TestSlowClientsHitTheReadTimeout: a client that sends its body a byte at
// a time (slowloris), or never finishes its headers, is cut off by the read
// timeout, and the server goes on answering others meanwhile.
func TestSlowClientsHitTheReadTimeout(t *testing.T) {
	s, err := serve.New(serve.Config{ReadTimeout: 200 * time.Millisecond})
	require.NoError(t, err)
	s.SetScorer(&hashScorer{})
	url, stop := listen(t, s)
	addr := strings.TrimPrefix(url, "http://")

	t.Run("body", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		const bodyLen = 2000 // at one byte per 5 ms, ten seconds: far past the timeout
		_, err = fmt.Fprintf(conn, "POST /v2/evaluate_factual_consistency HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n{", bodyLen)
		require.NoError(t, err)
		sent := make(chan int, 1)
		go func() {
			n := 1
			for ; n < bodyLen; n++ {
				if _, err := conn.Write([]byte(" ")); err != nil {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			sent <- n
		}()
		status, err := bufio.NewReader(conn).ReadString('\n')
		if err == nil {
			assert.Contains(t, status, "408", "the server answers Request Timeout")
		} else {
			assert.True(t, errors.Is(err, io.EOF) || isReset(err), "the server closes the connection: %v", err)
		}
		conn.Close()
		assert.Less(t, <-sent, bodyLen, "the body was cut off before it was complete")

		// Others are answered meanwhile and after.
		resp, _ := post(t, http.DefaultClient, url+"/v2/evaluate_factual_consistency", evalBody("x", "y"))
		assert.Equal(t, http.StatusOK, resp.StatusCode)
	})
	t.Run("headers", func(t *testing.T) {
		conn, err := net.Dial("tcp", addr)
		require.NoError(t, err)
		defer conn.Close()
		_, err = fmt.Fprint(conn, "POST /v2/evaluate_factual_consistency HTTP/1.1\r\nHost: x\r\n")
		require.NoError(t, err)
		// The headers never end; the server must not wait for them forever.
		_, err = io.ReadAll(conn)
		assert.True(t, err == nil || isReset(err), "the server closed the connection: %v", err)
	})
	require.NoError(t, stop())
}

func isReset(err error) bool {
	var ne *net.OpError
	return errors.As(err, &ne)
}

package eval

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// transport fixes what go-openai cannot express and captures what it does
// not pass on:
//   - ChatCompletionRequest.Temperature is `omitempty`, so temperature 0 (the
//     leaderboard's setting) would never reach the server, which then
//     samples at its own default (often 0.7-1.0). The body is rewritten to
//     carry the temperature, and the seed, explicitly.
//   - go-openai's errors carry no response headers, so Retry-After would be
//     lost; the status and headers are stored in the respInfo that the
//     request's context carries.
type transport struct {
	base   http.RoundTripper
	forced map[string]json.RawMessage
}

func newTransport(base http.RoundTripper, temperature float32, seed *int) *transport {
	forced := map[string]json.RawMessage{
		"temperature": json.RawMessage(strconv.FormatFloat(float64(temperature), 'g', -1, 32)),
	}
	if seed != nil {
		forced["seed"] = json.RawMessage(strconv.Itoa(*seed))
	}
	return &transport{base: base, forced: forced}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil && strings.HasSuffix(req.URL.Path, "/chat/completions") {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		if body, err = t.rewrite(body); err != nil {
			return nil, err
		}
		// A RoundTripper must not modify the caller's request.
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
	}
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		if info, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok {
			info.set(resp.StatusCode, resp.Header)
		}
	}
	return resp, err
}

func (t *transport) rewrite(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("chat request body is not a JSON object: %w", err)
	}
	for k, v := range t.forced {
		m[k] = v
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, fmt.Errorf("encoding chat request: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// respInfo is what the transport saw of an attempt's HTTP response.
type respInfo struct {
	mu     sync.Mutex
	status int
	header http.Header
}

type respInfoKey struct{}

func withRespInfo(ctx context.Context, info *respInfo) context.Context {
	return context.WithValue(ctx, respInfoKey{}, info)
}

func (r *respInfo) set(status int, h http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status, r.header = status, h
}

func (r *respInfo) get() (int, http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.status, r.header
}

package httpretry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// ChatTransport fixes what go-openai cannot express and captures what it
// does not pass on:
//   - ChatCompletionRequest fields such as Temperature are `omitempty`, so
//     temperature 0 would never reach the server, which then samples at its
//     own default. Forced fields are written into every chat-completion
//     body explicitly.
//   - go-openai's errors carry no response headers; every response is
//     passed to CaptureResponse, so Retry-After survives.
type ChatTransport struct {
	Base   http.RoundTripper
	Forced map[string]json.RawMessage
}

// RoundTrip implements http.RoundTripper.
func (t *ChatTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if len(t.Forced) > 0 && req.Method == http.MethodPost && req.Body != nil && strings.HasSuffix(req.URL.Path, "/chat/completions") {
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
	resp, err := t.Base.RoundTrip(req)
	CaptureResponse(req, resp)
	return resp, err
}

func (t *ChatTransport) rewrite(body []byte) ([]byte, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("chat request body is not a JSON object: %w", err)
	}
	for k, v := range t.Forced {
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

// PooledTransport is a copy of http.DefaultTransport that keeps enough idle
// connections for conns workers; with the default of two, all but two
// workers' connections are closed after each request and re-dialled.
func PooledTransport(conns int) *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns + 4
	t.MaxIdleConns = conns + 4
	return t
}

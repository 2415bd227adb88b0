package httpretry

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// ChatTransport fixes what go-openai cannot express and captures what it
// does not pass on:
//   - ChatCompletionRequest fields such as Temperature are `omitempty`, so
//     temperature 0 would never reach the server, which then samples at its
//     own default. Forced fields (and a caller's extra body fields) are
//     written into every chat-completion body explicitly.
//   - go-openai's errors carry no response headers; every response is
//     passed to CaptureResponse, so Retry-After survives.
//   - go-openai drops or misreads error events inside a stream; a
//     streaming body is watched for them and the first is stored in the
//     attempt's RespInfo (see StreamErr).
//   - Chat requests are replayable, so net/http itself resends one that
//     met a reused connection the server had just closed; an error before
//     any reply that remains is wrapped in *TransportError, so that a
//     reset, whatever net/http calls it ("server closed idle
//     connection"), is retried by the caller's Policy.
type ChatTransport struct {
	Base   http.RoundTripper
	Forced map[string]json.RawMessage
}

// RoundTrip implements http.RoundTripper.
func (t *ChatTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost && req.Body != nil && strings.HasSuffix(req.URL.Path, "/chat/completions") {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading request body: %w", err)
		}
		if len(t.Forced) > 0 {
			if body, err = t.rewrite(body); err != nil {
				return nil, err
			}
		}
		// A RoundTripper must not modify the caller's request.
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(body))
		req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
		req.ContentLength = int64(len(body))
		// A nil value marks the request replayable without sending the
		// header (see net/http.Transport): when a reused keep-alive
		// connection turns out dead before any reply (a server that
		// closes after every reply), net/http resends on another
		// connection instead of failing. Resending a chat request costs
		// at most a duplicate answer, never a wrong one.
		req.Header["Idempotency-Key"] = nil
	}
	resp, err := t.Base.RoundTrip(req)
	if err != nil {
		return nil, &TransportError{Err: err}
	}
	CaptureResponse(req, resp)
	if info := respInfoOf(req.Context()); info != nil && resp.StatusCode == http.StatusOK && isEventStream(resp.Header) {
		resp.Body = &sseWatch{ReadCloser: resp.Body, info: info}
	}
	return resp, nil
}

// CloseIdleConnections closes the base transport's idle connections, so
// that a server shutting down does not wait for them.
func (t *ChatTransport) CloseIdleConnections() {
	if c, ok := t.Base.(interface{ CloseIdleConnections() }); ok {
		c.CloseIdleConnections()
	}
}

// Rewrite is a chat request body as RoundTrip sends it: the forced fields
// merged in.
func (t *ChatTransport) Rewrite(body []byte) ([]byte, error) { return t.rewrite(body) }

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

func isEventStream(h http.Header) bool {
	mt, _, _ := mime.ParseMediaType(h.Get("Content-Type"))
	return mt == "text/event-stream"
}

// maxWatchedLine bounds the bytes of one stream line kept for inspection;
// error events are short, and longer lines are content.
const maxWatchedLine = 64 << 10

// sseWatch passes a server-sent-event body through unchanged and records
// the first error event in it: `data: {"error":{...}}` (vLLM, newer
// llama.cpp), `error: {...}` (older llama.cpp) or `event: error` followed
// by data.
type sseWatch struct {
	io.ReadCloser
	info  *RespInfo
	line  []byte
	long  bool   // the current line passed maxWatchedLine
	event string // the current event's "event:" field
}

func (w *sseWatch) Read(p []byte) (int, error) {
	n, err := w.ReadCloser.Read(p)
	b := p[:n]
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			w.add(b)
			break
		}
		w.add(b[:i])
		w.endLine()
		b = b[i+1:]
	}
	return n, err
}

func (w *sseWatch) add(b []byte) {
	if len(w.line)+len(b) > maxWatchedLine {
		w.long = true
		return
	}
	w.line = append(w.line, b...)
}

func (w *sseWatch) endLine() {
	line := bytes.TrimSuffix(w.line, []byte("\r"))
	long := w.long
	w.line, w.long = w.line[:0], false
	if long {
		return
	}
	field, value, _ := bytes.Cut(line, []byte(":"))
	value = bytes.TrimSpace(value)
	switch string(field) {
	case "":
		if len(line) == 0 {
			w.event = "" // end of an event
		}
	case "event":
		w.event = string(value)
	case "error":
		w.info.SetStreamErr(parseStreamError(value))
	case "data":
		if w.event == "error" {
			w.info.SetStreamErr(parseStreamError(value))
		} else if bytes.Contains(value, []byte(`"error"`)) {
			// Cheap test first: only a line holding the key is decoded.
			var top map[string]json.RawMessage
			if json.Unmarshal(value, &top) == nil {
				if e, ok := top["error"]; ok && string(e) != "null" {
					w.info.SetStreamErr(parseStreamError(value))
				}
			}
		}
	}
}

// parseStreamError reads an error payload: {"error":{...}}, {"error":"..."}
// or the inner object alone, with a numeric (or numeric string) code.
func parseStreamError(raw []byte) *StreamError {
	obj := raw
	var outer struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &outer) == nil && len(outer.Error) > 0 && string(outer.Error) != "null" {
		obj = outer.Error
	}
	var msg string
	if json.Unmarshal(obj, &msg) == nil {
		return &StreamError{Msg: msg}
	}
	var e struct {
		Code    any    `json:"code"`
		Message string `json:"message"`
		Type    string `json:"type"`
	}
	if json.Unmarshal(obj, &e) != nil {
		return &StreamError{Msg: BodyExcerpt(raw)}
	}
	se := &StreamError{Msg: e.Message}
	switch c := e.Code.(type) {
	case float64:
		se.Status = int(c)
	case string:
		se.Status, _ = strconv.Atoi(c)
	}
	if se.Status < 100 || se.Status > 599 {
		se.Status = 0
	}
	// OpenAI-style errors name the request as the culprit by type
	// (code "context_length_exceeded"): the same request fails again.
	if se.Status == 0 && e.Type == "invalid_request_error" {
		se.Status = http.StatusBadRequest
	}
	if se.Msg == "" {
		se.Msg = BodyExcerpt(raw)
	}
	return se
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

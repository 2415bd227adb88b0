package refmodel

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// PassageMarker is the line of the leaderboard prompt after which the article
// follows.
const PassageMarker = "Here is the passage:"

// Start serves the builtin models on 127.0.0.1 at a free port until stop is
// called or ctx ends. baseURL ends in "/v1", as OpenAI clients expect
// (POST baseURL+"/chat/completions", GET baseURL+"/models").
func Start(ctx context.Context) (baseURL string, stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("builtin models: listen: %w", err)
	}
	srv := &http.Server{Handler: Handler(), ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln) // returns ErrServerClosed on shutdown
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		<-ctx.Done()
		// Shutdown waits for connections that were dialled but never used
		// (a client racing a dial against a connection being freed leaves
		// some), so a long deadline stalls every run's exit. By the time
		// stop is called every request has its answer; a short wait is for
		// replies still being written.
		sctx, scancel := context.WithTimeout(context.Background(), 250*time.Millisecond)
		defer scancel()
		if srv.Shutdown(sctx) != nil {
			srv.Close()
		}
		close(done)
	}()
	stop = func() {
		cancel()
		<-done
	}
	return "http://" + ln.Addr().String() + "/v1", stop, nil
}

// Handler serves the OpenAI-compatible API of the builtin models; Start
// wraps it in a loopback server, tests may use it with httptest.
func Handler() http.Handler {
	s := &server{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat)
	mux.HandleFunc("GET /v1/models", s.models)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "invalid_request_error", "", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

type server struct{ seq atomic.Uint64 }

type chatRequest struct {
	Model         string    `json:"model"`
	Messages      []message `json:"messages"`
	Stream        bool      `json:"stream"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type message struct {
	Role    string          `json:"role"`
	Content json.RawMessage `json:"content"`
}

// text returns a message's content, given as a string or as an array of
// content parts of which the text parts count.
func (m message) text() (string, error) {
	var s string
	if err := json.Unmarshal(m.Content, &s); err == nil {
		return s, nil
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if err := json.Unmarshal(m.Content, &parts); err != nil {
		return "", errors.New("message content is neither a string nor an array of content parts")
	}
	var b strings.Builder
	for _, p := range parts {
		if p.Type == "text" {
			b.WriteString(p.Text)
		}
	}
	return b.String(), nil
}

// Article extracts the article from a user prompt: the text after the
// leaderboard prompt's PassageMarker line, or the whole prompt when it has
// none.
func Article(prompt string) string {
	if i := strings.LastIndex(prompt, PassageMarker); i >= 0 {
		prompt = prompt[i+len(PassageMarker):]
	}
	return strings.TrimSpace(prompt)
}

type usage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

type choice struct {
	Index        int         `json:"index"`
	Message      *outMessage `json:"message,omitempty"`
	Delta        *outMessage `json:"delta,omitempty"`
	FinishReason *string     `json:"finish_reason"`
}

type outMessage struct {
	Role    string `json:"role,omitempty"`
	Content string `json:"content"`
}

type completion struct {
	ID      string   `json:"id"`
	Object  string   `json:"object"`
	Created int64    `json:"created"`
	Model   string   `json:"model"`
	Choices []choice `json:"choices"`
	Usage   *usage   `json:"usage,omitempty"`
}

func (s *server) chat(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<20)).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "", "request body is not valid JSON: "+err.Error())
		return
	}
	var prompt string
	for _, m := range req.Messages {
		if m.Role == "user" {
			t, err := m.text()
			if err != nil {
				writeError(w, http.StatusBadRequest, "invalid_request_error", "messages", err.Error())
				return
			}
			prompt = t // the last user message is the one to answer
		}
	}
	if req.Model == "" {
		writeError(w, http.StatusBadRequest, "invalid_request_error", "model", "model is required")
		return
	}
	summary, _, err := Summarize(req.Model, Article(prompt))
	if err != nil {
		writeError(w, http.StatusNotFound, "invalid_request_error", "model", err.Error())
		return
	}
	// Word counts stand in for token counts: there is no tokenizer here.
	u := &usage{PromptTokens: len(strings.Fields(prompt)), CompletionTokens: len(strings.Fields(summary))}
	u.TotalTokens = u.PromptTokens + u.CompletionTokens
	base := completion{
		ID:      fmt.Sprintf("chatcmpl-builtin-%d", s.seq.Add(1)),
		Created: time.Now().Unix(),
		Model:   req.Model,
	}
	stop := "stop"
	if !req.Stream {
		base.Object = "chat.completion"
		base.Choices = []choice{{Message: &outMessage{Role: "assistant", Content: summary}, FinishReason: &stop}}
		base.Usage = u
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(base)
		return
	}

	base.Object = "chat.completion.chunk"
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	rc := http.NewResponseController(w)
	send := func(c completion) bool {
		b, _ := json.Marshal(c)
		if _, err := fmt.Fprintf(w, "data: %s\n\n", b); err != nil {
			return false
		}
		return rc.Flush() == nil && r.Context().Err() == nil
	}
	chunk := func(ch []choice, u *usage) completion {
		c := base
		c.Choices, c.Usage = ch, u
		return c
	}
	if !send(chunk([]choice{{Delta: &outMessage{Role: "assistant"}}}, nil)) {
		return
	}
	for _, piece := range strings.SplitAfter(summary, " ") {
		if piece != "" && !send(chunk([]choice{{Delta: &outMessage{Content: piece}}}, nil)) {
			return
		}
	}
	// With include_usage, usage comes in a final chunk with no choices, as
	// OpenAI sends it; otherwise it rides on the finishing chunk, as several
	// compatible servers do, so a client that did not ask still gets it.
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	var finishUsage *usage
	if !includeUsage {
		finishUsage = u
	}
	if !send(chunk([]choice{{Delta: &outMessage{}, FinishReason: &stop}}, finishUsage)) {
		return
	}
	if includeUsage && !send(chunk([]choice{}, u)) {
		return
	}
	fmt.Fprint(w, "data: [DONE]\n\n")
	rc.Flush()
}

func (s *server) models(w http.ResponseWriter, r *http.Request) {
	type entry struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
	}
	var data []entry
	for _, m := range Models() {
		data = append(data, entry{ID: m, Object: "model", OwnedBy: "hallu"})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"object": "list", "data": data})
}

// writeError answers in OpenAI's error shape, which client libraries parse
// into a typed error.
func writeError(w http.ResponseWriter, status int, typ, param, msg string) {
	e := map[string]any{"message": msg, "type": typ, "param": nil, "code": nil}
	if param != "" {
		e["param"] = param
	}
	if status == http.StatusNotFound && param == "model" {
		e["code"] = "model_not_found"
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": e})
}

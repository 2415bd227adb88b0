// Package servedtest holds test doubles of local model servers: an Ollama
// (OpenAI API plus /api/tags and /api/show, resolving names as Ollama does)
// and a llama.cpp server (/props). Both answer chat completions with a
// fixed summary and record what they were sent.
package servedtest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// Server is a fake model server.
type Server struct {
	*httptest.Server
	// Models are the served names, as the server lists them.
	Models []string
	// NumCtx (Ollama) is the num_ctx parameter /api/show reports, and
	// NCtx (llama.cpp) the slot context /props reports; 0 = none.
	NumCtx, NCtx int
	// TrainCtx is model_info's "llama.context_length" (Ollama).
	TrainCtx int
	// Slots is /props' total_slots (llama.cpp).
	Slots int
	// RejectField, when set, makes chat requests carrying that JSON field
	// fail with 400, as a server that does not accept it would.
	RejectField string
	// NoModelList answers /v1/models with 404.
	NoModelList bool

	mu       sync.Mutex
	requests []map[string]any
}

// Requests returns the chat request bodies received so far.
func (s *Server) Requests() []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]map[string]any(nil), s.requests...)
}

// served is the listed name Ollama resolves name to.
func (s *Server) served(name string) (string, bool) {
	low := strings.ToLower(name)
	if !strings.Contains(low, ":") {
		low += ":latest"
	}
	for _, m := range s.Models {
		if m == name || strings.ToLower(m) == low {
			return m, true
		}
	}
	return "", false
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

func (s *Server) chat(ollama bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		b, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(b, &body); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.requests = append(s.requests, body)
		s.mu.Unlock()
		if _, ok := body[s.RejectField]; ok && s.RejectField != "" {
			w.WriteHeader(http.StatusBadRequest)
			writeJSON(w, map[string]any{"error": map[string]any{"message": fmt.Sprintf("unsupported parameter %s", s.RejectField), "type": "invalid_request_error"}})
			return
		}
		name, _ := body["model"].(string)
		served := name
		if ollama {
			var ok bool
			if served, ok = s.served(name); !ok {
				w.WriteHeader(http.StatusNotFound)
				writeJSON(w, map[string]any{"error": map[string]any{"message": fmt.Sprintf("model %q not found, try pulling it first", name), "type": "api_error"}})
				return
			}
		}
		// With a context set, the prompt is cut to it, as Ollama and
		// llama.cpp do silently: usage then says the context length.
		prompt := 100
		if ctx := max(s.NumCtx, s.NCtx); ctx > 0 {
			n := 0
			if msgs, ok := body["messages"].([]any); ok {
				for _, m := range msgs {
					if mm, ok := m.(map[string]any); ok {
						c, _ := mm["content"].(string)
						n += len(c) / 4
					}
				}
			}
			prompt = min(n, ctx)
		}
		writeJSON(w, map[string]any{
			"id": "c1", "object": "chat.completion", "model": served,
			"choices": []any{map[string]any{"index": 0, "message": map[string]any{"role": "assistant", "content": "A short summary."}, "finish_reason": "stop"}},
			"usage":   map[string]any{"prompt_tokens": prompt, "completion_tokens": 4, "total_tokens": prompt + 4},
		})
	}
}

func (s *Server) list(w http.ResponseWriter, r *http.Request) {
	if s.NoModelList {
		http.NotFound(w, r)
		return
	}
	var data []any
	for _, m := range s.Models {
		data = append(data, map[string]any{"id": m, "object": "model", "owned_by": "library"})
	}
	writeJSON(w, map[string]any{"object": "list", "data": data})
}

// Ollama starts a fake Ollama serving models (names with their tag, e.g.
// "tiny:latest"), closed with t.
func Ollama(t testing.TB, models ...string) *Server {
	s := &Server{Models: models}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat(true))
	mux.HandleFunc("GET /v1/models", s.list)
	mux.HandleFunc("GET /api/tags", func(w http.ResponseWriter, r *http.Request) {
		var ms []any
		for _, m := range s.Models {
			ms = append(ms, map[string]any{"name": m, "model": m})
		}
		writeJSON(w, map[string]any{"models": ms})
	})
	mux.HandleFunc("POST /api/show", func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Model string `json:"model"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		if _, ok := s.served(req.Model); !ok {
			w.WriteHeader(http.StatusNotFound)
			writeJSON(w, map[string]any{"error": "model not found"})
			return
		}
		params := "temperature 0.7\nstop \"<|im_end|>\""
		if s.NumCtx > 0 {
			params += fmt.Sprintf("\nnum_ctx                        %d", s.NumCtx)
		}
		info := map[string]any{"general.architecture": "llama"}
		if s.TrainCtx > 0 {
			info["llama.context_length"] = s.TrainCtx
		}
		writeJSON(w, map[string]any{"parameters": params, "model_info": info})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// LlamaCpp starts a fake llama.cpp server of one model, closed with t. It
// answers any model name, as llama.cpp does.
func LlamaCpp(t testing.TB, model string, nCtx, slots int) *Server {
	s := &Server{Models: []string{model}, NCtx: nCtx, Slots: slots}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat(false))
	mux.HandleFunc("GET /v1/models", s.list)
	mux.HandleFunc("GET /props", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, map[string]any{
			"default_generation_settings": map[string]any{"n_ctx": s.NCtx},
			"total_slots":                 s.Slots,
			"model_path":                  model,
		})
	})
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// OpenAI starts a fake plain OpenAI-compatible server (no native API),
// closed with t.
func OpenAI(t testing.TB, models ...string) *Server {
	s := &Server{Models: models}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/chat/completions", s.chat(false))
	mux.HandleFunc("GET /v1/models", s.list)
	s.Server = httptest.NewServer(mux)
	t.Cleanup(s.Close)
	return s
}

// Endpoint is the server's OpenAI base URL.
func (s *Server) Endpoint() string { return s.URL + "/v1" }

// Package served asks an OpenAI-compatible server what it serves: the
// model names (/v1/models, Ollama's /api/tags), the context each model runs
// with (Ollama /api/show, llama.cpp /props) and how many requests it runs at
// once (llama.cpp's slots). generate and run use it to refuse an unknown
// model before the first request, to label records with the server's own
// name for the model, and to warn about documents that will not fit.
package served

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/hallu-eval/hallu/internal/httpretry"
)

// Server kinds, as Probe recognises them.
const (
	KindOllama   = "ollama"
	KindLlamaCpp = "llama.cpp"
	KindOpenAI   = "openai" // anything else answering /v1/models
)

// Model is one served model.
type Model struct {
	ID string `json:"id"`
	// Context is the context length, in tokens, the server runs the model
	// with (Ollama: the num_ctx parameter; llama.cpp: the slot's n_ctx);
	// 0 = not told. A prompt longer than this is cut by the server.
	Context int `json:"context,omitempty"`
	// ContextSource says where Context came from.
	ContextSource string `json:"context_source,omitempty"`
	// TrainContext is the longest context the model was built for (Ollama
	// model_info "<arch>.context_length"); Ollama serves less unless told.
	TrainContext int `json:"train_context,omitempty"`
}

// Server is what Probe learnt about an endpoint.
type Server struct {
	Endpoint string  `json:"endpoint"` // without credentials
	Kind     string  `json:"kind"`
	Models   []Model `json:"models"`
	// Listed is false when the endpoint does not list its models
	// (/v1/models absent): no name can then be checked.
	Listed bool `json:"listed"`
	// Slots is how many requests the server runs at once (llama.cpp
	// total_slots); 0 = not told (Ollama's OLLAMA_NUM_PARALLEL is not
	// visible over its API).
	Slots int `json:"slots,omitempty"`
}

// Client probes endpoints.
type Client struct {
	APIKey string       // sent as a bearer token to /v1/models
	HTTP   *http.Client // nil = http.DefaultClient
}

// maxBody bounds what is read from any probe reply.
const maxBody = 8 << 20

// StatusError is a probe request answered with a non-2xx status.
type StatusError struct {
	URL    string
	Status int
}

func (e *StatusError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.URL, e.Status) }

// root is the server's base URL without the trailing /v1, where Ollama's
// /api and llama.cpp's /props live.
func root(endpoint string) string {
	e := strings.TrimRight(endpoint, "/")
	if u, err := url.Parse(e); err == nil {
		u.Path = strings.TrimSuffix(strings.TrimRight(u.Path, "/"), "/v1")
		u.RawQuery = ""
		return strings.TrimRight(u.String(), "/")
	}
	return strings.TrimSuffix(e, "/v1")
}

func (c *Client) do(ctx context.Context, method, u string, body any, auth bool, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth && c.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
	}
	hc := cmp.Or(c.HTTP, http.DefaultClient)
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		return &StatusError{URL: httpretry.RedactURL(u), Status: resp.StatusCode}
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxBody)).Decode(out); err != nil {
		return fmt.Errorf("%s %s: %w", method, httpretry.RedactURL(u), err)
	}
	return nil
}

// Probe asks endpoint (an OpenAI-compatible base URL ending in /v1) what
// it serves. A /v1/models that is absent (404) leaves Listed false and is
// not an error; any other failure of it is. The Ollama and llama.cpp
// requests are best effort: a server that does not answer them is simply
// not that kind.
func (c *Client) Probe(ctx context.Context, endpoint string) (*Server, error) {
	s := &Server{Endpoint: httpretry.RedactURL(endpoint), Kind: KindOpenAI}
	base := strings.TrimRight(endpoint, "/")
	var list struct {
		Data *[]struct {
			ID string `json:"id"`
		} `json:"data"`
	}
	err := c.do(ctx, http.MethodGet, base+"/models", nil, true, &list)
	var se *StatusError
	switch {
	case errors.As(err, &se) && (se.Status == http.StatusNotFound || se.Status == http.StatusMethodNotAllowed):
	case err != nil:
		return nil, fmt.Errorf("list models at %s: %w", s.Endpoint, err)
	case list.Data == nil:
		// Not a model list: a server answering every path alike.
	default:
		s.Listed = true
		for _, m := range *list.Data {
			if m.ID != "" {
				s.Models = append(s.Models, Model{ID: m.ID})
			}
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	r := root(endpoint)
	if c.ollama(ctx, r, s) {
		return s, nil
	}
	c.llamaCpp(ctx, r, s)
	return s, nil
}

// ollama fills s from Ollama's native API; false when r is not Ollama.
func (c *Client) ollama(ctx context.Context, r string, s *Server) bool {
	var tags struct {
		Models *[]struct {
			Name  string `json:"name"`
			Model string `json:"model"`
		} `json:"models"`
	}
	if c.do(ctx, http.MethodGet, r+"/api/tags", nil, false, &tags) != nil || tags.Models == nil {
		return false
	}
	s.Kind = KindOllama
	have := map[string]int{}
	for i, m := range s.Models {
		have[m.ID] = i
	}
	for _, t := range *tags.Models {
		name := cmp.Or(t.Name, t.Model)
		if _, ok := have[name]; !ok && name != "" {
			have[name] = len(s.Models)
			s.Models = append(s.Models, Model{ID: name})
		}
	}
	s.Listed = s.Listed || len(s.Models) > 0
	for i := range s.Models {
		c.ollamaShow(ctx, r, &s.Models[i])
	}
	return true
}

// ollamaShow reads one model's context: the num_ctx parameter of its
// Modelfile when set (what Ollama runs it with), and model_info's trained
// length. Without num_ctx Ollama uses OLLAMA_CONTEXT_LENGTH or its default,
// neither of which its API shows.
func (c *Client) ollamaShow(ctx context.Context, r string, m *Model) {
	var show struct {
		Parameters string         `json:"parameters"`
		ModelInfo  map[string]any `json:"model_info"`
	}
	if c.do(ctx, http.MethodPost, r+"/api/show", map[string]string{"model": m.ID}, false, &show) != nil {
		return
	}
	for k, v := range show.ModelInfo {
		if strings.HasSuffix(k, ".context_length") {
			if f, ok := v.(float64); ok && f > 0 {
				m.TrainContext = int(f)
			}
		}
	}
	for line := range strings.Lines(show.Parameters) {
		f := strings.Fields(line)
		if len(f) == 2 && f[0] == "num_ctx" {
			var n int
			if _, err := fmt.Sscan(f[1], &n); err == nil && n > 0 {
				m.Context, m.ContextSource = n, "ollama num_ctx"
			}
		}
	}
}

// llamaCpp fills s from llama.cpp's /props.
func (c *Client) llamaCpp(ctx context.Context, r string, s *Server) {
	var props struct {
		Settings *struct {
			NCtx int `json:"n_ctx"`
		} `json:"default_generation_settings"`
		TotalSlots int    `json:"total_slots"`
		ModelPath  string `json:"model_path"`
	}
	if c.do(ctx, http.MethodGet, r+"/props", nil, false, &props) != nil || props.Settings == nil {
		return
	}
	s.Kind = KindLlamaCpp
	s.Slots = props.TotalSlots
	// One server, one model: its slot context applies whatever name is
	// asked for.
	if len(s.Models) == 0 && props.ModelPath != "" {
		s.Models = append(s.Models, Model{ID: props.ModelPath})
	}
	for i := range s.Models {
		if props.Settings.NCtx > 0 {
			s.Models[i].Context, s.Models[i].ContextSource = props.Settings.NCtx, "llama.cpp n_ctx"
		}
	}
}

// ollamaName is the name Ollama resolves a model reference to: lower case,
// with the default tag ":latest" when none is given.
func ollamaName(s string) string {
	s = strings.ToLower(s)
	if i := strings.LastIndex(s, "/"); !strings.Contains(s[i+1:], ":") {
		s += ":latest"
	}
	return s
}

// Resolve finds name among the served models: the exact name, else, on
// Ollama, the name Ollama itself resolves it to (case and the ":latest"
// tag do not matter), else the one model whose name differs only in case.
func (s *Server) Resolve(name string) (Model, bool) {
	for _, m := range s.Models {
		if m.ID == name {
			return m, true
		}
	}
	if s.Kind == KindOllama {
		want := ollamaName(name)
		for _, m := range s.Models {
			if ollamaName(m.ID) == want {
				return m, true
			}
		}
	}
	var found []Model
	for _, m := range s.Models {
		if strings.EqualFold(m.ID, name) {
			found = append(found, m)
		}
	}
	if len(found) == 1 {
		return found[0], true
	}
	return Model{}, false
}

// Closest returns up to n served names nearest to name by edit distance
// (case ignored), nearest first.
func (s *Server) Closest(name string, n int) []string {
	type cand struct {
		id string
		d  int
	}
	var cs []cand
	q := strings.ToLower(name)
	for _, m := range s.Models {
		id := strings.ToLower(m.ID)
		d := EditDistance(q, id)
		// A name that contains the query (llama3 in llama3.2:3b) is
		// close whatever its length.
		if strings.Contains(id, q) || strings.Contains(q, id) {
			d = min(d, 1)
		}
		cs = append(cs, cand{m.ID, d})
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.id, b.id)) })
	var out []string
	for _, c := range cs[:min(n, len(cs))] {
		out = append(out, c.id)
	}
	return out
}

// EditDistance is the Levenshtein distance of a and b, in bytes: how
// "did you mean" suggestions pick the closest name.
func EditDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// UnknownModelError is a model the endpoint does not list.
type UnknownModelError struct {
	Model    string
	Endpoint string
	Closest  []string
	Served   int
}

func (e *UnknownModelError) Error() string {
	msg := fmt.Sprintf("model %q is not served by %s", e.Model, e.Endpoint)
	switch {
	case e.Served == 0:
		msg += " (it lists no models)"
	case len(e.Closest) > 0:
		msg += fmt.Sprintf("; closest of its %d models: %s", e.Served, strings.Join(e.Closest, ", "))
	}
	return msg + " (see hallu models --endpoint URL)"
}

// Check resolves name on s. It returns the served model (ID is its
// canonical name), or, where the server answers whatever name is asked
// (one that lists no models; llama.cpp, serving its one model under any
// name), a Model with an empty ID that still carries the context known;
// or an *UnknownModelError.
func (s *Server) Check(name string) (Model, error) {
	if m, ok := s.Resolve(name); ok {
		return m, nil
	}
	switch {
	case s.Kind == KindLlamaCpp && len(s.Models) > 0:
		m := s.Models[0]
		m.ID = ""
		return m, nil
	case !s.Listed || s.Kind == KindLlamaCpp:
		return Model{}, nil
	}
	return Model{}, &UnknownModelError{Model: name, Endpoint: s.Endpoint, Closest: s.Closest(name, 3), Served: len(s.Models)}
}

// IsOpenAI reports whether endpoint is OpenAI's own API, the one server
// that wants max_completion_tokens for its reasoning models.
func IsOpenAI(endpoint string) bool {
	u, err := url.Parse(endpoint)
	return err == nil && strings.EqualFold(u.Hostname(), "api.openai.com")
}

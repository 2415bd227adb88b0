package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/served"
)

// probeTimeout bounds asking an endpoint what it serves.
const probeTimeout = 30 * time.Second

// prepare asks the job's endpoint what it serves, before any request:
// an unknown model stops here (exit 2, the closest served names listed);
// a known one gives the records its canonical name; the server's context
// and parallel slots turn into warnings about documents that will not fit
// and about latency that includes queueing. An endpoint that lists no
// models, or cannot be asked, is used unchecked, with a notice.
func prepare(ctx context.Context, job *GenerateJob, log io.Writer) error {
	if job.prepared {
		return nil
	}
	job.prepared = true
	cfg := &job.Config
	cl := &served.Client{APIKey: cfg.APIKey, HTTP: cfg.HTTPClient}
	// A server that does not answer the listing is left to the run's own
	// timeouts and retries.
	pctx, cancel := context.WithTimeout(ctx, min(cmp.Or(cfg.Timeout, eval.DefaultTimeout), probeTimeout))
	defer cancel()
	s, err := cl.Probe(pctx, cfg.Endpoint)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// A key refused for the listing is refused for chat too: stop
		// before sending every document to be refused. (403 may be a
		// listing-only restriction of a gateway; that run goes on.)
		var se *served.StatusError
		if errors.As(err, &se) && se.Status == http.StatusUnauthorized {
			if cfg.APIKey == "" {
				return fmt.Errorf("HTTP 401 from %s: no API key was sent; set %s", se.URL, cmp.Or(cfg.APIKeyEnv, "one"))
			}
			return fmt.Errorf("HTTP 401 from %s: check %s", se.URL, cmp.Or(cfg.APIKeyEnv, "the API key"))
		}
		fmt.Fprintf(log, "hallu: NOTICE: %s: model %s not checked: %v\n", cfg.Model, cfg.Model, err)
		return nil
	}
	if !s.Listed && s.Kind != served.KindLlamaCpp {
		fmt.Fprintf(log, "hallu: NOTICE: %s does not list its models (no /v1/models); model %s not checked\n", s.Endpoint, cfg.Model)
		return nil
	}
	m, err := s.Check(cfg.Model)
	if err != nil {
		return inputErr(err)
	}
	if m.ID != "" && m.ID != cfg.Model {
		cfg.ModelCanonical = m.ID
		fmt.Fprintf(log, "hallu: %s is served as %s; reports group its records under that name\n", cfg.Model, m.ID)
	}
	conc := cfg.Concurrency
	if conc == 0 {
		conc = eval.DefaultConcurrency
	}
	if s.Slots > 0 && conc > s.Slots {
		cfg.LatencyQueued = true
		fmt.Fprintf(log, "hallu: WARNING: %s: concurrency %d exceeds the server's %d parallel slots: requests wait for a slot, and latency and time to first token include that wait (records say latency_queued); use --concurrency %d for per-request latency\n", cfg.Model, conc, s.Slots, s.Slots)
	}
	cfg.ServerContext = m.Context
	if m.Context > 0 && job.Dataset != "-" {
		return warnContext(ctx, job, m, s, log)
	}
	return nil
}

// warnContext counts the documents whose prompt (local estimate) plus the
// token limit exceeds the context the server runs the model with: the
// server would cut them silently and answer as if nothing happened.
func warnContext(ctx context.Context, job *GenerateJob, m served.Model, s *served.Server, log io.Writer) error {
	g, err := eval.NewGenerator(job.Config)
	if err != nil {
		return inputErr(err)
	}
	defer g.Close()
	src, err := openDataset(ctx, job.Dataset, job.DatasetOpts, job.Limit, job.Shard)
	if err != nil {
		return nil // the run reports it
	}
	defer src.Close()
	over, total, longest := 0, 0, 0
	for {
		doc, err := src.Next()
		var re *dataset.RecordError
		if errors.As(err, &re) {
			continue
		}
		if err != nil {
			break
		}
		total++
		n := eval.EstimateTokens(promptOf(job.Config.Prompt, doc.Text)) + job.Config.MaxTokens
		if n > m.Context {
			over++
			longest = max(longest, n)
		}
	}
	if over == 0 {
		return nil
	}
	what := "prompt (estimated at 4 bytes a token)"
	if job.Config.MaxTokens > 0 {
		what = fmt.Sprintf("prompt (estimated at 4 bytes a token) plus --max-tokens %d", job.Config.MaxTokens)
	}
	fix := "give the server a larger context"
	switch s.Kind {
	case served.KindOllama:
		fix = fmt.Sprintf("give Ollama a larger context: OLLAMA_CONTEXT_LENGTH=%d for the server, or PARAMETER num_ctx %d in the model's Modelfile", roundCtx(longest), roundCtx(longest))
	case served.KindLlamaCpp:
		slots := max(s.Slots, 1)
		fix = fmt.Sprintf("start llama-server with -c %d (the context is split among its %d slots) and --no-context-shift, so that a prompt too long fails instead of being cut", roundCtx(longest)*slots, slots)
	}
	fmt.Fprintf(log, "hallu: WARNING: %s: %d of %d documents will not fit the %d-token context the server runs it with (%s): the server cuts such prompts silently and summarizes what is left; %s\n",
		job.Config.Model, over, total, m.Context, what, fix)
	return nil
}

// roundCtx is n rounded up to a multiple of 1024.
func roundCtx(n int) int { return (n + 1023) / 1024 * 1024 }

func promptOf(tmpl, text string) string {
	if tmpl == "" {
		tmpl = eval.DefaultPrompt
	}
	return strings.ReplaceAll(tmpl, eval.ArticlePlaceholder, text)
}

// dryRun prints what job would send: every document with its estimated
// input tokens, the first request body, and totals with the estimated
// cost when prices are given. It sends nothing and writes nothing.
// Documents already done in job.Out are left out, as the run would.
func dryRun(ctx context.Context, job *GenerateJob, g *eval.Generator, w io.Writer) error {
	done := map[string]string{}
	if job.Out != "" {
		if f, err := os.Open(job.Out); err == nil {
			r := results.NewReader(f, job.Out)
			for {
				rec, err := r.Next()
				if err != nil {
					break
				}
				if rec.Error == nil {
					done[results.Key(rec.Model, rec.DocID)] = rec.GenKey
				}
			}
			f.Close()
		}
	}
	src, err := openDataset(ctx, job.Dataset, job.DatasetOpts, job.Limit, job.Shard)
	if err != nil {
		return inputErr(err)
	}
	defer src.Close()
	model := job.Config.Model
	fmt.Fprintf(w, "dry run: %s at %s (nothing is sent)\n", model, g.Template().Endpoint)
	var n, skipped, bad int
	var tokens int64
	for {
		doc, err := src.Next()
		var re *dataset.RecordError
		if errors.As(err, &re) {
			if job.Strict {
				return inputErr(err)
			}
			bad++
			fmt.Fprintf(w, "  skip  %v\n", re)
			continue
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return inputErr(err)
		}
		if k, ok := done[results.Key(model, doc.ID)]; ok && k == g.Key(doc) {
			skipped++
			continue
		}
		if n == 0 {
			b, err := g.Request(doc.Text)
			if err != nil {
				return err
			}
			fmt.Fprintf(w, "first request (POST %s/chat/completions):\n%s\n", g.Template().Endpoint, b)
		}
		est := eval.EstimateTokens(promptOf(job.Config.Prompt, doc.Text))
		n++
		tokens += int64(est)
		fmt.Fprintf(w, "  %-24s ~%d input tokens\n", doc.ID, est)
	}
	fmt.Fprintf(w, "%d requests", n)
	if skipped > 0 {
		fmt.Fprintf(w, " (%d documents already done in %s)", skipped, job.Out)
	}
	if bad > 0 {
		fmt.Fprintf(w, " (%d bad dataset records skipped)", bad)
	}
	fmt.Fprintf(w, ", ~%d input tokens (estimated at 4 bytes a token)", tokens)
	maxOut := int64(job.Config.MaxTokens) * int64(n)
	if maxOut > 0 {
		fmt.Fprintf(w, ", at most %d output tokens", maxOut)
	}
	fmt.Fprintln(w)
	if job.PriceIn > 0 || job.PriceOut > 0 {
		in := float64(tokens) / 1e6 * job.PriceIn
		fmt.Fprintf(w, "estimated cost: %s input", money(in))
		switch {
		case job.PriceOut == 0:
		case maxOut > 0:
			out := float64(maxOut) / 1e6 * job.PriceOut
			fmt.Fprintf(w, " + at most %s output = at most %s", money(out), money(in+out))
		default:
			fmt.Fprintf(w, " + output (no --max-tokens, so no bound)")
		}
		fmt.Fprintf(w, " at %g in / %g out per million tokens\n", job.PriceIn, job.PriceOut)
	}
	return nil
}

func money(x float64) string { return fmt.Sprintf("$%.4f", x) }

// Cost is a model's measured token use priced per million tokens.
func Cost(tokensIn, tokensOut int64, priceIn, priceOut float64) float64 {
	return float64(tokensIn)/1e6*priceIn + float64(tokensOut)/1e6*priceOut
}

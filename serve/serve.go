// Package serve answers scoring requests over HTTP: Vectara's
// factual-consistency API (POST /v2/evaluate_factual_consistency), so that
// any client written for Vectara, hallu's own vectara scorer included, can
// use a locally loaded scorer by changing its base URL; a batch endpoint of
// hallu's own (POST /v1/score); and what an orchestrator needs (/healthz,
// /readyz, /v1/models, Prometheus /metrics).
//
// Requests do not call the scorer themselves: their pairs join a bounded
// queue, and workers take them in batches (see batcher), so that concurrent
// one-pair requests reach an encoder the way an offline run's batches do.
// Past the queue's bound a request is refused with 429 and Retry-After
// rather than left to time out.
package serve

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	"github.com/hallu-eval/hallu/scorers"
)

// Defaults for unset Config fields.
const (
	DefaultMaxQueue    = 256
	DefaultMaxBatch    = 16 // hallu score's default --batch
	DefaultBatchWait   = 5 * time.Millisecond
	DefaultWorkers     = 1 // hallu score's default --concurrency: HHEM already uses every core
	DefaultMaxBody     = 4 << 20
	DefaultReadTimeout = 30 * time.Second
	DefaultGrace       = 30 * time.Second
)

// Config is the server's policy. Zero fields take the defaults above.
type Config struct {
	// MaxQueue is the most pairs waiting for a batch; a request that would
	// go past it is answered 429.
	MaxQueue int
	// MaxBatch is the most pairs per scorer call.
	MaxBatch int
	// BatchWait is how long the oldest waiting pair may wait for company
	// before its batch goes to the scorer anyway.
	BatchWait time.Duration
	// Workers is the number of scorer calls in flight.
	Workers int
	// MaxBody is the largest request body accepted, in bytes; larger is
	// answered 413.
	MaxBody int64
	// ReadTimeout bounds reading a whole request, headers and body, so a
	// client sending slowly cannot hold a connection open (slowloris).
	ReadTimeout time.Duration
	// Grace bounds the drain of in-flight requests once Serve's context
	// ends.
	Grace time.Duration
	// APIKey, when set, must be sent as x-api-key (as Vectara's API wants)
	// on the scoring and listing endpoints. It is compared in constant time
	// and never logged.
	APIKey string
	// ModelAliases are further model_parameters.model_name values answered
	// by the loaded scorer, for clients that cannot change the name they
	// send (see docs/serve.md).
	ModelAliases []string
	// Log receives structured logs; nil discards them.
	Log *slog.Logger
}

func (c *Config) fill() error {
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.MaxQueue, DefaultMaxQueue)
	def(&c.MaxBatch, DefaultMaxBatch)
	def(&c.Workers, DefaultWorkers)
	if c.BatchWait == 0 {
		c.BatchWait = DefaultBatchWait
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.ReadTimeout == 0 {
		c.ReadTimeout = DefaultReadTimeout
	}
	if c.Grace == 0 {
		c.Grace = DefaultGrace
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	switch {
	case c.MaxQueue < 1:
		return fmt.Errorf("max-queue %d: must be at least 1", c.MaxQueue)
	case c.MaxBatch < 1:
		return fmt.Errorf("max-batch %d: must be at least 1", c.MaxBatch)
	case c.Workers < 1:
		return fmt.Errorf("workers %d: must be at least 1", c.Workers)
	case c.BatchWait < 0:
		return fmt.Errorf("batch-wait %s: must not be negative", c.BatchWait)
	case c.MaxBody < 1:
		return fmt.Errorf("max-body %d: must be at least 1", c.MaxBody)
	case c.ReadTimeout < 0 || c.Grace < 0:
		return errors.New("read-timeout and grace must not be negative")
	}
	return nil
}

// TokenCounter is implemented by scorers that can say how many model
// tokens a pair is; /metrics then counts tokens scored.
type TokenCounter interface {
	CountTokens(scorers.Pair) int
}

// loaded is the scorer once its weights are in memory.
type loaded struct {
	sc       scorers.Scorer
	identity scorers.Identity
	names    []string // model_name values answered
}

// Server is one scoring service. Create it with New, give it a scorer with
// SetScorer (it answers /healthz and 503 elsewhere until then), and run it
// with Serve.
type Server struct {
	cfg Config
	m   *metrics
	b   *batcher
	mux *http.ServeMux

	scorer   atomic.Pointer[loaded]
	draining atomic.Bool

	// workCtx outlives the HTTP server's drain: batches of draining
	// requests must still be scored.
	workCtx   context.Context
	stopWork  context.CancelFunc
	workers   sync.WaitGroup
	startOnce sync.Once
	closeOnce sync.Once
}

// New builds a server with cfg's policy.
func New(cfg Config) (*Server, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, m: newMetrics(cfg.MaxBatch)}
	s.b = newBatcher(cfg.MaxQueue, cfg.MaxBatch, cfg.BatchWait, s.m)
	s.workCtx, s.stopWork = context.WithCancel(context.Background())
	s.routes()
	return s, nil
}

// SetScorer makes sc the scorer answering requests and starts the workers;
// /readyz answers 200 from then on. Call it once. The server does not close
// sc.
func (s *Server) SetScorer(sc scorers.Scorer) {
	s.startOnce.Do(func() {
		id := scorers.IdentityOf(sc)
		l := &loaded{sc: sc, identity: id, names: []string{id.Name}}
		// A version such as HHEM-2.1-Open names a model; a bare "1" does not.
		if strings.ContainsFunc(id.Version, unicode.IsLetter) && !strings.EqualFold(id.Version, id.Name) {
			l.names = append(l.names, id.Version)
		}
		l.names = append(l.names, s.cfg.ModelAliases...)
		if tc, ok := sc.(TokenCounter); ok {
			s.m.countTokens = tc.CountTokens
		}
		s.b.score = sc.Score
		for range s.cfg.Workers {
			s.workers.Go(func() { s.b.run(s.workCtx) })
		}
		s.scorer.Store(l)
		s.cfg.Log.Info("scorer loaded", "scorer", id.String(), "key", id.Key())
	})
}

// Handler is the server's HTTP handler, for tests and for embedding.
func (s *Server) Handler() http.Handler { return s.mux }

// ErrGraceExpired is returned by Serve when requests were still in flight
// when the grace period ended; they were cut off.
var ErrGraceExpired = errors.New("grace period expired with requests in flight")

// Serve answers on ln until ctx ends, then stops accepting connections,
// waits up to Grace for the requests in flight to be answered, stops the
// workers and returns: nil after a full drain, ErrGraceExpired otherwise.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{
		Handler:           s.mux,
		ReadHeaderTimeout: s.cfg.ReadTimeout,
		ReadTimeout:       s.cfg.ReadTimeout,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.cfg.Log.Handler(), slog.LevelDebug),
	}
	s.cfg.Log.Info("listening", "addr", ln.Addr().String())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		s.stop()
		return fmt.Errorf("serving on %s: %w", ln.Addr(), err)
	case <-ctx.Done():
	}
	s.draining.Store(true)
	s.cfg.Log.Info("draining", "grace", s.cfg.Grace.String(), "queued_pairs", s.b.queued())
	sctx, cancel := context.WithTimeout(context.Background(), s.cfg.Grace)
	defer cancel()
	err := hs.Shutdown(sctx)
	if err != nil {
		hs.Close()
		err = ErrGraceExpired
		s.cfg.Log.Warn("grace period expired; cutting off the remaining requests")
	}
	<-errc // http.ErrServerClosed
	s.stop()
	if err == nil {
		s.cfg.Log.Info("drained")
	}
	return err
}

// stop ends the workers.
func (s *Server) stop() {
	s.closeOnce.Do(func() {
		s.stopWork()
		s.workers.Wait()
	})
}

// Close stops the workers without draining; for servers used through
// Handler alone.
func (s *Server) Close() { s.stop() }

// ready says whether /readyz answers 200, and why not.
func (s *Server) ready() (bool, string) {
	switch {
	case s.draining.Load():
		return false, "shutting down"
	case s.scorer.Load() == nil:
		return false, "loading the scorer's weights"
	case s.b.queued() >= s.cfg.MaxQueue:
		return false, "queue full"
	}
	return true, "ready"
}

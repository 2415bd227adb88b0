package pipeline

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/eval"
	"github.com/hallu-eval/hallu/internal/lock"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/results"
)

// GenerateJob is one model's generation stage.
type GenerateJob struct {
	Dataset     string // builtin, a path, FORMAT:PATH, or - for stdin
	DatasetOpts dataset.Options
	Limit       int
	Shard       string // "i/n", "" = all
	// Strict stops the run at the first unusable dataset record; otherwise
	// such records are skipped with a warning on Log.
	Strict bool

	// Out is the records file, resumed when it exists; "" writes to
	// Stdout, not resumable.
	Out    string
	Stdout io.Writer
	// Replace discards the records of Out made differently from this run
	// (another document text, prompt, setting) instead of refusing.
	Replace bool
	// ReplaceFlag names Replace in messages ("--replace").
	ReplaceFlag string

	Config eval.GenerateConfig
	// EndpointSet says the endpoint was given explicitly (a flag or a
	// config key), not taken from the environment.
	EndpointSet bool

	// Log receives notices, warnings and progress (stderr).
	Log io.Writer

	// DryRun prints to Stdout what would be sent (documents, the first
	// request, estimated input tokens and cost) and sends and writes
	// nothing.
	DryRun bool
	// PriceIn and PriceOut are the model's prices per million input and
	// output tokens, for the dry run's estimate; 0 = not given.
	PriceIn, PriceOut float64

	// prepared: the endpoint was already asked what it serves (by Run,
	// which checks every model before the first one starts).
	prepared bool
}

// Generate runs job. Builtin reference models are always served by hallu
// on loopback, whatever endpoint is configured: their records carry the
// reference model's injected-error annotations, which would be false for
// any other server's summaries.
func Generate(ctx context.Context, job GenerateJob) (eval.GenerateStats, error) {
	log := orDiscard(job.Log)
	job.ReplaceFlag = cmp.Or(job.ReplaceFlag, "--replace")
	cfg := job.Config
	builtin := refmodel.IsBuiltin(cfg.Model)
	if builtin {
		if cfg.Endpoint != "" && job.EndpointSet {
			fmt.Fprintf(log, "hallu: NOTICE: %s is served by hallu itself on 127.0.0.1; the endpoint %s is not used for it\n", cfg.Model, cfg.Endpoint)
		}
		url := "http://127.0.0.1/v1" // a dry run starts no server
		if !job.DryRun {
			// Not tied to ctx: on Ctrl-C requests in flight get their
			// grace period, which needs the server up.
			u, stop, err := refmodel.Start(context.WithoutCancel(ctx))
			if err != nil {
				return eval.GenerateStats{}, err
			}
			defer stop()
			url = u
		}
		cfg.Endpoint, cfg.RecordEndpoint = url, "builtin"
	}
	if cfg.Endpoint == "" {
		return eval.GenerateStats{}, inputErrf("no endpoint: pass --endpoint URL or set OPENAI_BASE_URL")
	}
	job.DatasetOpts.Strict = job.Strict
	cfg.OnBadRecord = func(e *dataset.RecordError) error {
		fmt.Fprintf(log, "hallu: WARNING: skipping %v\n", e)
		return nil
	}
	// Fail on bad settings before touching the output file.
	tmpl, err := eval.NewGenerator(cfg)
	if err != nil {
		return eval.GenerateStats{}, inputErr(err)
	}
	tmpl.Close()
	// Ask the endpoint what it serves; after taking the output's lock, so
	// that a second hallu on the same output fails before asking.
	check := func() error {
		if builtin {
			return nil
		}
		pj := job
		pj.Config = cfg
		if err := prepare(ctx, &pj, log); err != nil {
			return err
		}
		cfg = pj.Config
		return nil
	}
	if job.DryRun {
		if err := check(); err != nil {
			return eval.GenerateStats{}, err
		}
		g, err := eval.NewGenerator(cfg)
		if err != nil {
			return eval.GenerateStats{}, inputErr(err)
		}
		defer g.Close()
		return eval.GenerateStats{}, dryRun(ctx, &job, g, orDiscard(job.Stdout))
	}

	open := func() (dataset.Source, error) {
		return openDataset(ctx, job.Dataset, job.DatasetOpts, job.Limit, job.Shard)
	}
	rereadable := job.Dataset != "-"

	var w *results.Writer
	if job.Out == "" {
		w = results.NewWriter(job.Stdout)
	} else {
		release, err := lockOutput(job.Out)
		if err != nil {
			return eval.GenerateStats{}, err
		}
		defer release()
		done, fw, err := resumeGenerations(job.Out, tmpl, open, rereadable, job.Replace, job.ReplaceFlag)
		if err != nil {
			return eval.GenerateStats{}, err
		}
		defer fw.Close()
		w, cfg.Done = fw, done
	}
	if err := check(); err != nil {
		return eval.GenerateStats{}, err
	}
	if job.Out != "" && !builtin {
		canon, without := fileCanonical(job.Out, cfg.Model)
		switch {
		case cfg.ModelCanonical == "" && canon != "":
			// The endpoint could not say this time; the file's earlier
			// records could: keep one name for the model in the file.
			cfg.ModelCanonical = canon
		case cfg.ModelCanonical != "" && without > 0:
			fmt.Fprintf(log, "hallu: NOTICE: %d finished records in %s were made without the served name %s; reports show them under %s (generate into a new output to have one name)\n", without, job.Out, cfg.ModelCanonical, cfg.Model)
		}
	}
	src, err := open()
	if err != nil {
		return eval.GenerateStats{}, inputErr(err)
	}
	defer src.Close()
	if cfg.Progress != nil && eval.IsTerminal(cfg.Progress) && rereadable {
		cfg.Total = countDocs(open) // an extra streaming pass, for the bar's ETA
	}
	g, err := eval.NewGenerator(cfg)
	if err != nil {
		return eval.GenerateStats{}, inputErr(err)
	}
	defer g.Close()
	if !rereadable && len(cfg.Done) > 0 {
		// The texts could not be checked before the run: check each
		// document as it comes, before its request.
		src = &textGuard{Source: src, g: g, done: cfg.Done, replace: job.Replace, out: job.Out, flag: job.ReplaceFlag}
	}
	superseded := false
	sink := func(rec *results.Record) error {
		if _, ok := cfg.Done[results.Key(rec.Model, rec.DocID)]; ok {
			superseded = true
		}
		if builtin && rec.Error == nil {
			rec.Injected = refmodel.Annotate(rec.Source, rec.Model)
		}
		return w.Write(rec)
	}
	st, err := g.Run(ctx, src, sink)
	var se *dataset.StrictError
	if errors.Is(err, dataset.ErrNoDocuments) || errors.Is(err, dataset.ErrMissingField) || errors.As(err, &se) {
		return st, inputErr(err)
	}
	var ie *eval.InterruptedError
	if errors.As(err, &ie) && job.Out == "" {
		return st, fmt.Errorf("%w (use --out FILE to be able to resume)", err)
	}
	if err != nil {
		return st, err
	}
	if err := w.Sync(); err != nil {
		return st, fmt.Errorf("sync %s: %w", job.Out, err)
	}
	if superseded {
		if err := results.Compact(job.Out); err != nil {
			return st, err
		}
	}
	return st, nil
}

// textGuard refuses a document whose text differs from the one its
// finished record in the output was made from, for datasets that cannot be
// read twice (standard input) and so were not checked up front.
type textGuard struct {
	dataset.Source
	g       *eval.Generator
	done    map[string]string
	replace bool
	out     string
	flag    string
}

func (t *textGuard) Next() (dataset.Document, error) {
	doc, err := t.Source.Next()
	if err != nil || t.replace {
		return doc, err
	}
	k := results.Key(t.g.Template().Model, doc.ID)
	if h, ok := t.done[k]; ok && h != t.g.Key(doc) {
		return doc, &MismatchError{Path: t.out, What: "generations", Count: 1, Flag: t.flag,
			Reasons: []string{doc.ID + ": text differs from the file's"}}
	}
	return doc, nil
}

// resumeGenerations opens out for appending after checking that its
// finished records answer the same requests this run would send: same
// model, prompt, sampling settings and endpoint (from each record), and the
// same text for every document (a pass over the dataset, when it can be
// read twice). A difference stops with a *MismatchError before anything is
// written, unless replace is set, in which case those records are dropped
// and redone.
func resumeGenerations(out string, g *eval.Generator, open func() (dataset.Source, error), rereadable, replace bool, flag string) (map[string]string, *results.Writer, error) {
	tmpl := g.Template()
	var mm mismatches
	fileHash := map[string]string{} // key -> DocHash of finished records
	err := eachFinished(out, func(rec *results.Record, _ int) error {
		if rec.Error != nil {
			return nil // redone anyway
		}
		if d := results.SettingsDiff(tmpl, rec); len(d) > 0 {
			// Run-wide settings differ alike in every record: one reason,
			// however many records.
			mm.add(strings.Join(d, "; "))
			return nil
		}
		fileHash[results.Key(rec.Model, rec.DocID)] = rec.DocHash
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	changed := map[string]bool{}
	if len(fileHash) > 0 && rereadable {
		src, err := open()
		if err != nil {
			return nil, nil, inputErr(err)
		}
		for {
			doc, err := src.Next()
			var re *dataset.RecordError
			if errors.As(err, &re) {
				continue
			}
			if err != nil {
				break // the run itself reports dataset errors
			}
			k := results.Key(tmpl.Model, doc.ID)
			if h, ok := fileHash[k]; ok && h != results.TextHash(doc.Text) {
				changed[k] = true
				mm.add(fmt.Sprintf("%s: text differs from the file's", doc.ID))
			}
		}
		src.Close()
	}
	if mm.count > 0 && !replace {
		return nil, nil, &MismatchError{Path: out, What: "generations", Count: mm.count, Reasons: mm.reasons, More: mm.more, Flag: flag}
	}
	keep := func(rec *results.Record) bool {
		return rec.Error == nil && len(results.SettingsDiff(tmpl, rec)) == 0 && !changed[results.Key(rec.Model, rec.DocID)]
	}
	done, w, err := results.Resume(out, keep, func(rec *results.Record) string { return rec.GenKey })
	if err != nil {
		return nil, nil, inputErr(fmt.Errorf("resume %s: %w", out, err))
	}
	return done, w, nil
}

// fileCanonical reads out's finished records of model: the served name
// they carry, if any, and how many carry none.
func fileCanonical(out, model string) (canon string, without int) {
	f, err := os.Open(out)
	if err != nil {
		return "", 0
	}
	defer f.Close()
	r := results.NewReader(f, out)
	for {
		rec, err := r.Next()
		if err != nil {
			return canon, without
		}
		if rec.Model != model || rec.Error != nil {
			continue
		}
		if rec.ModelCanonical == "" {
			without++
		} else if canon == "" {
			canon = rec.ModelCanonical
		}
	}
}

// openDataset applies limit, then shard.
func openDataset(ctx context.Context, spec string, opts dataset.Options, limit int, shard string) (dataset.Source, error) {
	src, err := dataset.OpenContext(ctx, spec, opts)
	if err != nil {
		return nil, err
	}
	src = dataset.Limit(src, limit)
	if shard == "" {
		return src, nil
	}
	i, n, err := dataset.ParseShard(shard)
	if err == nil {
		var sh dataset.Source
		if sh, err = dataset.Shard(src, i, n); err == nil {
			return sh, nil
		}
	}
	src.Close()
	return nil, err
}

// countDocs returns the number of documents a source will give, or 0 when
// it cannot be read (the run reports that itself).
func countDocs(open func() (dataset.Source, error)) int {
	src, err := open()
	if err != nil {
		return 0
	}
	defer src.Close()
	n := 0
	for {
		_, err := src.Next()
		var re *dataset.RecordError
		switch {
		case err == nil:
			n++
		case errors.Is(err, io.EOF):
			return n
		case !errors.As(err, &re):
			return 0
		}
	}
}

// WarnTruncation says, at the end of a generation, how many summaries were
// made from cut input or cut short: both count as answers on the
// leaderboard, so the user must hear of them.
func WarnTruncation(log io.Writer, st eval.GenerateStats) {
	if st.OutputTruncated > 0 {
		fmt.Fprintf(log, "hallu: WARNING: %d summaries were cut at the token limit (finish_reason \"length\"); raise --max-tokens or the server's limit\n", st.OutputTruncated)
	}
	if st.InputTruncated > 0 {
		fmt.Fprintf(log, "hallu: WARNING: %d documents were cut by the server to fit its context (it counted far fewer prompt tokens than the prompt holds, or as many as its whole context); give the server a larger context (llama.cpp: -c and --no-context-shift; Ollama: OLLAMA_CONTEXT_LENGTH or PARAMETER num_ctx) and generate again into a new output\n", st.InputTruncated)
	}
}

// lockOutput takes the exclusive lock of an output file, creating its
// directory: a second hallu writing the same file fails at once rather
// than doubling its records.
func lockOutput(path string) (release func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, inputErr(err)
	}
	l, err := lock.Acquire(path)
	if err != nil {
		return nil, inputErr(err)
	}
	return func() { l.Release() }, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// eachFinished calls fn with every record of an existing output file and
// its line, up to the first line that does not decode: Resume, which runs
// next, reports that damage or cuts a torn last line. A missing file has
// no records.
func eachFinished(path string, fn func(rec *results.Record, line int) error) error {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	r := results.NewReader(f, path)
	for {
		rec, err := r.Next()
		if err != nil {
			return nil
		}
		if err := fn(rec, r.Line()); err != nil {
			return err
		}
	}
}

package calibrate

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Labels file formats: hallu's own (CSV/TSV/JSONL with source, summary and
// label columns, see NewReader) and the public labelled sets in their
// release formats. Where each format's facts come from:
//
//   - FaithBench (github.com/vectara/FaithBench, NAACL 2025): FaithBench.csv
//     has the header source,summary,LLM,worst-label,best-label, one row per
//     summary, worst-label being the most severe label any annotator gave a
//     span of it: Unwanted (Unwanted.Intrinsic / .Extrinsic in the JSON),
//     Questionable, Benign, or Consistent (no span marked). The per-batch
//     JSON files (data_for_release/batch_N.json, a dump of the repository's
//     FaithBenchBatch schema) hold {"samples": [{"sample_id", "source",
//     "summary", "annotations": [{"label": ["Unwanted",
//     "Unwanted.Intrinsic"], ...}], "metadata": {...}}]}, an empty
//     annotation list meaning consistent. Both are read with the
//     worst-label rule: any Unwanted → hallucinated; Benign or Consistent
//     → consistent; Questionable as the worst → dropped (counted, not
//     scored). FaithBench's own scripts/binarize.py counts Questionable as
//     hallucinated; hallu drops it, because a span the annotators could
//     not call either way is no ground truth for a judge.
//   - RAGTruth (github.com/ParticleMedia/RAGTruth, ACL 2024): response.jsonl,
//     one response a line with id, source_id, model, temperature, labels (the
//     hallucinated spans: start, end, text, label_type, ...), split
//     (train/test), quality and response; source_info.jsonl, next to it,
//     one source a line with source_id, task_type (Summary, QA, Data2txt),
//     source, source_info (a string for Summary; an object for QA, with
//     question and passages, and for Data2txt, the structured record) and
//     prompt. A response with any labelled span is hallucinated, one with
//     none consistent. The source text is source_info for Summary, the
//     question and passages for QA, and the record as JSON for Data2txt.
//   - LLM-AggreFact (huggingface.co/datasets/lytang/LLM-AggreFact, the
//     MiniCheck paper, EMNLP 2024): columns dataset, doc, claim, label
//     (1 = supported, 0 = unsupported) and contamination_identifier; the Hub
//     serves it as Parquet, read here once exported to CSV (e.g. with
//     pandas' to_csv). The label convention is hallu's own.
const (
	FormatHallu      = "hallu"
	FormatFaithBench = "faithbench"
	FormatRAGTruth   = "ragtruth"
	FormatAggreFact  = "aggrefact"
)

// LabelFormats are the accepted --labels-format values; "" or "auto"
// detects the format (see DetectFormat).
var LabelFormats = []string{FormatHallu, FormatFaithBench, FormatRAGTruth, FormatAggreFact}

// Labels is an open labels file.
type Labels struct {
	Reader
	Format string // the format read, detected or given
	// Sources is the file the source texts come from when it is not the
	// labels file itself (RAGTruth's source_info.jsonl).
	Sources string
	f       *os.File
}

// Dropped is how many examples the format's rules left out, and why (""
// when none were): FaithBench's Questionable summaries. Valid once Next
// has returned io.EOF.
func (l *Labels) Dropped() (int, string) {
	if d, ok := l.Reader.(interface{ dropped() (int, string) }); ok {
		return d.dropped()
	}
	return 0, ""
}

// Close closes the file.
func (l *Labels) Close() error { return l.f.Close() }

// OpenLabels opens a labels file in format (one of LabelFormats, or "" /
// "auto" to detect it from the file's extension and header).
func OpenLabels(path, format string) (*Labels, error) {
	if format == "auto" {
		format = ""
	}
	if format != "" && !slices.Contains(LabelFormats, format) {
		return nil, fmt.Errorf("labels format %q: want %s or auto", format, strings.Join(LabelFormats, ", "))
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	// Large enough to hold a first line of any of the formats whole (a
	// RAGTruth response, a FaithBench batch's opening), for detection.
	br := bufio.NewReaderSize(f, 1<<20)
	if format == "" {
		if format, err = DetectFormat(br, path); err != nil {
			f.Close()
			return nil, err
		}
	}
	l := &Labels{Format: format, f: f}
	switch format {
	case FormatFaithBench:
		if strings.EqualFold(filepath.Ext(path), ".json") {
			l.Reader, err = newFaithBenchJSON(br, path)
		} else {
			l.Reader, err = newFaithBenchCSV(br, path)
		}
	case FormatRAGTruth:
		l.Sources = filepath.Join(filepath.Dir(path), "source_info.jsonl")
		l.Reader, err = newRAGTruth(br, path, l.Sources)
	case FormatAggreFact:
		l.Reader, err = newAggreFact(br, path)
	default:
		l.Reader, err = NewReader(br, path)
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return l, nil
}

// DetectFormat tells a labels file's format from its extension and its
// first line, without consuming it: a CSV header with worst-label is
// FaithBench's, one with dataset, doc, claim and label LLM-AggreFact's; a
// .json file with a "samples" list is a FaithBench batch; a JSONL object
// with source_id, labels and response is a RAGTruth response; anything
// else is hallu's own.
func DetectFormat(br *bufio.Reader, name string) (string, error) {
	line, err := peekLine(br)
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv", ".tsv":
		comma := ','
		if strings.EqualFold(filepath.Ext(name), ".tsv") {
			comma = '\t'
		}
		cr := csv.NewReader(bytes.NewReader(line))
		cr.Comma = comma
		header, err := cr.Read()
		if err != nil {
			return FormatHallu, nil // the reader names the problem
		}
		cols := map[string]bool{}
		for _, h := range header {
			cols[normHeader(h)] = true
		}
		switch {
		case cols["worst-label"]:
			return FormatFaithBench, nil
		case cols["dataset"] && cols["doc"] && cols["claim"] && cols["label"]:
			return FormatAggreFact, nil
		}
	case ".json":
		// A batch is pretty-printed: "samples" is on a later line.
		head, _ := br.Peek(4 << 10)
		if bytes.HasPrefix(line, []byte("{")) && bytes.Contains(head, []byte(`"samples"`)) {
			return FormatFaithBench, nil
		}
	default:
		var m map[string]json.RawMessage
		if json.Unmarshal(line, &m) == nil {
			_, a := m["source_id"]
			_, b := m["labels"]
			_, c := m["response"]
			if a && b && c {
				return FormatRAGTruth, nil
			}
		}
	}
	return FormatHallu, nil
}

// peekLine returns the first non-blank line (up to the buffer's size)
// without consuming it.
func peekLine(br *bufio.Reader) ([]byte, error) {
	b, err := br.Peek(br.Size())
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, err
	}
	for line := range bytes.Lines(b) {
		if t := bytes.TrimSpace(line); len(t) > 0 {
			return t, nil
		}
	}
	return nil, nil
}

func normHeader(h string) string {
	return strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
}

// faithBenchLabel applies the worst-label rule to one FaithBench label
// (the worst-label column, or an annotation's labels): its severity, 3 for
// Unwanted (and its .Intrinsic/.Extrinsic kinds, however spelt), 2 for
// Questionable, 1 for Benign, 0 for Consistent; -1 for anything else.
func faithBenchSeverity(s string) int {
	w := strings.ToLower(strings.TrimSpace(s))
	switch {
	case w == "unwanted" || strings.HasPrefix(w, "unwanted.") || strings.HasPrefix(w, "unwanted_"):
		return 3
	case w == "questionable":
		return 2
	case w == "benign":
		return 1
	case w == "consistent":
		return 0
	}
	return -1
}

const questionable = "worst label Questionable"

// faithBenchCSV reads FaithBench.csv.
type faithBenchCSV struct {
	cr                *csv.Reader
	name              string
	src, sum, llm, wl int
	drop              int
}

func newFaithBenchCSV(r io.Reader, name string) (*faithBenchCSV, error) {
	cr := csv.NewReader(r)
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	c := &faithBenchCSV{cr: cr, name: name, src: -1, sum: -1, llm: -1, wl: -1}
	for i, h := range header {
		switch normHeader(h) {
		case "source":
			c.src = i
		case "summary":
			c.sum = i
		case "llm":
			c.llm = i
		case "worst-label":
			c.wl = i
		}
	}
	if c.src < 0 || c.sum < 0 || c.wl < 0 {
		return nil, fmt.Errorf("%s line 1: header %q is not FaithBench.csv's: want source, summary and worst-label columns", name, strings.Join(header, ","))
	}
	return c, nil
}

func (c *faithBenchCSV) Next() (Example, error) {
	for {
		rec, err := c.cr.Read()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return Example{}, io.EOF
			}
			return Example{}, fmt.Errorf("%s: %w", c.name, err)
		}
		line, _ := c.cr.FieldPos(0)
		ex := Example{Line: line, Source: rec[c.src], Summary: rec[c.sum], ID: fmt.Sprintf("line %d", line)}
		if c.llm >= 0 && rec[c.llm] != "" {
			ex.ID += " (" + rec[c.llm] + ")"
		}
		switch faithBenchSeverity(rec[c.wl]) {
		case 3:
			ex.Label = Hallucinated
		case 2:
			c.drop++
			continue
		case 1, 0:
			ex.Label = Consistent
		default:
			return Example{}, fmt.Errorf("%s line %d: worst-label %q: want Unwanted, Questionable, Benign or Consistent", c.name, line, rec[c.wl])
		}
		return ex, check(ex, c.name)
	}
}

func (c *faithBenchCSV) dropped() (int, string) { return c.drop, questionable }

// faithBenchJSON reads one of FaithBench's batch_N.json files. A batch is a
// few hundred samples, so it is decoded whole; examples are named by
// sample_id, as the file has one JSON document, not lines.
type faithBenchJSON struct {
	name    string
	samples []faithBenchSample
	i       int
	drop    int
}

type faithBenchSample struct {
	SampleID    json.Number `json:"sample_id"`
	Source      string      `json:"source"`
	Summary     string      `json:"summary"`
	Annotations []struct {
		Label []string `json:"label"`
	} `json:"annotations"`
}

func newFaithBenchJSON(r io.Reader, name string) (*faithBenchJSON, error) {
	var batch struct {
		Samples []faithBenchSample `json:"samples"`
	}
	dec := json.NewDecoder(r)
	dec.UseNumber()
	if err := dec.Decode(&batch); err != nil {
		return nil, fmt.Errorf("%s: not a FaithBench batch ({\"samples\": [...]}): %w", name, err)
	}
	return &faithBenchJSON{name: name, samples: batch.Samples}, nil
}

func (f *faithBenchJSON) Next() (Example, error) {
	for f.i < len(f.samples) {
		s := f.samples[f.i]
		f.i++
		ex := Example{ID: "sample_id " + s.SampleID.String(), Source: s.Source, Summary: s.Summary, Line: f.i}
		worst := 0
		for _, a := range s.Annotations {
			for _, l := range a.Label {
				sev := faithBenchSeverity(l)
				if sev < 0 {
					return Example{}, fmt.Errorf("%s sample %d (sample_id %s): label %q: want Unwanted, Questionable or Benign", f.name, f.i, s.SampleID, l)
				}
				worst = max(worst, sev)
			}
		}
		switch worst {
		case 3:
			ex.Label = Hallucinated
		case 2:
			f.drop++
			continue
		default:
			ex.Label = Consistent
		}
		switch {
		case strings.TrimSpace(ex.Source) == "":
			return Example{}, fmt.Errorf("%s sample %d (sample_id %s): empty source", f.name, f.i, s.SampleID)
		case strings.TrimSpace(ex.Summary) == "":
			return Example{}, fmt.Errorf("%s sample %d (sample_id %s): empty summary", f.name, f.i, s.SampleID)
		}
		return ex, nil
	}
	return Example{}, io.EOF
}

func (f *faithBenchJSON) dropped() (int, string) { return f.drop, questionable }

// aggreFact reads LLM-AggreFact exported to CSV: hallu's CSV reader (doc,
// claim, label are among its names), with each example named by its
// source dataset and the label held to 0 or 1.
type aggreFact struct {
	*csvReader
	dataset int
}

func newAggreFact(r io.Reader, name string) (*aggreFact, error) {
	// The header is read twice: once for the dataset column, once by the
	// CSV reader; buffer it.
	br := bufio.NewReaderSize(r, 1<<16)
	line, err := peekLine(br)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	a := &aggreFact{dataset: -1}
	if h, err := csv.NewReader(bytes.NewReader(line)).Read(); err == nil {
		for i, c := range h {
			if normHeader(c) == "dataset" {
				a.dataset = i
			}
		}
	}
	// The generic reader finds doc, claim and label; the rows are read
	// here, through it, to keep the dataset column too.
	a.csvReader, err = newCSVReader(br, name, ',')
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *aggreFact) Next() (Example, error) {
	rec, err := a.csvReader.cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return Example{}, io.EOF
		}
		return Example{}, fmt.Errorf("%s: %w", a.name, err)
	}
	line, _ := a.csvReader.cr.FieldPos(0)
	ex := Example{Line: line, Source: rec[a.src], Summary: rec[a.sum], ID: fmt.Sprintf("line %d", line)}
	if a.dataset >= 0 && rec[a.dataset] != "" {
		ex.ID = rec[a.dataset] + " " + ex.ID
	}
	switch strings.TrimSpace(rec[a.lab]) {
	case "1":
		ex.Label = Consistent
	case "0":
		ex.Label = Hallucinated
	default:
		return Example{}, fmt.Errorf("%s line %d: label %q: LLM-AggreFact labels are 1 (supported) or 0 (unsupported)", a.name, line, rec[a.lab])
	}
	return ex, check(ex, a.name)
}

// ragTruth reads RAGTruth's response.jsonl, joining each response to its
// source in source_info.jsonl (loaded whole: a few thousand sources).
type ragTruth struct {
	br      *bufio.Reader
	name    string
	line    int
	sources map[string]string
}

func newRAGTruth(r io.Reader, name, sourcesPath string) (*ragTruth, error) {
	f, err := os.Open(sourcesPath)
	if err != nil {
		return nil, fmt.Errorf("%s: RAGTruth responses need their sources: %w (source_info.jsonl is released next to response.jsonl)", name, err)
	}
	defer f.Close()
	sources := map[string]string{}
	br := bufio.NewReaderSize(f, 1<<16)
	for line := 1; ; line++ {
		raw, err := br.ReadBytes('\n')
		if t := bytes.TrimSpace(raw); len(t) > 0 {
			var s struct {
				SourceID   json.RawMessage `json:"source_id"`
				TaskType   string          `json:"task_type"`
				SourceInfo json.RawMessage `json:"source_info"`
			}
			if jerr := json.Unmarshal(t, &s); jerr != nil {
				return nil, fmt.Errorf("%s line %d: not a JSON object: %w", sourcesPath, line, jerr)
			}
			id := idString(s.SourceID)
			if id == "" {
				return nil, fmt.Errorf("%s line %d: no source_id", sourcesPath, line)
			}
			text, terr := ragTruthSource(s.TaskType, s.SourceInfo)
			if terr != nil {
				return nil, fmt.Errorf("%s line %d (source_id %s): %w", sourcesPath, line, id, terr)
			}
			sources[id] = text
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			return nil, fmt.Errorf("%s: %w", sourcesPath, err)
		}
	}
	return &ragTruth{br: bufio.NewReaderSize(r, 1<<16), name: name, sources: sources}, nil
}

// ragTruthSource is the grounding text a response is judged against.
func ragTruthSource(task string, info json.RawMessage) (string, error) {
	var s string
	if json.Unmarshal(info, &s) == nil {
		return s, nil // Summary
	}
	if task == "QA" {
		var qa struct {
			Question string `json:"question"`
			Passages string `json:"passages"`
		}
		if err := json.Unmarshal(info, &qa); err == nil && qa.Passages != "" {
			return "Question: " + qa.Question + "\n\n" + qa.Passages, nil
		}
	}
	// Data2txt: the structured record the response was written from, as
	// compact JSON.
	var buf bytes.Buffer
	if err := json.Compact(&buf, info); err != nil || buf.Len() == 0 || buf.String() == "null" {
		return "", fmt.Errorf("source_info is neither text nor an object")
	}
	return buf.String(), nil
}

// idString reads an id written as a string or a number.
func idString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (r *ragTruth) Next() (Example, error) {
	for {
		raw, err := r.br.ReadBytes('\n')
		if len(raw) == 0 && err != nil {
			if errors.Is(err, io.EOF) {
				return Example{}, io.EOF
			}
			return Example{}, fmt.Errorf("%s: %w", r.name, err)
		}
		r.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue
		}
		var resp struct {
			ID       json.RawMessage   `json:"id"`
			SourceID json.RawMessage   `json:"source_id"`
			Labels   []json.RawMessage `json:"labels"`
			Response *string           `json:"response"`
		}
		if err := json.Unmarshal(raw, &resp); err != nil {
			return Example{}, fmt.Errorf("%s line %d: not a RAGTruth response: %w", r.name, r.line, err)
		}
		if resp.Response == nil {
			return Example{}, fmt.Errorf("%s line %d: no \"response\" field", r.name, r.line)
		}
		sid := idString(resp.SourceID)
		src, ok := r.sources[sid]
		if !ok {
			return Example{}, fmt.Errorf("%s line %d: source_id %q is not in source_info.jsonl", r.name, r.line, sid)
		}
		ex := Example{Line: r.line, ID: fmt.Sprintf("line %d", r.line), Source: src, Summary: *resp.Response, Label: Consistent}
		if id := idString(resp.ID); id != "" {
			ex.ID = "id " + id
		}
		if len(resp.Labels) > 0 {
			ex.Label = Hallucinated
		}
		return ex, check(ex, r.name)
	}
}

package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/results"
)

const recordSchemaPath = "../../docs/record.schema.json"

// recordSchema compiles docs/record.schema.json, with "format" asserted
// (draft 2020-12 only annotates it by default) so that a time that is not
// RFC 3339 fails.
func recordSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(recordSchemaPath)
	require.NoError(t, err)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	require.NoError(t, err)
	c := jsonschema.NewCompiler()
	c.AssertFormat()
	require.NoError(t, c.AddResource("record.schema.json", doc))
	sch, err := c.Compile("record.schema.json")
	require.NoError(t, err)
	return sch
}

// schemaObjects returns the schema's object definitions by Go type: the
// record itself and its $defs.
func schemaObjects(t *testing.T) map[reflect.Type]map[string]any {
	t.Helper()
	b, err := os.ReadFile(recordSchemaPath)
	require.NoError(t, err)
	var root map[string]any
	require.NoError(t, json.Unmarshal(b, &root))
	defs, _ := root["$defs"].(map[string]any)
	def := func(name string) map[string]any {
		d, ok := defs[name].(map[string]any)
		require.True(t, ok, "$defs/%s", name)
		return d
	}
	return map[reflect.Type]map[string]any{
		reflect.TypeFor[results.Record]():    root,
		reflect.TypeFor[results.Usage]():     def("usage"),
		reflect.TypeFor[results.Error]():     def("error"),
		reflect.TypeFor[results.Params]():    def("params"),
		reflect.TypeFor[results.Injection](): def("injection"),
		reflect.TypeFor[results.Judgment]():  def("judgment"),
	}
}

// jsonFields lists typ's JSON field names, and those always written (no
// omitempty or omitzero).
func jsonFields(typ reflect.Type) (all, always []string) {
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") && !slices.Contains(strings.Split(opts, ","), "omitzero") {
			always = append(always, name)
		}
	}
	sort.Strings(all)
	sort.Strings(always)
	return all, always
}

// TestRecordSchemaMatchesGoTypes fails when a field is added, renamed or
// dropped in Go but not in the schema, or the other way round.
func TestRecordSchemaMatchesGoTypes(t *testing.T) {
	for typ, obj := range schemaObjects(t) {
		all, always := jsonFields(typ)
		props, _ := obj["properties"].(map[string]any)
		var declared []string
		for k := range props {
			declared = append(declared, k)
		}
		sort.Strings(declared)
		assert.Equal(t, all, declared, "%s: the JSON fields of the Go type and the schema's properties", typ)
		assert.Equal(t, false, obj["additionalProperties"], "%s: an undeclared field must fail validation", typ)
		var required []string
		for _, r := range obj["required"].([]any) {
			required = append(required, r.(string))
		}
		sort.Strings(required)
		assert.Equal(t, always, required, "%s: the fields Go always writes are the required ones", typ)
	}
}

// TestRecordSchemaValidatesRecords validates real records, made by hallu
// run from the builtin dataset with the builtin reference models, streamed
// (time to first token), seeded, and with a model whose endpoint refuses
// every request (error records); and one record with every field set.
func TestRecordSchemaValidatesRecords(t *testing.T) {
	sch := recordSchema(t)
	// Refuses every other request: a run where no document succeeds
	// stops, so some must.
	var n atomic.Int32
	refuse := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if n.Add(1)%2 == 1 {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`{"error":{"message":"context length exceeded","type":"invalid_request_error"}}`))
			return
		}
		// The run streams: answer as a stream, cut at the token limit,
		// with usage far below the prompt's size.
		w.Header().Set("Content-Type", "text/event-stream")
		w.Write([]byte("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"refused-served\",\"system_fingerprint\":\"fp_1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"The article says a number of things about the bridge.\"},\"finish_reason\":\"length\"}]}\n\n"))
		w.Write([]byte("data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\",\"model\":\"refused-served\",\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":9,\"total_tokens\":12}}\n\ndata: [DONE]\n\n"))
	}))
	defer refuse.Close()

	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	cfg := filepath.Join(dir, "run.yaml")
	require.NoError(t, os.WriteFile(cfg, []byte(`
dataset: builtin
limit: 6
output: `+out+`
seed: 7
stream: true
max_tokens: 300
models:
  - name: builtin:lead-3
  - name: builtin:corrupt@0.5
  - name: refused
    endpoint: `+refuse.URL+`/v1
    api_key_env: HALLU_SCHEMA_TEST_KEY
scorer: overlap
`), 0o644))
	t.Setenv("HALLU_SCHEMA_TEST_KEY", "sk-test")
	code, _, errOut := runMain(t, "", "run", "--config", cfg)
	require.Equal(t, 0, code, errOut)

	files, err := filepath.Glob(filepath.Join(out, "*", "*.jsonl"))
	require.NoError(t, err)
	require.Len(t, files, 6, "generations and judgments of three models")
	seen := map[string]bool{}
	for _, path := range files {
		f, err := os.Open(path)
		require.NoError(t, err)
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 16<<20)
		n := 0
		for sc.Scan() {
			n++
			validateRecord(t, sch, sc.Bytes(), path, n)
			var m map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &m))
			for k := range m {
				seen[k] = true
			}
		}
		require.NoError(t, sc.Err())
		f.Close()
		assert.Equal(t, 6, n, path)
	}
	// The run reached the parts of the schema it is meant to test.
	for _, k := range []string{"error", "injected", "judgment", "ttft_ms", "usage", "started_at", "params", "gen_key", "doc_sha256",
		"served_model", "system_fingerprint", "output_truncated", "input_truncated", "prompt_tokens_est"} {
		assert.True(t, seen[k], "no record has %q", k)
	}

	full := fullRecord()
	b, err := json.Marshal(full)
	require.NoError(t, err)
	validateRecord(t, sch, b, "every field set", 1)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"judgment", "params", "usage", "error", "injected"} {
		require.Contains(t, m, k, "fullRecord sets every field")
	}

	// And the schema is not vacuous: a renamed field, a wrong type and an
	// out-of-range score fail.
	for _, bad := range []string{
		strings.Replace(string(b), `"doc_id"`, `"docid"`, 1),
		strings.Replace(string(b), `"schema":1`, `"schema":"1"`, 1),
		strings.Replace(string(b), `"score":0.25`, `"score":1.5`, 1),
		strings.Replace(string(b), `"started_at":"`, `"started_at":"yesterday`, 1),
	} {
		inst, err := jsonschema.UnmarshalJSON(strings.NewReader(bad))
		require.NoError(t, err)
		assert.Error(t, sch.Validate(inst), bad)
	}
}

func validateRecord(t *testing.T, sch *jsonschema.Schema, line []byte, path string, n int) {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(line))
	require.NoError(t, err, "%s line %d", path, n)
	if err := sch.Validate(inst); err != nil {
		t.Errorf("%s line %d does not match docs/record.schema.json: %v\n%s", path, n, err, line)
	}
}

// fullRecord sets every field of a record, so that each property's type in
// the schema is checked against what Go writes.
func fullRecord() *results.Record {
	seed, score := 7, 0.25
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	return &results.Record{
		Schema: results.SchemaVersion, DocID: "d1", Dataset: "xsum", Source: "The text.",
		DocHash: results.TextHash("The text."), Model: "m", ModelCanonical: "m:latest", Endpoint: "http://127.0.0.1:1/v1", PromptHash: "p",
		Params: &results.Params{Temperature: 0.5, Seed: &seed, MaxTokens: 100, MaxTokensField: "max_completion_tokens", Stream: true, Extra: map[string]any{"top_p": 0.9}},
		GenKey: "k", ServedModel: "m-2026", SystemFingerprint: "fp",
		Summary: "A text.", Raw: "<think>x</think>A text.", FinishReason: "length",
		LatencyMS: 12.5, TTFTMS: 3.5, LatencyQueued: true, Usage: &results.Usage{PromptTokens: 10, CompletionTokens: 3},
		Attempts: 2, Error: &results.Error{Class: errclass.Timeout, Message: "slow"},
		OutputTruncated: true, InputTruncated: true, PromptTokensEst: 12,
		StartedAt: at, EndedAt: at.Add(time.Second),
		Injected: []results.Injection{{Kind: "number", Original: "3", Replaced: "4"}},
		Judgment: &results.Judgment{
			Scorer: "judge", Version: "1", Options: map[string]string{"model": "j"}, Weights: "abc",
			ScorerKey: "sk", GenHash: "gh", FallbackFor: "hhem", Score: &score, Explanation: "why",
			Error: &results.Error{Class: errclass.Scorer, Message: "m"},
			Usage: &results.Usage{PromptTokens: 1, CompletionTokens: 1}, At: at,
		},
	}
}

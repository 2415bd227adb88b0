package results

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
)

// FuzzDecode: Decode never panics, and what it accepts has the fields every
// stage relies on. DecodeBrief accepts only valid JSON, accepts whatever
// Decode accepts, and reads the same values from it.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","summary":"a b c d e f","judgment":{"scorer":"x","score":0.5}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","error":{"class":"timeout","message":"t"}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","judgment":{"score":1e309}}`))
	f.Add([]byte(`{"schema":2,"doc_id":"d","model":"m"}`))
	f.Add([]byte(`{"schema":1,"doc_id":"","model":"m","usage":{"prompt_tokens":-1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"SCHEMA":1,"doc_\u0069d":"d\u00e9","model":"m","model":"n","usage":{"prompt_tokens":3},"usage":null}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","summary":"caf\xc3 ok","source":[{"a":[1,-2.5e3,true,null]}]}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","doc_sha256":"ab","model":"m","endpoint":"http://h/v1","prompt_hash":"p",` +
		`"model_canonical":"m:latest","latency_queued":true,` +
		`"params":{"temperature":0.7,"seed":3,"max_tokens":9,"max_tokens_field":"max_completion_tokens","stream":true,"extra":{"top_p":0.9}},"params":{"seed":null},` +
		`"served_model":"m-q4","system_fingerprint":"fp","output_truncated":true,"input_truncated":false,` +
		`"judgment":{"scorer":"hhem","scorer_version":"2","scorer_options":{"a":"b"},"scorer_weights":"w","scorer_key":"k","fallback_for":"x","score":0.5}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","params":{"temperature":1e39}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","output_truncated":1}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","judgment":{"scorer_options":{"a":1}}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		var brief Brief
		berr := DecodeBrief(b, &brief)
		if berr == nil && !json.Valid(b) {
			t.Fatalf("DecodeBrief accepts invalid JSON %q", b)
		}
		rec, err := Decode(b)
		if err != nil {
			return
		}
		if rec.DocID == "" || rec.Model == "" {
			t.Fatalf("accepted a record without doc_id or model: %q", b)
		}
		if rec.Schema < 1 || rec.Schema > SchemaVersion {
			t.Fatalf("accepted schema %d", rec.Schema)
		}
		if j := rec.Judgment; j != nil && j.Score != nil && !(*j.Score >= 0 && *j.Score <= 1) {
			t.Fatalf("accepted score %v", *j.Score)
		}
		if berr != nil {
			t.Fatalf("Decode accepts but DecodeBrief rejects %q: %v", b, berr)
		}
		if want := BriefOf(rec); !reflect.DeepEqual(brief, want) {
			t.Fatalf("DecodeBrief disagrees on %q:\n%+v\n%+v", b, brief, want)
		}
	})
}

package results

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode: Decode never panics, and what it accepts has the fields every
// stage relies on. The report's own decoder (scanRecord) accepts only valid
// JSON, accepts whatever Decode accepts, and reads the same values from it.
func FuzzDecode(f *testing.F) {
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","summary":"a b c d e f","judgment":{"scorer":"x","score":0.5}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","error":{"class":"timeout","message":"t"}}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","judgment":{"score":1e309}}`))
	f.Add([]byte(`{"schema":2,"doc_id":"d","model":"m"}`))
	f.Add([]byte(`{"schema":1,"doc_id":"","model":"m","usage":{"prompt_tokens":-1}}`))
	f.Add([]byte(`[1,2]`))
	f.Add([]byte(`{"SCHEMA":1,"doc_\u0069d":"d\u00e9","model":"m","model":"n","usage":{"prompt_tokens":3},"usage":null}`))
	f.Add([]byte(`{"schema":1,"doc_id":"d","model":"m","summary":"caf\xc3 ok","source":[{"a":[1,-2.5e3,true,null]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		b = bytes.TrimSpace(b)
		o, oerr := decodeObservation(b)
		if oerr == nil && !json.Valid(b) {
			t.Fatalf("report decoder accepts invalid JSON %q", b)
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
		if oerr != nil {
			t.Fatalf("Decode accepts but the report decoder rejects %q: %v", b, oerr)
		}
		if want := FromRecord(rec); o != want {
			t.Fatalf("report decoder disagrees on %q:\n%+v\n%+v", b, o, want)
		}
	})
}

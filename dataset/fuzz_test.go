package dataset

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"
	"unicode/utf8"
)

// fuzzFormat feeds data to a format and checks the loader's contract: no
// panic, termination, and every document returned is usable.
func fuzzFormat(t *testing.T, format string, data []byte) {
	f, err := lookupFormat(format)
	if err != nil {
		t.Fatal(err)
	}
	src, err := f(io.NopCloser(bytes.NewReader(data)), "fuzz."+format, Options{MaxBytes: 1 << 16})
	if err != nil {
		return // a rejected header is a fine answer
	}
	src = newChecked(src, "fuzz."+format, Options{})
	defer src.Close()
	docs, _, final := drain(t, src)
	if len(docs) == 0 && final == nil {
		t.Fatal("no documents, yet the source ended as if it had some")
	}
	seen := map[string]bool{}
	for _, d := range docs {
		if d.ID == "" || !utf8.ValidString(d.ID) {
			t.Fatalf("bad id %q", d.ID)
		}
		if len(bytes.TrimSpace([]byte(d.Text))) == 0 || !utf8.ValidString(d.Text) {
			t.Fatalf("bad text %q for id %q", d.Text, d.ID)
		}
		if !utf8.ValidString(d.Dataset) {
			t.Fatalf("bad dataset label %q", d.Dataset)
		}
		if seen[d.ID] {
			t.Fatalf("id %q returned twice", d.ID)
		}
		seen[d.ID] = true
	}
}

func FuzzCSV(f *testing.F) {
	for _, s := range []string{
		"article_id,text,dataset\n1,\"a\nb\",x\n2,c,y\n",
		"id,text\n1,\"\"\"quoted\"\"\"\n1,dup\n,empty id\n",
		"Text,ID,extra\r\nhello,a,z\r\n\"unterminated,b\n",
		"\uFEFFid,text\n\xff,\xfe\n",
		"id,text\nonly-id\n",
		"id;text\n1;x\n",
		"id,text\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzFormat(t, "csv", data) })
}

func FuzzJSONL(f *testing.F) {
	for _, s := range []string{
		`{"id":"a","text":"x","dataset":"d"}` + "\n" + `{"id":1,"text":"y"}`,
		`{"id":"a","text":"x"}` + "\n" + `{"id":"a","text":"dup"}` + "\n\n[1]\n",
		"{\"id\":\"\xff\",\"text\":\"\\ud800\"}\n{\"id\":-1e5,\"text\":\" \"}\n",
		`{"id":{},"text":1}` + "\r\n" + `{"article_id":"z","text":"\u00e9"}`,
		"\uFEFF{\"id\":null}\n{",
		`{"id":"a","body":"x"}` + "\n" + `{"id":"b","text":"y"}`,
		`{"id":"a","text":"x"}` + "\n" + `{"id":"b"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) { fuzzFormat(t, "jsonl", data) })
}

// FuzzSniff checks that telling CSV from JSONL on standard input loses no
// byte and always picks a registered format.
func FuzzSniff(f *testing.F) {
	for _, s := range []string{"", "\uFEFF", "\xef\xbb", " \n{", "id,text\n", "\t[1]"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rc, format, err := sniff(io.NopCloser(bytes.NewReader(data)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(rc)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("read back %q, %v; want %q", got, err, data)
		}
		if _, err := lookupFormat(format); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzUnquote checks our JSON string decoder against encoding/json on every
// literal encoding/json accepts.
func FuzzUnquote(f *testing.F) {
	for _, s := range []string{`"plain"`, `"a\nb\t\"c\"\\d\/e"`, `"\u00e9\ud83d\ude00x"`, `"\ud800"`, `"\ud800\u0041"`, `"\udc00\ud800\udc00"`, `"\uD83D\uDE00\b\f\r"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, lit []byte) {
		var want string
		if !utf8.Valid(lit) || json.Unmarshal(lit, &want) != nil || len(lit) == 0 || lit[0] != '"' {
			return
		}
		if got := unquote(bytes.TrimSpace(lit)); got != want {
			t.Fatalf("unquote(%s) = %q, encoding/json says %q", lit, got, want)
		}
	})
}

package integration

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"maps"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hallu-eval/hallu/results"
)

// words is the documents' vocabulary; the tiny models know each as a token.
var words = strings.Fields(`harbor council bridge river market school winter
	farmers mayor library storm village museum workers station festival bakery
	engineers record rainfall ferry island teachers garden hospital road budget
	announced opened repaired closed planned visited reported measured
	yesterday morning evening new old local national small large`)

// document is a deterministic pseudo-sentence text of about n words.
func document(seed uint64, n int) string {
	r := rand.New(rand.NewPCG(seed, 7))
	var b strings.Builder
	for i := 0; i < n; i++ {
		w := words[r.IntN(len(words))]
		switch {
		case i%9 == 0:
			if i > 0 {
				b.WriteString(". ")
			}
			w = strings.ToUpper(w[:1]) + w[1:]
		default:
			b.WriteByte(' ')
		}
		b.WriteString(w)
	}
	b.WriteString(".")
	return b.String()
}

type doc struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// writeDataset writes docs as JSONL into the test's directory.
func writeDataset(t *testing.T, docs []doc) string {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "docs.jsonl")
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func shortDocs(n int) []doc {
	docs := make([]doc, n)
	for i := range docs {
		docs[i] = doc{ID: fmt.Sprintf("d%02d", i), Text: document(uint64(i), 40+5*i)}
	}
	return docs
}

type result struct {
	stdout, stderr string
	code           int
}

// hallu runs the hallu binary with args and no API key or endpoint from the
// caller's environment.
func hallu(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.CommandContext(t.Context(), env.hallu, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(), "HF_HUB_OFFLINE=1"}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		// Errorf, not Fatalf: hallu may run on a goroutine of its own.
		t.Errorf("hallu %v: %v", args, err)
		r.code = -1
	}
	t.Logf("hallu %s: exit %d\n%s", strings.Join(args, " "), r.code, r.stderr)
	return r
}

func readRecords(t *testing.T, path string) []results.Record {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var recs []results.Record
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var r results.Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s line %d: %v", path, line, err)
		}
		recs = append(recs, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return recs
}

// byID indexes records by document id and fails on a document recorded twice.
func byID(t *testing.T, recs []results.Record) map[string]results.Record {
	t.Helper()
	m := map[string]results.Record{}
	for _, r := range recs {
		if _, dup := m[r.DocID]; dup {
			t.Errorf("document %s recorded twice", r.DocID)
		}
		m[r.DocID] = r
	}
	return m
}

// checkSummarized asserts that every document has exactly one record holding
// the model's known answer, with usage and a finish reason.
func checkSummarized(t *testing.T, recs []results.Record, docs []doc, m tinyModel, stream bool) {
	t.Helper()
	got := byID(t, recs)
	if len(got) != len(docs) {
		t.Errorf("%d documents recorded, want %d", len(got), len(docs))
	}
	for _, d := range docs {
		r, ok := got[d.ID]
		if !ok {
			t.Errorf("document %s: no record", d.ID)
			continue
		}
		if r.Error != nil {
			t.Errorf("document %s: error %s: %s", d.ID, r.Error.Class, r.Error.Message)
			continue
		}
		if r.Summary != m.answerText() {
			t.Errorf("document %s: summary %q, want %q", d.ID, r.Summary, m.answerText())
		}
		if r.FinishReason != "stop" {
			t.Errorf("document %s: finish_reason %q, want stop", d.ID, r.FinishReason)
		}
		if r.Usage == nil || r.Usage.PromptTokens <= 0 || r.Usage.CompletionTokens <= 0 {
			t.Errorf("document %s: usage %+v, want prompt and completion tokens", d.ID, r.Usage)
		}
		if r.ServedModel == "" {
			t.Errorf("document %s: served_model not recorded", d.ID)
		}
		if r.OutputTruncated || r.InputTruncated {
			t.Errorf("document %s: output_truncated %v input_truncated %v, want neither", d.ID, r.OutputTruncated, r.InputTruncated)
		}
		if stream && r.TTFTMS <= 0 {
			t.Errorf("document %s: streamed but no time to first token", d.ID)
		}
		if r.Params == nil || r.Params.Stream != stream {
			t.Errorf("document %s: params %+v, want stream %v", d.ID, r.Params, stream)
		}
	}
}

// countLines is the number of complete lines in path, 0 when it is missing.
func countLines(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return bytes.Count(b, []byte("\n"))
}

// newPoller ticks for polling a condition; what is polled decides, not time.
func newPoller() *time.Ticker { return time.NewTicker(20 * time.Millisecond) }

// countingProxy forwards to the server and counts the replies by status
// before the client sees them, so counts are final once the client is done.
type countingProxy struct {
	url      string
	mu       sync.Mutex
	byStatus map[int]int
}

func newCountingProxy(t *testing.T) *countingProxy {
	t.Helper()
	target, err := url.Parse("http://" + env.addr)
	if err != nil {
		t.Fatal(err)
	}
	p := &countingProxy{byStatus: map[int]int{}}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		p.mu.Lock()
		p.byStatus[resp.StatusCode]++
		p.mu.Unlock()
		return nil
	}
	// Requests the client gives up on (a run stopping) are expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	p.url = srv.URL
	return p
}

func (p *countingProxy) counts() (int, map[int]int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, c := range p.byStatus {
		n += c
	}
	return n, maps.Clone(p.byStatus)
}

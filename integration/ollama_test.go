package integration

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The tests share one server and run one after another: the resume test
// kills and restarts it.

func TestGenerate(t *testing.T) {
	needServer(t)
	docs := shortDocs(6)
	data := writeDataset(t, docs)
	for _, stream := range []bool{false, true} {
		name := "nonstream"
		if stream {
			name = "stream"
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "gen.jsonl")
			args := []string{"generate", "--dataset", data, "--model", tinyA.Name, "--endpoint", endpoint(),
				"--concurrency", "4", "--out", out}
			if stream {
				args = append(args, "--stream")
			}
			if r := hallu(t, args...); r.code != 0 {
				t.Fatalf("exit %d", r.code)
			}
			recs := readRecords(t, out)
			checkSummarized(t, recs, docs, tinyA, stream)
			if len(recs) > 0 {
				r := recs[0]
				t.Logf("served_model %q, system_fingerprint %q, finish_reason %q, usage %+v, prompt_tokens_est %d, ttft_ms %.1f",
					r.ServedModel, r.SystemFingerprint, r.FinishReason, r.Usage, r.PromptTokensEst, r.TTFTMS)
			}
		})
	}
}

func TestUnknownModel(t *testing.T) {
	needServer(t)
	docs := shortDocs(8)
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	// The proxy counts what reaches the server; its endpoint is not the
	// server's, so the message names the proxy's address.
	proxy := newCountingProxy(t)
	r := hallu(t, "generate", "--dataset", writeDataset(t, docs), "--model", "no-such-model",
		"--endpoint", proxy.url+"/v1", "--concurrency", "1", "--out", out)
	// hallu asks the server what it serves before the first request: an
	// unknown model is bad input, named with the closest served names,
	// and no document is sent at all.
	if r.code != 2 {
		t.Errorf("exit %d for a model the server does not have, want 2", r.code)
	}
	msg := strings.TrimSpace(r.stderr)
	if strings.Count(msg, "\n") != 0 || !strings.Contains(msg, `"no-such-model"`) || !strings.Contains(msg, "tiny-a") {
		t.Errorf("want one line naming the model and the served ones, got:\n%s", r.stderr)
	}
	total, byStatus := proxy.counts()
	t.Logf("requests that reached the server: %d %v", total, byStatus)
	if byStatus[http.StatusNotFound] != 0 || total == 0 || total > 4 {
		t.Errorf("%d requests reached the server (%v): want only the few that list its models", total, byStatus)
	}
	if b, err := os.ReadFile(out); err == nil && len(bytes.TrimSpace(b)) > 0 {
		t.Errorf("records were written for a model that does not exist:\n%s", b)
	}
}

// Ollama answers a model under several names; hallu records the name
// asked for and the server's own, so reports group them as one model.
func TestCanonicalName(t *testing.T) {
	needServer(t)
	docs := shortDocs(2)
	for _, name := range []string{tinyA.Name, tinyA.Name + ":latest", strings.ToUpper(tinyA.Name)} {
		out := filepath.Join(t.TempDir(), "gen.jsonl")
		if r := hallu(t, "generate", "--dataset", writeDataset(t, docs), "--model", name,
			"--endpoint", endpoint(), "--out", out); r.code != 0 {
			t.Fatalf("%s: exit %d", name, r.code)
		}
		for _, r := range readRecords(t, out) {
			if r.Error != nil || r.Model != name {
				t.Errorf("%s: document %s: model %q error %v", name, r.DocID, r.Model, r.Error)
			}
			canon := r.ModelCanonical
			if canon == "" {
				canon = r.Model
			}
			if canon != tinyA.Name+":latest" {
				t.Errorf("%s: canonical name %q, want %s:latest", name, canon, tinyA.Name)
			}
		}
	}
}

func TestMaxTokens(t *testing.T) {
	needServer(t)
	docs := shortDocs(3)
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	if r := hallu(t, "generate", "--dataset", writeDataset(t, docs), "--model", tinyA.Name,
		"--endpoint", endpoint(), "--max-tokens", "5", "--out", out); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	recs := readRecords(t, out)
	if len(recs) != len(docs) {
		t.Fatalf("%d records, want %d", len(recs), len(docs))
	}
	want := tinyModel{Answer: tinyA.Answer[:5]}.answerText()
	for _, r := range recs {
		if r.Error != nil {
			t.Errorf("document %s: error %v", r.DocID, r.Error)
			continue
		}
		if r.FinishReason != "length" || !r.OutputTruncated {
			t.Errorf("document %s: finish_reason %q output_truncated %v, want length and true", r.DocID, r.FinishReason, r.OutputTruncated)
		}
		if r.Usage == nil || r.Usage.CompletionTokens != 5 {
			t.Errorf("document %s: usage %+v, want 5 completion tokens", r.DocID, r.Usage)
		}
		if r.Summary != want {
			t.Errorf("document %s: summary %q, want %q", r.DocID, r.Summary, want)
		}
	}
}

// Ollama cuts a prompt longer than its context without saying so; the only
// sign is the prompt token count. hallu must flag the record.
func TestDocumentLongerThanContext(t *testing.T) {
	needServer(t)
	docs := []doc{
		{ID: "short", Text: document(1, 40)},
		{ID: "long", Text: document(2, 3000)},
	}
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	r := hallu(t, "generate", "--dataset", writeDataset(t, docs), "--model", tinyA.Name,
		"--endpoint", endpoint(), "--out", out)
	if r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	got := byID(t, readRecords(t, out))
	long, short := got["long"], got["short"]
	if long.Usage == nil || short.Usage == nil {
		t.Fatalf("usage missing: long %+v short %+v", long.Usage, short.Usage)
	}
	t.Logf("long document: prompt_tokens %d (context %d), prompt_tokens_est %d, finish_reason %q, error %v",
		long.Usage.PromptTokens, contextLength, long.PromptTokensEst, long.FinishReason, long.Error)
	t.Logf("short document: prompt_tokens %d, prompt_tokens_est %d", short.Usage.PromptTokens, short.PromptTokensEst)
	if long.Error != nil {
		t.Fatalf("long document: error %v; Ollama truncates rather than refusing", long.Error)
	}
	if long.Usage.PromptTokens > contextLength {
		t.Errorf("long document: server reported %d prompt tokens, more than its context %d", long.Usage.PromptTokens, contextLength)
	}
	if !long.InputTruncated {
		t.Errorf("long document: input_truncated not set though the server read %d of about %d tokens",
			long.Usage.PromptTokens, long.PromptTokensEst)
	}
	if short.InputTruncated {
		t.Errorf("short document flagged input_truncated")
	}
	if !strings.Contains(r.stderr, "1 documents were cut by the server to fit its context") {
		t.Errorf("no warning about the cut document on stderr:\n%s", r.stderr)
	}
}

func TestRunTwoModels(t *testing.T) {
	needServer(t)
	docs := shortDocs(4)
	dir := t.TempDir()
	outDir := filepath.Join(dir, "results")
	cfg := "dataset: " + writeDataset(t, docs) + "\n" +
		"output: " + outDir + "\n" +
		"endpoint: " + endpoint() + "\n" +
		"concurrency: 2\n" +
		"models:\n  - name: " + tinyA.Name + "\n  - name: " + tinyB.Name + "\n" +
		"scorer: overlap\n" +
		"report:\n  formats: [markdown, json]\n"
	cfgPath := filepath.Join(dir, "run.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := hallu(t, "run", "--config", cfgPath); r.code != 0 {
		t.Fatalf("exit %d", r.code)
	}
	for _, m := range []tinyModel{tinyA, tinyB} {
		checkSummarized(t, readRecords(t, filepath.Join(outDir, m.Name, "generations.jsonl")), docs, m, false)
		judged := readRecords(t, filepath.Join(outDir, m.Name, "judgments.jsonl"))
		if len(judged) != len(docs) {
			t.Errorf("%s: %d judgments, want %d", m.Name, len(judged), len(docs))
		}
		for _, r := range judged {
			if r.Judgment == nil || r.Judgment.Score == nil {
				t.Errorf("%s document %s: not scored: %+v", m.Name, r.DocID, r.Judgment)
			}
		}
	}
	md, err := os.ReadFile(filepath.Join(outDir, "leaderboard.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []tinyModel{tinyA, tinyB} {
		if !strings.Contains(string(md), m.Name) {
			t.Errorf("leaderboard.md does not list %s:\n%s", m.Name, md)
		}
	}
}

// The server dies (SIGKILL, runners included) while a run is under way and
// comes back on the same address; rerunning the same command finishes the
// dataset with every document exactly once.
func TestResumeAfterServerKilled(t *testing.T) {
	needServer(t)
	docs := shortDocs(12)
	data := writeDataset(t, docs)
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	// --rpm spaces the requests so that the run is still going when the
	// server is killed; the kill itself waits on records, not on time.
	args := []string{"generate", "--dataset", data, "--model", tinyA.Name, "--endpoint", endpoint(),
		"--concurrency", "2", "--rpm", "120", "--out", out}

	finished := make(chan result, 1)
	go func() { finished <- hallu(t, args...) }()
	killed := false
	ticker := newPoller()
	defer ticker.Stop()
	for !killed {
		select {
		case r := <-finished:
			t.Fatalf("the run ended (exit %d) before the server was killed; nothing was interrupted", r.code)
		case <-ticker.C:
			if countLines(out) >= 3 {
				env.server.kill()
				killed = true
			}
		}
	}
	first := <-finished
	before := readRecords(t, out)
	done := 0
	for _, r := range before {
		if r.Error == nil {
			done++
		} else {
			t.Logf("first run, document %s: attempts %d, %s: %s", r.DocID, r.Attempts, r.Error.Class, r.Error.Message)
		}
	}
	t.Logf("first run: exit %d, %d records (%d summaries) before the restart", first.code, len(before), done)
	if done >= len(docs) {
		t.Fatalf("all %d documents were done before the kill; nothing to resume", done)
	}
	if first.code == 0 {
		t.Errorf("first run exited 0 though the server died under it")
	}

	var err error
	if env.server, err = startOllama(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := hallu(t, args...); r.code != 0 {
		t.Fatalf("resumed run: exit %d", r.code)
	}
	recs := readRecords(t, out)
	checkSummarized(t, recs, docs, tinyA, false)
	ids := []string{}
	for _, r := range recs {
		ids = append(ids, r.DocID)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != len(recs) {
		t.Errorf("records %v: a document appears twice", ids)
	}
}

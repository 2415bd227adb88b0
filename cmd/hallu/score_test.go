package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/refmodel"
	"github.com/hallu-eval/hallu/results"
)

// scoreCLIInput writes generate-style records for n synthetic articles, one
// from builtin:lead-3 and one from builtin:corrupt@1 each, plus one refusal.
func scoreCLIInput(t *testing.T, n int) []byte {
	t.Helper()
	var b bytes.Buffer
	w := results.NewWriter(&b)
	for i := range n {
		article := refmodel.SampleArticle(i)
		for _, model := range []string{refmodel.Lead3, refmodel.Corrupt + "@1"} {
			summary, inj, err := refmodel.Summarize(model, article)
			require.NoError(t, err)
			require.NoError(t, w.Write(&results.Record{DocID: "doc" + strconv.Itoa(i), Model: model, Source: article, Summary: summary, Injected: inj}))
		}
	}
	require.NoError(t, w.Write(&results.Record{DocID: "refused", Model: refmodel.Lead3, Source: "Some text.", Summary: leaderboard.RefusalSentence}))
	return b.Bytes()
}

func runCLI(t *testing.T, stdin []byte, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, bytes.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func parseRecords(t *testing.T, b []byte) []*results.Record {
	t.Helper()
	return decodeRecords(t, bytes.NewReader(b), "out")
}

func checkOverlapJudgments(t *testing.T, recs []*results.Record, n int) {
	t.Helper()
	require.Len(t, recs, 2*n+1)
	for _, rec := range recs {
		j := rec.Judgment
		require.NotNil(t, j, rec.DocID)
		assert.Equal(t, "overlap", j.Scorer)
		assert.Nil(t, j.Error)
		switch {
		case rec.DocID == "refused":
			assert.Nil(t, j.Score, "a refusal is not judged")
		case rec.Model == refmodel.Lead3:
			require.NotNil(t, j.Score)
			assert.GreaterOrEqual(t, *j.Score, 0.5, "%s: %s", rec.DocID, j.Explanation)
		default:
			require.NotNil(t, j.Score)
			assert.Less(t, *j.Score, 0.5, "%s %+v: %s", rec.DocID, rec.Injected, j.Explanation)
			assert.Contains(t, j.Explanation, "unsupported:")
		}
	}
}

func TestScoreCLIFiles(t *testing.T) {
	const n = 25
	dir := t.TempDir()
	in, out := filepath.Join(dir, "gen.jsonl"), filepath.Join(dir, "judged.jsonl")
	require.NoError(t, os.WriteFile(in, scoreCLIInput(t, n), 0o644))

	code, stdout, stderr := runCLI(t, nil, "score", "--scorer", "overlap", "--in", in, "--out", out, "--batch", "4", "--concurrency", "3")
	require.Equal(t, 0, code, stderr)
	assert.Empty(t, stdout)
	assert.Contains(t, stderr, "50 judged, 0 failed, 1 not judged")
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	checkOverlapJudgments(t, parseRecords(t, b), n)

	// Rerun: everything is already done, and the file is unchanged.
	code, _, stderr = runCLI(t, nil, "score", "--scorer", "overlap", "--in", in, "--out", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "51 records already judged")
	assert.Contains(t, stderr, "0 judged, 0 failed, 0 not judged (invalid summary), 51 already done")
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, b, after)

	// Resume after a crash that tore the last line.
	torn := b[:bytes.LastIndexByte(b[:len(b)-1], '\n')+1]
	torn = append(torn, b[len(torn):len(torn)+40]...)
	require.NoError(t, os.WriteFile(out, torn, 0o644))
	code, _, stderr = runCLI(t, nil, "score", "--scorer", "overlap", "--in", in, "--out", out)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, stderr, "50 already done")
	after, err = os.ReadFile(out)
	require.NoError(t, err)
	checkOverlapJudgments(t, parseRecords(t, after), n)

	// Writing over the input is refused.
	code, _, stderr = runCLI(t, nil, "score", "--scorer", "overlap", "--in", in, "--out", in)
	assert.Equal(t, 2, code, stderr)
	assert.Contains(t, stderr, "same file")
}

func TestScoreCLIPipe(t *testing.T) {
	const n = 10
	code, stdout, stderr := runCLI(t, scoreCLIInput(t, n), "score", "--scorer", "overlap")
	require.Equal(t, 0, code, stderr)
	checkOverlapJudgments(t, parseRecords(t, []byte(stdout)), n)
}

func TestScoreCLIRefusesOtherScorersOutput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "judged.jsonl")
	s := 0.9
	var b bytes.Buffer
	require.NoError(t, results.NewWriter(&b).Write(&results.Record{DocID: "d", Model: "m", Summary: "x", Judgment: &results.Judgment{Scorer: "hhem", Score: &s}}))
	require.NoError(t, os.WriteFile(out, b.Bytes(), 0o644))
	code, _, stderr := runCLI(t, scoreCLIInput(t, 1), "score", "--scorer", "overlap", "--out", out)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, `judged by hhem (an older hallu, without scorer identities), not overlap`)
	after, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Equal(t, b.Bytes(), after, "the other scorer's file is untouched")
}

func TestScoreCLIRefusesUnjudgedOutput(t *testing.T) {
	dir := t.TempDir()
	gen := filepath.Join(dir, "gen.jsonl")
	input := scoreCLIInput(t, 2)
	require.NoError(t, os.WriteFile(gen, input, 0o644))
	code, _, stderr := runCLI(t, input, "score", "--scorer", "overlap", "--out", gen)
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "line 1 has no judgment")
	after, err := os.ReadFile(gen)
	require.NoError(t, err)
	assert.Equal(t, input, after, "generate's output must survive a wrong --out")
}

func TestScoreCLIFailuresExitNonZero(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, results.NewWriter(&b).Write(&results.Record{DocID: "d", Model: "m", Summary: "A summary of six whole words."}))
	code, stdout, stderr := runCLI(t, b.Bytes(), "score", "--scorer", "overlap")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "failed on 1 records")
	recs := parseRecords(t, []byte(stdout))
	require.Len(t, recs, 1)
	require.NotNil(t, recs[0].Judgment.Error)
	assert.Equal(t, "record has no source text", recs[0].Judgment.Error.Message)
}

func TestScoreCLIBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"score"}, "--scorer is required (available:"},
		{[]string{"score", "--scorer", "nope"}, `unknown scorer "nope" (available:`},
		{[]string{"score", "--scorer", "overlap", "--scorer-opt", "novalue"}, "is not key=value"},
		{[]string{"score", "--scorer", "overlap", "--scorer-opt", "k=v"}, `unknown option "k"`},
		{[]string{"score", "--scorer", "overlap", "--batch", "0"}, "--batch 0"},
		{[]string{"score", "--scorer", "overlap", "--in", "/nonexistent/x.jsonl"}, "/nonexistent/x.jsonl"},
		{[]string{"score", "--scorer", "overlap", "extra"}, `unexpected argument "extra"`},
	} {
		code, _, stderr := runCLI(t, nil, c.args...)
		assert.Equal(t, 2, code, "%v: %s", c.args, stderr)
		assert.Contains(t, stderr, c.want, c.args)
	}

	code, _, stderr := runCLI(t, []byte("{\"schema\":1}\n"), "score", "--scorer", "overlap")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, `stdin line 1: record has no "doc_id"`)
}

func TestScorersCommand(t *testing.T) {
	code, stdout, _ := runCLI(t, nil, "scorers")
	require.Equal(t, 0, code)
	var found bool
	for _, line := range strings.Split(stdout, "\n") {
		if strings.HasPrefix(line, "overlap ") {
			found = true
			assert.Contains(t, line, "not a substitute for HHEM")
		}
	}
	assert.True(t, found, stdout)
	assert.Contains(t, stdout, "granularity=sentence", "the options every scorer takes are listed")
}

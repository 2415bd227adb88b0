package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/scorers"
)

// tiny keeps the generated model small enough for a unit test.
var tiny = dims{Vocab: 400, DModel: 32, Heads: 4, DKV: 8, DFF: 48, Layers: 2, Labels: 2, Buckets: 32}

func TestPairTextInvertsPairIDs(t *testing.T) {
	for _, n := range []int{14, 15, 128, 2048} {
		ids, err := pairIDs(n, flanT5Base.Vocab, 3)
		require.NoError(t, err)
		require.Len(t, ids, n)
		src, sum, err := pairText(ids)
		require.NoError(t, err)
		ns, nh := len(strings.Fields(src)), len(strings.Fields(sum))
		assert.Equal(t, n-len(prefixIDs)-2, ns+nh, "n=%d", n)
		assert.GreaterOrEqual(t, nh, 1)
	}
	_, err := pairIDs(13, flanT5Base.Vocab, 3)
	require.Error(t, err)
	_, _, err = pairText([]int{padID, 3, 4, eosID})
	require.Error(t, err)
}

// The generated directory is what the hhem scorer loads, and the synthetic
// tokenizer gives pairText's text exactly len(ids) tokens: with max-tokens
// at that count nothing is cut, one below it the scorer truncates.
func TestGeneratedModelLoadsAndTokenizesAsPlanned(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeModel(dir, tiny, 5))
	ids, err := pairIDs(60, tiny.Vocab, 9)
	require.NoError(t, err)
	src, sum, err := pairText(ids)
	require.NoError(t, err)
	ctx := context.Background()
	score := func(maxTokens string) scorers.Result {
		s, err := scorers.Open(ctx, "hhem", scorers.Options{"model-dir": dir, "max-tokens": maxTokens})
		require.NoError(t, err)
		defer s.Close()
		res, err := s.Score(ctx, []scorers.Pair{{Source: src, Summary: sum}})
		require.NoError(t, err)
		return res[0]
	}
	whole := score("60")
	assert.Empty(t, whole.Explanation)
	assert.Greater(t, whole.Score, 0.0)
	assert.Less(t, whole.Score, 1.0)
	cut := score("59")
	assert.Contains(t, cut.Explanation, "truncated")
	assert.NotEqual(t, whole.Score, cut.Score)
}

func TestEncoderFLOPs(t *testing.T) {
	one := flanT5Base
	one.Layers = 1
	d, i, f := 768.0, 768.0, 2048.0
	// At one token the last block computes everything a full block does.
	assert.InDelta(t, 8*d*i+6*d*f+4*i, encoderFLOPs(one, 1), 1)
	// Doubling the length doubles the linear work and quadruples
	// attention's 4·n²·i in the 11 full blocks and 4·n·i in the last.
	n := 512.0
	got := encoderFLOPs(flanT5Base, 1024) - 2*encoderFLOPs(flanT5Base, 512)
	assert.InDelta(t, 11*4*i*(4*n*n-2*n*n)-(4*d*i+6*d*f), got, 1)
}

// fakeWorker is a worker in sh that answers every pair of a request
// (pairs separated by "|") with score.
func fakeWorker(t *testing.T, score string) string {
	p := filepath.Join(t.TempDir(), "w.sh")
	body := `echo ready
while read l; do
	if [ "$l" = rss ]; then echo 12; continue; fi
	r=0.25
	rest=$l
	while :; do
		r="$r ` + score + `"
		case $rest in *"|"*) rest=${rest#*|} ;; *) break ;; esac
	done
	echo "$r"
done
`
	require.NoError(t, os.WriteFile(p, []byte(body), 0o755))
	return p
}

func startAll(t *testing.T, cs []contender) {
	for i := range cs {
		err := cs[i].start(context.Background(), 1, t.TempDir())
		if cs[i].name == "broken" {
			require.Error(t, err)
		} else {
			require.NoError(t, err)
		}
	}
}

func TestMeasureTimesOnlyContendersThatAgree(t *testing.T) {
	for _, batch := range []int{1, 3} {
		cs := []contender{
			{name: "ref", tol: 1e-4, cmd: fakeWorker(t, "0.500000")},
			{name: "close", tol: 1e-4, cmd: fakeWorker(t, "0.500050")},
			{name: "off", tol: 1e-4, cmd: fakeWorker(t, "0.600000")},
			{name: "capped", tol: 1e-4, cmd: fakeWorker(t, "0.5"), maxTokens: 64},
			{name: "broken", tol: 1e-4, cmd: "exit 3"},
		}
		startAll(t, cs)
		res := measure(cs, 128, batch, 3, 20)
		for i := range cs {
			cs[i].stop()
		}
		assert.Equal(t, []float64{0.25, 0.25, 0.25}, res["ref"].secs, "batch %d", batch)
		assert.Len(t, res["ref"].scores, batch)
		assert.Len(t, res["close"].secs, 3)
		assert.Empty(t, res["off"].secs)
		assert.Contains(t, res["off"].excluded, "not timed")
		assert.Contains(t, res["capped"].excluded, "64 tokens")
		assert.Equal(t, "not running", res["broken"].excluded)
		assert.Equal(t, 12.0, cs[0].peakMB)
	}
}

// One pair out of tolerance in a batch excludes the contender, and a
// reply with the wrong number of scores stops it.
func TestMeasureChecksEveryPairOfABatch(t *testing.T) {
	dir := t.TempDir()
	oneOff := filepath.Join(dir, "oneoff.sh")
	require.NoError(t, os.WriteFile(oneOff, []byte("echo ready\nwhile read l; do echo 0.25 0.5 0.5 0.7; done\n"), 0o755))
	short := filepath.Join(dir, "short.sh")
	require.NoError(t, os.WriteFile(short, []byte("echo ready\nwhile read l; do echo 0.25 0.5; done\n"), 0o755))
	cs := []contender{
		{name: "ref", tol: 1e-4, cmd: fakeWorker(t, "0.5")},
		{name: "oneoff", tol: 1e-4, cmd: oneOff},
		{name: "short", tol: 1e-4, cmd: short},
	}
	startAll(t, cs)
	res := measure(cs, 64, 3, 2, 20)
	for i := range cs {
		cs[i].stop()
	}
	assert.Len(t, res["ref"].secs, 2)
	assert.Contains(t, res["oneoff"].excluded, "not timed")
	assert.InDelta(t, 0.2, res["oneoff"].delta, 1e-9)
	assert.Contains(t, res["short"].excluded, "3 score(s)")
}

// A batch's pairs are distinct, of one length, the first being the pair
// batch 1 sends; the request line round-trips through the worker's parser
// and, at one pair, is the ids alone as before batching.
func TestBatchRequestRoundTrips(t *testing.T) {
	one, err := batchIDs(128, 1)
	require.NoError(t, err)
	seqs, err := batchIDs(128, 8)
	require.NoError(t, err)
	require.Len(t, seqs, 8)
	assert.Equal(t, one[0], seqs[0])
	for j := range seqs {
		assert.Len(t, seqs[j], 128)
		for k := range j {
			assert.NotEqual(t, seqs[k], seqs[j], "pairs %d and %d", k, j)
		}
	}
	assert.NotContains(t, requestLine(one), "|")
	got, err := parseRequest(requestLine(seqs))
	require.NoError(t, err)
	assert.Equal(t, seqs, got)
	_, err = parseRequest("0 1 2 | 0 1")
	require.ErrorContains(t, err, "one length")
	_, err = parseRequest("0 1 2 | ")
	require.Error(t, err)

	sec, scores, err := parseReply("0.5 0.1 0.2", 2)
	require.NoError(t, err)
	assert.Equal(t, 0.5, sec)
	assert.Equal(t, []float64{0.1, 0.2}, scores)
	_, _, err = parseReply("0.5 0.1", 2)
	require.Error(t, err)
}

// The hallu worker scores a request's pairs in one Score call, each score
// equal to scoring that pair alone, and refuses a request the scorer's
// batch options would split.
func TestWorkerScoresABatchInOnePass(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeModel(dir, tiny, 5))
	ctx := context.Background()
	extra := optsFlag{}
	limits, err := workerLimits(extra)
	require.NoError(t, err)
	assert.Equal(t, batchLimits{workerBatch, workerBatchTokens}, limits)
	s, err := openScorer(ctx, dir, extra)
	require.NoError(t, err)
	defer s.Close()
	var seqs [][]int
	for j := range 3 {
		ids, err := pairIDs(40, tiny.Vocab, uint64(j+1))
		require.NoError(t, err)
		seqs = append(seqs, ids)
	}
	reply, err := serveRequest(ctx, s, limits, requestLine(seqs))
	require.NoError(t, err)
	_, batched, err := parseReply(reply, 3)
	require.NoError(t, err)
	for j := range seqs {
		reply, err := serveRequest(ctx, s, limits, requestLine(seqs[j:j+1]))
		require.NoError(t, err)
		_, alone, err := parseReply(reply, 1)
		require.NoError(t, err)
		assert.InDelta(t, alone[0], batched[j], 1e-5, "pair %d", j)
	}

	small, err := workerLimits(optsFlag{"batch": "2"})
	require.NoError(t, err)
	_, err = serveRequest(ctx, s, small, requestLine(seqs))
	require.ErrorContains(t, err, "one forward pass")
	_, err = workerLimits(optsFlag{"batch-tokens": "x"})
	require.Error(t, err)
}

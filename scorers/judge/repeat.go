package judge

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// repeated judges a pair Repeat times, one call after another (pairs are
// already judged Concurrency at a time), and keeps every score.
//
// The score is the majority verdict's: the mean of the scores on the
// majority side of the consistency threshold, so that it reads as that
// side's confidence and always falls on that side. A tie (even Repeat)
// goes to the hallucinated side: a judge that cannot make up its mind has
// not found the summary supported, and a rate should not be lowered by
// indecision. An odd Repeat has no ties.
//
// One failed call fails the pair: a majority of the calls that happened to
// succeed would be a different measurement from the one asked for. The
// tokens of every call, the failed ones too, are counted.
func (j *Judge) repeated(ctx context.Context, p scorers.Pair) scorers.Result {
	k := j.cfg.Repeat
	scores := make([]float64, 0, k)
	expls := make([]string, 0, k)
	var usage *scorers.Usage
	for i := range k {
		r := j.once(ctx, p)
		usage = usage.Add(r.Usage)
		if r.Err != nil {
			return scorers.Result{Err: fmt.Errorf("repeat %d of %d: %w", i+1, k, r.Err), Usage: usage}
		}
		scores = append(scores, r.Score)
		expls = append(expls, r.Explanation)
	}
	score, consistent, agree := Majority(scores)
	side := "hallucinated"
	if consistent {
		side = "consistent"
	}
	parts := make([]string, len(scores))
	first := -1
	for i, s := range scores {
		parts[i] = strconv.FormatFloat(s, 'f', 3, 64)
		if first < 0 && (s >= results.ConsistentThreshold) == consistent {
			first = i
		}
	}
	expl := fmt.Sprintf("majority %s, %d of %d verdicts (scores %s)", side, agree, k, strings.Join(parts, ", "))
	if agree*2 == k {
		expl += "; a tie counts as hallucinated"
	}
	expl += "; " + expls[first]
	return scorers.Result{Score: score, Explanation: expl, Usage: usage, Repeats: scores}
}

// Majority is the verdict of repeated scores: consistent when more than
// half are at or above results.ConsistentThreshold (a tie is hallucinated),
// the mean score of that side, and how many scores are on it.
func Majority(scores []float64) (score float64, consistent bool, agree int) {
	var yes, no float64
	nyes := 0
	for _, s := range scores {
		if s >= results.ConsistentThreshold {
			yes += s
			nyes++
		} else {
			no += s
		}
	}
	nno := len(scores) - nyes
	if nyes > nno {
		return yes / float64(nyes), true, nyes
	}
	if nno == 0 {
		return 0, false, 0
	}
	return no / float64(nno), false, nno
}

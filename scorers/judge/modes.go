package judge

import (
	"context"
	"fmt"
	"math"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/scorers"
)

// verdict asks the one question and scores the answer: P(supported) from
// the log-probabilities of the verdict token where the server gave them,
// else 1 or 0.
func (j *Judge) verdict(ctx context.Context, p scorers.Pair, usage **scorers.Usage) scorers.Result {
	var (
		vd    verdict
		probs *openai.LogProbs
		text  string
	)
	err := j.ask(ctx, messages(verdictTask, p.Source, p.Summary), verdictFormat, true, usage, func(r *reply) error {
		var err error
		vd, err = parseVerdict(r.text)
		probs, text = r.logprobs, r.text
		return err
	})
	if err != nil {
		return scorers.Result{Err: err}
	}
	score, how := 0.0, "verdict: unsupported"
	if vd.supported {
		score, how = 1, "verdict: supported"
	}
	if pr, ok := supportProbability(probs, text, vd.offset); ok {
		score, how = pr, fmt.Sprintf("%s, P(supported)=%.3f from log-probabilities", how, pr)
	}
	if vd.reason != "" {
		how += ": " + vd.reason
	}
	return scorers.Result{Score: score, Explanation: how}
}

// supportProbability turns the verdict token's top log-probabilities into
// P(supported) = p(yes-like) / (p(yes-like) + p(no-like)). The verdict
// token is the one covering offset in the reply (the tokens concatenate
// to the reply text); ok is false when there are no log-probabilities or
// no yes/no alternatives at that token.
func supportProbability(lp *openai.LogProbs, text string, offset int) (float64, bool) {
	return wordProbability(lp, text, offset, verdictWord)
}

// wordProbability is supportProbability with the answer words read by
// word: every spelling word accepts (" Yes", "yes", "YES") adds to its side.
func wordProbability(lp *openai.LogProbs, text string, offset int, word func(string) (supported, ok bool)) (float64, bool) {
	if lp == nil || len(lp.Content) == 0 || offset < 0 {
		return 0, false
	}
	// The reply may have lost a <think> block or whitespace relative to
	// the tokens; find the offset's token by position, and check that the
	// tokens do spell the text there.
	var at *openai.LogProb
	pos := 0
	for k := range lp.Content {
		t := &lp.Content[k]
		end := pos + len(t.Token)
		if offset >= pos && offset < end {
			at = t
			break
		}
		pos = end
	}
	if at == nil {
		return 0, false
	}
	if _, ok := word(at.Token); !ok {
		return 0, false
	}
	var yes, no float64
	seen := map[string]bool{}
	add := func(tok string, logp float64) {
		if seen[tok] {
			return
		}
		seen[tok] = true
		if sup, ok := word(tok); ok {
			if sup {
				yes += math.Exp(logp)
			} else {
				no += math.Exp(logp)
			}
		}
	}
	for _, alt := range at.TopLogProbs {
		add(alt.Token, alt.LogProb)
	}
	add(at.Token, at.LogProb)
	if yes+no == 0 || math.IsNaN(yes+no) {
		return 0, false
	}
	return yes / (yes + no), true
}

// claims lists the summary's claims, then checks them all in one call.
func (j *Judge) claims(ctx context.Context, p scorers.Pair, usage **scorers.Usage) scorers.Result {
	var list []string
	err := j.ask(ctx, messages(extractTask, p.Source, p.Summary), extractFormat, false, usage, func(r *reply) error {
		var err error
		list, err = parseClaims(r.text)
		return err
	})
	if err != nil {
		return scorers.Result{Err: fmt.Errorf("listing claims: %w", err)}
	}
	var numbered strings.Builder
	numbered.WriteString("CLAIMS:")
	for i, c := range list {
		fmt.Fprintf(&numbered, "\n%d. %s", i+1, c)
	}
	var checks []check
	err = j.ask(ctx, messages(checkTask, p.Source, p.Summary, numbered.String()), checkFormat, false, usage, func(r *reply) error {
		var err error
		checks, err = parseChecks(r.text, len(list))
		return err
	})
	if err != nil {
		return scorers.Result{Err: fmt.Errorf("checking %d claims: %w", len(list), err)}
	}
	supported := 0
	var bad []string
	for i, c := range checks {
		if c.supported {
			supported++
			continue
		}
		s := fmt.Sprintf("%q", list[i])
		if c.reason != "" {
			s += " (" + c.reason + ")"
		}
		bad = append(bad, s)
	}
	expl := fmt.Sprintf("%d of %d claims supported", supported, len(list))
	if len(bad) > 0 {
		expl += "; unsupported: " + strings.Join(bad, "; ")
	}
	return scorers.Result{Score: float64(supported) / float64(len(list)), Explanation: expl}
}

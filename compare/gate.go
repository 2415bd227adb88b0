package compare

import (
	"errors"
	"fmt"
	"math"
)

// DefaultAlpha is the significance level of the gates.
const DefaultAlpha = 0.05

// Gates are the regression limits a candidate must keep to. A NaN limit
// turns its gate off.
//
// A gate fails only when the change is both larger than its limit and
// significant: the point estimate of the change (candidate − baseline)
// exceeds the limit, and McNemar's exact two-sided test on the documents
// that changed gives p < Alpha. The paired bootstrap interval is reported
// but does not decide: the exact test gives the same verdict on every run,
// whatever the seed, and stays valid on a handful of discordant documents,
// where percentile intervals cover less than they claim.
type Gates struct {
	// MaxHRIncrease is the largest rise in hallucination rate allowed, in
	// points, measured on the documents both models answered and both have
	// scores for.
	MaxHRIncrease float64
	// MaxARDecrease is the largest fall in answer rate allowed, in points,
	// measured on the shared documents.
	MaxARDecrease float64
	// Alpha is the significance level; DefaultAlpha when 0.
	Alpha float64
}

// Check rejects limits that would make a gate fail on improvements.
func (g Gates) Check() error {
	if g.MaxHRIncrease < 0 {
		return fmt.Errorf("--max-hr-increase %v: want 0 or more points", g.MaxHRIncrease)
	}
	if g.MaxARDecrease < 0 {
		return fmt.Errorf("--max-ar-decrease %v: want 0 or more points", g.MaxARDecrease)
	}
	if g.Alpha < 0 || g.Alpha >= 1 {
		return fmt.Errorf("--alpha %v: want a level in (0, 1)", g.Alpha)
	}
	return nil
}

func (g Gates) alpha() float64 {
	if g.Alpha == 0 {
		return DefaultAlpha
	}
	return g.Alpha
}

// Status is a gate's outcome.
type Status string

// Gate outcomes. StatusError means the gate could not be decided from the
// input (exit status 2), StatusFail a regression (exit status 1).
const (
	StatusPass  Status = "pass"
	StatusFail  Status = "fail"
	StatusError Status = "error"
)

// Gate names, as they appear in JUnit and JSON output.
const (
	GateSharedDocs    = "shared-documents"
	GateHallucination = "hallucination-rate"
	GateAnswer        = "answer-rate"
)

// Verdict is one gate's outcome with a one-line reason carrying the numbers.
type Verdict struct {
	Gate    string `json:"gate"`
	Status  Status `json:"status"`
	Message string `json:"message"`
}

// Check decides every gate that is on. The shared-documents gate is always
// first; it passes, since Compare refuses too few shared documents.
func (r *Result) Check(g Gates, minDocs int) []Verdict {
	out := []Verdict{{Gate: GateSharedDocs, Status: StatusPass,
		Message: fmt.Sprintf("%d shared documents, at least %d required (%d only in base, %d only in candidate)",
			r.Shared, minDocs, r.OnlyBase, r.OnlyCand)}}
	if !math.IsNaN(g.MaxHRIncrease) {
		out = append(out, r.hallucinationGate(g.MaxHRIncrease, g.alpha()))
	}
	if !math.IsNaN(g.MaxARDecrease) {
		out = append(out, r.answerGate(g.MaxARDecrease, g.alpha()))
	}
	return out
}

func (r *Result) hallucinationGate(limit, alpha float64) Verdict {
	v := Verdict{Gate: GateHallucination}
	h := r.Hallucination
	if h.N == 0 {
		// Nothing to pair. A candidate that answered nothing has regressed
		// (the gate fails closed); a baseline that answered nothing leaves
		// nothing to regress from; unscored input is a mistake.
		switch {
		case r.Cand.Valid == 0:
			v.Status, v.Message = StatusFail, fmt.Sprintf("the candidate answered none of the %d shared documents validly", r.Shared)
		case r.Base.Valid == 0:
			v.Status, v.Message = StatusPass, fmt.Sprintf("the baseline answered none of the %d shared documents validly: nothing to compare against", r.Shared)
		default:
			v.Status, v.Message = StatusError, fmt.Sprintf("no shared document is answered and scored under both models (base judged %d, candidate judged %d): score both sides first", r.Base.Judged, r.Cand.Judged)
		}
		return v
	}
	return decide(v, "hallucination rate", "rose", h, 1, limit, alpha)
}

func (r *Result) answerGate(limit, alpha float64) Verdict {
	return decide(Verdict{Gate: GateAnswer}, "answer rate", "fell", r.Answer, -1, limit, alpha)
}

// decide applies the gate rule to a paired change; sign is +1 when a rise is
// a regression (hallucination) and −1 when a fall is (answers).
func decide(v Verdict, what, verb string, p Paired, sign, limit, alpha float64) Verdict {
	worse, worseN, betterN := p.Diff*sign, p.Up, p.Down
	if sign < 0 {
		worseN, betterN = p.Down, p.Up
	}
	nums := fmt.Sprintf("%s %s pp [%s, %s] on %d documents (%d worse, %d better), McNemar p = %s",
		what, signed(p.Diff, 1), signed(p.DiffLow, 1), signed(p.DiffHigh, 1), p.N, worseN, betterN, formatP(p.P))
	switch {
	case worse > limit && p.P < alpha:
		v.Status, v.Message = StatusFail, fmt.Sprintf("%s: %s more than %s pp, significant at %v", nums, verb, trimFloat(limit), alpha)
	case worse > limit:
		v.Status, v.Message = StatusPass, fmt.Sprintf("%s: %s more than %s pp, but not significant at %v", nums, verb, trimFloat(limit), alpha)
	default:
		v.Status, v.Message = StatusPass, fmt.Sprintf("%s: within the %s pp allowed", nums, trimFloat(limit))
	}
	return v
}

// ExitStatus is the status `hallu compare` exits with: 2 when a gate could
// not be decided, 1 when one failed, 0 otherwise.
func ExitStatus(vs []Verdict) int {
	code := 0
	for _, v := range vs {
		switch v.Status {
		case StatusError:
			return 2
		case StatusFail:
			code = 1
		}
	}
	return code
}

// FirstProblem is the message of the first gate that errs or fails, for a
// one-line reason; nil when all pass.
func FirstProblem(vs []Verdict) error {
	for _, s := range []Status{StatusError, StatusFail} {
		for _, v := range vs {
			if v.Status == s {
				return errors.New(v.Gate + ": " + v.Message)
			}
		}
	}
	return nil
}

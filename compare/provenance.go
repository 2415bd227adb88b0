package compare

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers"
)

// Errors for sides that were not made the same way; `hallu compare` exits 2
// on them. A comparison is only meaningful when the one thing that changed
// is the model (and the endpoint serving it).
var (
	ErrScorers  = errors.New("judged by different scorers")
	ErrPrompts  = errors.New("generated with different prompts")
	ErrSettings = errors.New("generated with different sampling settings")
)

// scorerID is one scorer identity found in a side's judgments. Legacy
// judgments (made before scorer identities, no ScorerKey) carry only a name
// and version, so they are matched on those alone.
type scorerID struct {
	id          scorers.Identity
	legacy      bool
	fallbackFor string // first FallbackFor seen with this identity, for the message
}

func (s scorerID) label() string {
	l := s.id.String()
	if s.fallbackFor != "" {
		l += " (fallback for " + s.fallbackFor + ")"
	}
	return l
}

// agrees reports whether two identities may be counted together: equal,
// or equal in name and version when either side cannot say more.
func (s scorerID) agrees(o scorerID) bool {
	if s.legacy || o.legacy {
		return s.id.Name == o.id.Name && s.id.Version == o.id.Version
	}
	return s.id.Key() == o.id.Key()
}

// Provenance is what a side's records say about how they were made, for
// the checks that both sides were made the same way. ReadSide fills it; a
// Side built by hand with a zero Provenance is not checked.
type Provenance struct {
	scorers []scorerID
	prompts []string
	params  []results.Params
	// Counts of records too old to carry a field (made before record keys).
	LegacyJudgments, NoPrompt, NoParams, NoDocHash int
}

// observe adds a record's provenance.
func (p *Provenance) observe(rec *results.Record) {
	if j := rec.Judgment; j != nil {
		s := scorerID{id: scorers.Identity{Name: j.Scorer, Version: j.Version, Options: j.Options, Weights: j.Weights},
			legacy: j.ScorerKey == "", fallbackFor: j.FallbackFor}
		if s.legacy {
			p.LegacyJudgments++
			s.id.Options, s.id.Weights = nil, ""
		}
		if !containsFunc(p.scorers, func(o scorerID) bool { return o.legacy == s.legacy && o.id.Key() == s.id.Key() }) {
			p.scorers = append(p.scorers, s)
		}
	}
	if rec.PromptHash == "" {
		p.NoPrompt++
	} else if !containsFunc(p.prompts, func(o string) bool { return o == rec.PromptHash }) {
		p.prompts = append(p.prompts, rec.PromptHash)
	}
	// As in results.SettingsDiff: no Params and no GenKey is an older
	// record that cannot say; no Params with a key is the zero settings.
	switch {
	case rec.Params == nil && rec.GenKey == "":
		p.NoParams++
	default:
		var ps results.Params
		if rec.Params != nil {
			ps = *rec.Params
		}
		if !containsFunc(p.params, func(o results.Params) bool { return sameParams(o, ps) }) {
			p.params = append(p.params, ps)
		}
	}
	if rec.DocHash == "" {
		p.NoDocHash++
	}
}

func containsFunc[T any](s []T, f func(T) bool) bool {
	for _, x := range s {
		if f(x) {
			return true
		}
	}
	return false
}

// Scorer is the side's scorer as people read it, "" when nothing was judged.
// A keyed identity is preferred to a legacy one, since it says more.
func (p *Provenance) Scorer() string {
	best := -1
	for i, s := range p.scorers {
		if best < 0 || p.scorers[best].legacy && !s.legacy {
			best = i
		}
	}
	if best < 0 {
		return ""
	}
	return p.scorers[best].label()
}

// PromptHash is the side's prompt hash, "" when its records carry none.
func (p *Provenance) PromptHash() string {
	if len(p.prompts) == 0 {
		return ""
	}
	return p.prompts[0]
}

// Params is the side's sampling settings, nil when its records carry none.
func (p *Provenance) Params() *results.Params {
	if len(p.params) == 0 {
		return nil
	}
	return &p.params[0]
}

// within checks that one side was made one way: one scorer, one prompt,
// one set of sampling settings.
func (p *Provenance) within(role string) error {
	for i, a := range p.scorers {
		for _, b := range p.scorers[i+1:] {
			if !a.agrees(b) {
				return kindErr(ErrScorers, "%s holds judgments of more than one scorer (%s; %s): judge it again with one scorer",
					role, a.label(), b.label())
			}
		}
	}
	if len(p.prompts) > 1 {
		return kindErr(ErrPrompts, "%s holds records of %d prompts (%s): not one run", role, len(p.prompts), strings.Join(p.prompts, ", "))
	}
	if len(p.params) > 1 {
		return kindErr(ErrSettings, "%s holds records of more than one set of sampling settings (%s): not one run",
			role, strings.Join(paramsDiff(p.params[0], p.params[1], "one record", "another"), "; "))
	}
	return nil
}

// checkProvenance refuses two sides made differently in anything but the
// model and endpoint, naming both values; with allowSettings a difference
// in sampling settings is a warning instead. It also returns warnings for
// the checks that older records could not support.
func checkProvenance(base, cand *Side, allowSettings bool) (warnings []string, err error) {
	b, c := &base.Prov, &cand.Prov
	if err := b.within("base"); err != nil {
		return nil, err
	}
	if err := c.within("candidate"); err != nil {
		return nil, err
	}
	var problems []error
	for _, x := range b.scorers {
		if y, ok := firstDisagreeing(c.scorers, x); ok {
			msg := fmt.Sprintf("scorer differs: %s (base) vs %s (candidate)", x.label(), y.label())
			if x.id.String() == y.id.String() {
				msg += ": " + x.id.Diff(y.id) + " (here is base, there candidate)"
			}
			problems = append(problems, kindErr(ErrScorers, "%s", msg))
			break
		}
	}
	if pb, pc := b.PromptHash(), c.PromptHash(); pb != "" && pc != "" && pb != pc {
		problems = append(problems, kindErr(ErrPrompts, "prompt differs: %s (base) vs %s (candidate)", pb, pc))
	}
	if pb, pc := b.Params(), c.Params(); pb != nil && pc != nil {
		if d := paramsDiff(*pb, *pc, "base", "candidate"); len(d) > 0 {
			if allowSettings {
				warnings = append(warnings, "sampling settings differ (allowed by --allow-settings-change): "+strings.Join(d, "; "))
			} else {
				problems = append(problems, kindErr(ErrSettings, "sampling settings differ: %s (--allow-settings-change compares them anyway)", strings.Join(d, "; ")))
			}
		}
	}
	if len(problems) > 0 {
		msgs := make([]string, len(problems))
		for i, p := range problems {
			msgs[i] = p.Error()
		}
		// One line naming every difference; errors.Is finds each kind.
		return nil, &mismatch{errs: problems, msg: "the two sides were not made the same way: " + strings.Join(msgs, "; ")}
	}
	wb, wc := b.legacy(), c.legacy()
	switch {
	case len(wb) > 0 && slices.Equal(wb, wc):
		warnings = append(warnings, legacyWarning("base and candidate hold", wb))
	default:
		if len(wb) > 0 {
			warnings = append(warnings, legacyWarning("base holds", wb))
		}
		if len(wc) > 0 {
			warnings = append(warnings, legacyWarning("candidate holds", wc))
		}
	}
	return warnings, nil
}

// mismatch joins several provenance errors into one line.
type mismatch struct {
	errs []error
	msg  string
}

func (m *mismatch) Error() string   { return m.msg }
func (m *mismatch) Unwrap() []error { return m.errs }

// kindErr is an error that reads as its message alone and matches kind
// with errors.Is, so that messages do not repeat the kind's own words.
func kindErr(kind error, format string, args ...any) error {
	return &kinded{kind: kind, msg: fmt.Sprintf(format, args...)}
}

type kinded struct {
	kind error
	msg  string
}

func (k *kinded) Error() string { return k.msg }
func (k *kinded) Unwrap() error { return k.kind }

func firstDisagreeing(ss []scorerID, x scorerID) (scorerID, bool) {
	for _, y := range ss {
		if !x.agrees(y) {
			return y, true
		}
	}
	return scorerID{}, false
}

// legacy names the checks that a side's older records (made before
// record keys) could not fully support; nil when every record carries
// every key.
func (p *Provenance) legacy() []string {
	var weak []string
	if p.LegacyJudgments > 0 {
		weak = append(weak, "scorers matched on name and version only (no scorer options or weights)")
	}
	if p.NoPrompt > 0 {
		weak = append(weak, "prompts unchecked (no prompt hash)")
	}
	if p.NoParams > 0 {
		weak = append(weak, "sampling settings unchecked (none recorded)")
	}
	if p.NoDocHash > 0 {
		weak = append(weak, "documents matched by source text (no document hash)")
	}
	return weak
}

func legacyWarning(who string, weak []string) string {
	return who + " records made by an older hallu, checked on what they carry: " + strings.Join(weak, "; ")
}

func sameParams(a, b results.Params) bool { return len(paramsDiff(a, b, "", "")) == 0 }

// paramsDiff names each sampling setting that differs, with both values.
func paramsDiff(a, b results.Params, an, bn string) []string {
	return results.ParamsDiff(&a, &b, func(what, x, y string) string {
		return fmt.Sprintf("%s %s (%s) vs %s (%s)", what, x, an, y, bn)
	})
}

package leaderboard

import (
	"fmt"
	"math"

	"github.com/hallu-eval/hallu/stats"
)

// Interval methods for IntervalOptions.Method.
const (
	IntervalWilson    = "wilson"
	IntervalBootstrap = "bootstrap"
)

// DefaultBootstrapSamples is the number of bootstrap resamples when none is
// given: enough that the 2.5th and 97.5th percentiles move by well under a
// tenth of a point between seeds at leaderboard sizes.
const DefaultBootstrapSamples = 2000

// IntervalOptions chooses how the report's 95% intervals are computed.
type IntervalOptions struct {
	Method  string // IntervalWilson (default) or IntervalBootstrap
	Samples int    // bootstrap resamples; DefaultBootstrapSamples when 0
	Seed    uint64 // bootstrap seed: the same seed gives the same intervals
}

// Check rejects an unknown method or a negative sample count.
func (o IntervalOptions) Check() error {
	switch o.Method {
	case "", IntervalWilson, IntervalBootstrap:
	default:
		return fmt.Errorf("interval method %q: want %s or %s", o.Method, IntervalWilson, IntervalBootstrap)
	}
	if o.Samples < 0 {
		return fmt.Errorf("bootstrap samples %d: want a positive number", o.Samples)
	}
	return nil
}

// Describe names the method for a report's footnote.
func (o IntervalOptions) Describe() string {
	if o.Method != IntervalBootstrap {
		return "95% Wilson score intervals"
	}
	return fmt.Sprintf("95%% percentile bootstrap intervals, %d resamples, seed %d", o.samples(), o.Seed)
}

func (o IntervalOptions) samples() int {
	if o.Samples == 0 {
		return DefaultBootstrapSamples
	}
	return o.Samples
}

// SetIntervals recomputes the 95% intervals of every rate in rows (the
// hallucination, factual consistency and answer rates) with the chosen
// method, from the counts the rows hold. Stats already fills Wilson
// intervals; this is for the bootstrap.
//
// The bootstrap draws each model's rates from their own random stream (seed,
// model, rate), so a model's interval does not depend on which other models
// share the report. The factual consistency interval mirrors the
// hallucination interval: a resample's consistency rate is 100 minus its
// hallucination rate.
func SetIntervals(rows []ModelStats, o IntervalOptions) error {
	if err := o.Check(); err != nil {
		return err
	}
	for i := range rows {
		s := &rows[i]
		s.CI = o.Method
		if s.CI == "" {
			s.CI = IntervalWilson
		}
		var hrLo, hrHi, arLo, arHi float64
		if o.Method == IntervalBootstrap {
			hrLo, hrHi = stats.BootstrapProportion(stats.NewRand(o.Seed, "hr\x00"+s.Model), s.Hallucinated, s.Judged, o.samples(), stats.Level95)
			arLo, arHi = stats.BootstrapProportion(stats.NewRand(o.Seed, "ar\x00"+s.Model), s.Valid, s.Documents, o.samples(), stats.Level95)
		} else {
			hrLo, hrHi = stats.Wilson(s.Hallucinated, s.Judged, stats.Z95)
			arLo, arHi = stats.Wilson(s.Valid, s.Documents, stats.Z95)
		}
		s.setIntervals(hrLo, hrHi, arLo, arHi)
	}
	return nil
}

// setIntervals stores intervals given as proportions.
func (s *ModelStats) setIntervals(hrLo, hrHi, arLo, arHi float64) {
	s.HRLow, s.HRHigh = hrLo*100, hrHi*100
	s.FCRLow, s.FCRHigh = 100-s.HRHigh, 100-s.HRLow
	s.ARLow, s.ARHigh = arLo*100, arHi*100
	if math.IsNaN(s.HallucinationRate) {
		s.HRLow, s.HRHigh, s.FCRLow, s.FCRHigh = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	}
}

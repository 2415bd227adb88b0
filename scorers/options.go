package scorers

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Check fails on a key that is not in known (nor a chunking or granularity
// option, which Open handles), naming what the scorer takes.
func (o Options) Check(scorer string, known ...string) error {
	var bad []string
	for k := range o {
		ok := k == ChunkWordsOption || k == ChunkOverlapOption || k == GranularityOption
		for _, kn := range known {
			ok = ok || k == kn
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	if len(bad) == 0 {
		return nil
	}
	sort.Strings(bad)
	takes := "no options"
	if len(known) > 0 {
		takes = strings.Join(known, ", ")
	}
	return fmt.Errorf("unknown option %q (%s takes %s)", bad[0], scorer, takes)
}

// OptionParser reads typed options, keeping the first error, so a scorer's
// Open reads every option and then checks Err once.
type OptionParser struct {
	Opts Options
	Err  error
}

func (p *OptionParser) fail(key, v, want string) {
	if p.Err == nil {
		p.Err = fmt.Errorf("option %s=%q: want %s", key, v, want)
	}
}

// Bool reads key as a boolean; def when unset.
func (p *OptionParser) Bool(key string, def bool) bool {
	v := p.Opts.Get(key, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(key, v, "true or false")
	}
	return b
}

// Int reads key as a whole number; def when unset.
func (p *OptionParser) Int(key string, def int) int {
	v := p.Opts.Get(key, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		p.fail(key, v, "a whole number")
	}
	return n
}

// Duration reads key as a Go duration ("30s", "2m"); def when unset.
func (p *OptionParser) Duration(key string, def time.Duration) time.Duration {
	v := p.Opts.Get(key, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		p.fail(key, v, "a duration such as 30s")
	}
	return d
}

package eval

import "fmt"

// InterruptedError is returned by both stages, generate and score, when the
// run's context was cancelled before every input was processed. Everything
// written so far is complete; a rerun with the same output resumes.
type InterruptedError struct {
	Stage string       // "generate" or "score"
	Stats fmt.Stringer // GenerateStats or ScoreStats
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted: %s; rerun the same command to resume", e.Stats)
}

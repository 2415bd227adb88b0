package eval

import "fmt"

// InterruptedError is returned when a stage's context was cancelled before
// its input was exhausted. Everything written so far is complete, so the
// same command resumes.
type InterruptedError struct {
	Stage string       // "generate", "score"
	Stats fmt.Stringer // the stage's counts: Stats, ScoreStats
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("interrupted: %s; rerun the same command to resume", e.Stats)
}

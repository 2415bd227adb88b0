package main

// Every scorer hallu ships, registered by import as database/sql drivers
// are; a scorer written elsewhere joins the same way.
import (
	_ "github.com/hallu-eval/hallu/scorers/exec"
	_ "github.com/hallu-eval/hallu/scorers/hhem"
	_ "github.com/hallu-eval/hallu/scorers/judge"
	_ "github.com/hallu-eval/hallu/scorers/overlap"
	_ "github.com/hallu-eval/hallu/scorers/vectara"
)

//go:build race

package calibration

// raceEnabled lets the coverage simulation run one scenario instead of all
// under the race detector, which slows its arithmetic tenfold and has no
// goroutines there to watch.
const raceEnabled = true

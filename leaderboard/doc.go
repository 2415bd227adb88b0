// Package leaderboard turns result records into the leaderboard's numbers,
// computed as Vectara's leaderboard computes them: which summaries count
// (Valid), per-model rates with intervals, the --common protocol, and what
// the records say about how they were made (Provenance), so that models
// judged or generated differently are never ranked together silently. It
// reads hallu's JSONL results and the leaderboard's own published files.
package leaderboard

// Package pipeline holds the policies that turn hallu's engines into
// commands: where results go and how a rerun resumes them (by record key,
// refusing what no longer matches), who may write an output at once (an
// exclusive lock), when a scorer may stand in for another (only when the
// first is absent), and how `hallu run` chains generate, score and report
// for several models. cmd/hallu only turns flags into these calls; the
// engines in eval know nothing of files.
package pipeline

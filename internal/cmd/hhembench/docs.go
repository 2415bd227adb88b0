package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/hallu-eval/hallu/results"
)

// runDocs writes generation records shaped like a leaderboard run's for
// `hallu score --scorer hhem`: sources of min..max tokens (uniform), each
// with a summary about a tenth as long, in the synthetic tokenizer's words
// so that a record's token count is known exactly.
func runDocs(_ context.Context, args []string) error {
	fs := flag.NewFlagSet("docs", flag.ExitOnError)
	n := fs.Int("n", 1000, "documents")
	lo := fs.Int("min", 300, "shortest pair, tokens")
	hi := fs.Int("max", 2000, "longest pair, tokens")
	out := fs.String("out", "", "JSONL file to write")
	seed := fs.Uint64("seed", 11, "text seed")
	fs.Parse(args)
	if *out == "" || *lo > *hi {
		return errors.New("need -out and -min ≤ -max")
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	rng := rand.New(rand.NewPCG(*seed, 1))
	total := 0
	for d := range *n {
		tokens := *lo + rng.IntN(*hi-*lo+1)
		ids, err := pairIDs(tokens, flanT5Base.Vocab, *seed+uint64(d))
		if err != nil {
			return err
		}
		src, sum, err := pairText(ids)
		if err != nil {
			return err
		}
		total += tokens
		rec := results.Record{
			Schema: 1, DocID: "doc-" + strconv.Itoa(d), Dataset: "hhem-bench", Source: src,
			Model: "bench/synthetic", Summary: sum, FinishReason: "stop",
		}
		if err := enc.Encode(rec); err != nil {
			return fmt.Errorf("%s record %d: %w", *out, d, err)
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%s: %d documents, %d tokens (mean %.0f per pair)\n",
		*out, *n, total, float64(total)/float64(max(*n, 1)))
	return f.Close()
}

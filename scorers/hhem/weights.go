package hhem

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
)

// weights is a loaded model and tokenizer, shared by every scorer in the
// process that opened the same files: the weights are large, and loading them
// once per `--concurrency` worker would multiply memory for nothing.
type weights struct {
	key  string
	tok  encoder
	m    model
	refs int           // guarded by loadedMu
	run  chan struct{} // one forward pass at a time; see logits
	done chan struct{} // closed when loading finished
	err  error         // loading error, set before done closes
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*weights{}
)

// acquire returns the shared weights for f, loading them on first use.
// Concurrent first users wait for one load instead of each loading.
func acquire(ctx context.Context, f Files) (*weights, error) {
	key := absPath(f.Model) + "\x00" + absPath(f.TokenizerDir)
	loadedMu.Lock()
	w, ok := loaded[key]
	if ok {
		w.refs++
		loadedMu.Unlock()
		select {
		case <-w.done:
		case <-ctx.Done():
			release(w)
			return nil, ctx.Err()
		}
		if w.err != nil {
			release(w)
			return nil, w.err
		}
		return w, nil
	}
	w = &weights{key: key, refs: 1, run: make(chan struct{}, 1), done: make(chan struct{})}
	loaded[key] = w
	loadedMu.Unlock()

	w.tok, w.err = loadTokenizer(f.TokenizerDir)
	if w.err != nil {
		w.err = fmt.Errorf("tokenizer %s: %w", f.TokenizerDir, w.err)
	} else if w.m, w.err = loadModel(f.Model); w.err != nil {
		w.err = fmt.Errorf("model %s: %w", f.Model, w.err)
	}
	if w.err != nil {
		// Forget the failure so a later Open (after a fix) tries again.
		loadedMu.Lock()
		if loaded[key] == w {
			delete(loaded, key)
		}
		loadedMu.Unlock()
	}
	close(w.done)
	if w.err != nil {
		release(w)
		return nil, w.err
	}
	return w, nil
}

// release drops one reference; the last one closes the model.
func release(w *weights) error {
	loadedMu.Lock()
	w.refs--
	last := w.refs == 0
	if last && loaded[w.key] == w {
		delete(loaded, w.key)
	}
	loadedMu.Unlock()
	if last && w.m != nil {
		return w.m.Close()
	}
	return nil
}

// logits runs one forward pass. Passes are serialised: the model spreads a
// pass over all cores itself, so concurrent passes would only contend for
// them and multiply activation memory.
func (w *weights) logits(ctx context.Context, batch [][]int) ([][2]float32, error) {
	select {
	case w.run <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-w.run }()
	return w.m.Logits(ctx, batch)
}

func absPath(p string) string {
	if a, err := filepath.Abs(p); err == nil {
		return a
	}
	return p
}

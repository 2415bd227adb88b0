package hhem

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/hallu-eval/hallu/scorers/hhem/internal/tensor"
)

// weights is a loaded model and tokenizer, shared by every scorer in the
// process that opened the same files: the weights are large, and loading them
// once per `--concurrency` worker would multiply memory for nothing.
type weights struct {
	key    string
	tok    encoder
	m      model
	digest string        // sha256 of the model file, hex; see weightsDigest
	refs   int           // guarded by loadedMu
	run    chan struct{} // one forward pass at a time; see logits
	done   chan struct{} // closed when loading finished
	err    error         // loading error, set before done closes
}

var (
	loadedMu sync.Mutex
	loaded   = map[string]*weights{}
)

// acquire returns the shared weights for f in precision prec, loading them
// on first use. Concurrent first users wait for one load instead of each
// loading.
func acquire(ctx context.Context, f Files, prec tensor.Precision) (*weights, error) {
	key := absPath(f.Model) + "\x00" + absPath(f.TokenizerDir) + "\x00" + prec.String()
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

	// The digest is taken beside the load (both read the same file, which
	// the page cache then holds once), and once per shared load, so scorers
	// sharing these weights never hash them again.
	hctx, stopHash := context.WithCancel(ctx)
	type digestResult struct {
		sum string
		err error
	}
	digested := make(chan digestResult, 1)
	go func() {
		sum, err := digestFile(hctx, f.Model)
		digested <- digestResult{sum, err}
	}()
	w.tok, w.err = loadTokenizer(f.TokenizerDir)
	if w.err != nil {
		w.err = fmt.Errorf("tokenizer %s: %w", f.TokenizerDir, w.err)
	} else if w.m, w.err = loadModel(f.Model, prec); w.err != nil {
		w.err = fmt.Errorf("model %s: %w", f.Model, w.err)
	}
	if w.err != nil {
		stopHash()
	}
	d := <-digested
	stopHash()
	if w.err == nil && d.err != nil {
		w.err = fmt.Errorf("model %s: sha256: %w", f.Model, d.err)
		w.m.Close()
		w.m = nil
	}
	w.digest = d.sum
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

// weightsDigest returns the sha256 of the model file, hex-encoded. In a
// Hugging Face cache the file is a link to blobs/<sha256>: the hub names an
// LFS file by its sha256, and both huggingface_hub and hfhub name the blob
// after it (hfhub checks the sum on download). That name is used as it is,
// sparing a read of the whole file; any other file is hashed.
func weightsDigest(ctx context.Context, path string) (string, error) {
	if real, err := filepath.EvalSymlinks(path); err == nil {
		if sum, ok := blobDigest(real); ok {
			return sum, nil
		}
	}
	return hashFile(ctx, path)
}

// blobDigest reads the sha256 off a cache blob's path: .../blobs/<64 hex>.
func blobDigest(path string) (string, bool) {
	name := filepath.Base(path)
	if filepath.Base(filepath.Dir(path)) != "blobs" || len(name) != sha256.Size*2 {
		return "", false
	}
	if _, err := hex.DecodeString(name); err != nil || strings.ToLower(name) != name {
		return "", false
	}
	return name, true
}

func hashFile(ctx context.Context, path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	for {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		n, err := f.Read(buf)
		h.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

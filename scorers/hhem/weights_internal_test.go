package hhem

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/internal/testutil"
)

func TestWeightsDigestReadsBlobNames(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	content := []byte("weights")
	sum := sha256.Sum256(content)
	want := hex.EncodeToString(sum[:])

	plain := filepath.Join(dir, "model.safetensors")
	require.NoError(t, os.WriteFile(plain, content, 0o644))
	got, err := weightsDigest(ctx, plain)
	require.NoError(t, err)
	assert.Equal(t, want, got, "a plain file is hashed")

	// A snapshot link to blobs/<sha256>: the name is trusted, the content
	// never read (here it does not even match, which proves the point).
	name := strings.Repeat("ab", 32)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "blobs"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "snapshots", "c"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "blobs", name), content, 0o644))
	link := filepath.Join(dir, "snapshots", "c", "model.safetensors")
	require.NoError(t, os.Symlink(filepath.Join("..", "..", "blobs", name), link))
	got, err = weightsDigest(ctx, link)
	require.NoError(t, err)
	assert.Equal(t, name, got)

	// Names that are not a sha256 blob are hashed: a git sha1 etag, upper
	// case hex, a 64-hex name outside blobs/.
	for _, p := range []string{
		filepath.Join(dir, "blobs", strings.Repeat("ab", 20)),
		filepath.Join(dir, "blobs", strings.Repeat("AB", 32)),
		filepath.Join(dir, strings.Repeat("cd", 32)),
	} {
		require.NoError(t, os.WriteFile(p, content, 0o644))
		got, err = weightsDigest(ctx, p)
		require.NoError(t, err)
		assert.Equal(t, want, got, p)
	}

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = weightsDigest(cancelled, plain)
	assert.ErrorIs(t, err, context.Canceled)
}

func TestSharedWeightsHashedOnce(t *testing.T) {
	opts, _ := withFakes(t, &fakeModel{})
	var hashes atomic.Int32
	old := digestFile
	digestFile = func(ctx context.Context, path string) (string, error) {
		hashes.Add(1)
		return old(ctx, path)
	}
	t.Cleanup(func() { digestFile = old })

	var wg sync.WaitGroup
	ids := make([]string, 4)
	for i := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), opts)
			if !assert.NoError(t, err) {
				return
			}
			ids[i] = s.(*Scorer).Identity().Weights
			t.Cleanup(func() { s.Close() })
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), hashes.Load())
	sum := sha256.Sum256([]byte("x")) // what withFakes writes
	for _, id := range ids {
		assert.Equal(t, hex.EncodeToString(sum[:]), id)
	}
}

func TestDigestFailureFailsOpen(t *testing.T) {
	m := &fakeModel{}
	opts, _ := withFakes(t, m)
	old := digestFile
	digestFile = func(context.Context, string) (string, error) { return "", os.ErrPermission }
	t.Cleanup(func() { digestFile = old })
	_, err := Open(context.Background(), opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sha256")
	assert.Equal(t, int32(1), m.closed.Load(), "the loaded model is released")

	digestFile = old
	s, err := Open(context.Background(), opts)
	require.NoError(t, err, "a later open tries again")
	require.NoError(t, s.Close())
}

// BenchmarkHashFile times the one-off sha256 of a model given as a plain
// model-dir: the tiny fixture and a file the size of HHEM-2.1-Open's
// model.safetensors (about 440 MB; skipped with -short).
func BenchmarkHashFile(b *testing.B) {
	tiny := filepath.Join(testutil.SharedTestdata(b, "hhem-tiny"), "model.safetensors")
	b.Run("tiny", func(b *testing.B) { benchHash(b, tiny) })
	b.Run("440MB", func(b *testing.B) {
		if testing.Short() {
			b.Skip("writes a 440 MB file")
		}
		p := filepath.Join(b.TempDir(), "model.safetensors")
		f, err := os.Create(p)
		require.NoError(b, err)
		r := rand.New(rand.NewPCG(1, 2))
		buf := make([]byte, 1<<20)
		for range 440 {
			for i := 0; i < len(buf); i += 8 {
				binary.LittleEndian.PutUint64(buf[i:], r.Uint64())
			}
			_, err := f.Write(buf)
			require.NoError(b, err)
		}
		require.NoError(b, f.Close())
		benchHash(b, p)
	})
}

func benchHash(b *testing.B, path string) {
	st, err := os.Stat(path)
	require.NoError(b, err)
	b.SetBytes(st.Size())
	for b.Loop() {
		if _, err := hashFile(context.Background(), path); err != nil {
			b.Fatal(err)
		}
	}
}

//go:build unix

package exec

import (
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A plugin's own children die with it: a Python wrapper that forks model
// workers must not leave them holding a GPU after hallu is done.
func TestCloseKillsPluginChildren(t *testing.T) {
	fifo := filepath.Join(t.TempDir(), "child")
	require.NoError(t, syscall.Mkfifo(fifo, 0o600))
	t.Setenv(fifoEnv, fifo)
	s := openPlugin(t, "spawn")
	// Opening blocks until the plugin opens the other end; the child then
	// holds the only writer, so end of file here means it is dead.
	r, err := os.Open(fifo)
	require.NoError(t, err)
	defer r.Close()
	res := score(t, s, "score=0.5")
	require.NoError(t, res[0].Err)
	require.NoError(t, s.Close())

	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(r)
		done <- err
	}()
	// The child sleeps ten minutes unless killed; a minute is only a bound
	// on a broken test, not a measure of speed.
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(time.Minute):
		t.Fatal("the plugin's child outlived Close")
	}
}

//go:build darwin || dragonfly || freebsd || linux || netbsd || openbsd

package lock

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The test binary doubles as the other process: with helperEnv set it runs
// helperMain instead of the tests.
const helperEnv = "HALLU_LOCK_TEST_HELPER"

func TestMain(m *testing.M) {
	if mode := os.Getenv(helperEnv); mode != "" {
		os.Exit(helperMain(mode, os.Args[len(os.Args)-1]))
	}
	os.Exit(m.Run())
}

// helperMain runs in a child process. "hold" locks path, says "locked" on
// stdout and keeps the lock until stdin reaches EOF; "try" attempts the
// lock once and prints the error, exiting 3 when the lock is held.
func helperMain(mode, path string) int {
	acq := Acquire
	if strings.HasSuffix(mode, "-dir") {
		acq = AcquireDir
		mode = strings.TrimSuffix(mode, "-dir")
	}
	l, err := acq(path)
	switch mode {
	case "hold":
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		if err := l.Release(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "try":
		var he *HeldError
		if errors.As(err, &he) {
			fmt.Println(err)
			return 3
		}
		if err != nil {
			fmt.Println("error:", err)
			return 1
		}
		fmt.Println("acquired")
		return 0
	}
	return 2
}

// holder is a child process holding a lock.
type holder struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
}

// hold starts a child that takes the lock and returns once it says it has:
// the pipe, not a sleep, is the synchronisation.
func hold(t *testing.T, mode, path string) *holder {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", path)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	h := &holder{cmd: cmd, stdin: stdin}
	t.Cleanup(func() {
		h.stdin.Close()
		h.cmd.Process.Kill()
		h.cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "locked\n", line)
	return h
}

// try runs a second child that attempts the lock, returning its output and
// exit code.
func try(t *testing.T, mode, path string) (string, int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$", path)
	cmd.Env = append(os.Environ(), helperEnv+"="+mode)
	out, err := cmd.Output()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return string(out), ee.ExitCode()
	}
	require.NoError(t, err)
	return string(out), 0
}

func TestSecondProcessFailsNamingHolder(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	a := hold(t, "hold", out)
	pidA := a.cmd.Process.Pid

	msg, code := try(t, "try", out)
	assert.Equal(t, 3, code)
	assert.Equal(t, fmt.Sprintf("%s is in use by another hallu (pid %d); wait for it or stop it\n", out, pidA), msg)

	// In this process too, with the typed error.
	_, err := Acquire(out)
	var he *HeldError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, &HeldError{Path: out, PID: pidA}, he)

	// A releases when told to; then the lock is free and its file gone.
	require.NoError(t, a.stdin.Close())
	require.NoError(t, a.cmd.Wait())
	_, err = os.Stat(out + ".lock")
	assert.ErrorIs(t, err, os.ErrNotExist)
	msg, code = try(t, "try", out)
	assert.Equal(t, 0, code, msg)
}

// A holder killed outright leaves its lock file behind, with its PID, but
// not the lock.
func TestKilledHolderDoesNotBlock(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	a := hold(t, "hold-dir", dir)
	pidA := a.cmd.Process.Pid
	msg, code := try(t, "try-dir", dir)
	require.Equal(t, 3, code)
	assert.Contains(t, msg, fmt.Sprintf("(pid %d)", pidA))

	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	a.cmd.Wait() // reaped: the kernel has closed its files and dropped the flock
	b, err := os.ReadFile(filepath.Join(dir, DirLockName))
	require.NoError(t, err, "the killed holder's lock file stays")
	assert.Equal(t, strconv.Itoa(pidA)+"\n", string(b))

	l, err := AcquireDir(dir)
	require.NoError(t, err)
	b, err = os.ReadFile(l.Path())
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(os.Getpid())+"\n", string(b), "the new holder's PID replaces the stale one")
	require.NoError(t, l.Release())
	require.NoError(t, l.Release(), "a second Release is a no-op")
}

func TestAcquireInProcess(t *testing.T) {
	out := filepath.Join(t.TempDir(), "scores.jsonl")
	l, err := Acquire(out)
	require.NoError(t, err)
	assert.Equal(t, out+".lock", l.Path())

	// A second lock in the same process conflicts too (flock binds an open
	// file, not a process), and says whose it is.
	_, err = Acquire(out)
	assert.EqualError(t, err, out+" is already in use by this process")

	// The file and its directory lock independently.
	d, err := AcquireDir(filepath.Dir(out))
	require.NoError(t, err)
	require.NoError(t, d.Release())

	require.NoError(t, l.Release())
	l, err = Acquire(out)
	require.NoError(t, err)
	require.NoError(t, l.Release())

	_, err = Acquire(filepath.Join(t.TempDir(), "missing", "x.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

// A process that opened the sidecar just before its holder released it (and
// removed it) gets a lock on a file no longer in place; meanwhile a third
// process may have created and locked a new sidecar. The late one must see
// that and fail, not believe it holds the lock too.
func TestLockOnRemovedSidecarIsNotTrusted(t *testing.T) {
	out := filepath.Join(t.TempDir(), "gen.jsonl")
	first, err := Acquire(out)
	require.NoError(t, err)
	var third *Lock
	testHookOpened = func() {
		testHookOpened = nil // once: the retry opens the new file
		require.NoError(t, first.Release())
		third, err = Acquire(out)
		require.NoError(t, err)
	}
	t.Cleanup(func() { testHookOpened = nil })

	_, err = Acquire(out)
	var he *HeldError
	require.ErrorAs(t, err, &he, "the lock taken on the removed file must not count")
	assert.Equal(t, os.Getpid(), he.PID)
	require.NoError(t, third.Release())

	// Without a third process the late one retries and gets the new file.
	first, err = Acquire(out)
	require.NoError(t, err)
	testHookOpened = func() {
		testHookOpened = nil
		require.NoError(t, first.Release())
	}
	l, err := Acquire(out)
	require.NoError(t, err)
	same, err := samePath(l.f, out+".lock")
	require.NoError(t, err)
	assert.True(t, same)
	require.NoError(t, l.Release())
}

func TestHeldErrorMessages(t *testing.T) {
	assert.EqualError(t, &HeldError{Path: "out.jsonl", PID: 1234}, "out.jsonl is in use by another hallu (pid 1234); wait for it or stop it")
	assert.EqualError(t, &HeldError{Path: "out.jsonl"}, "out.jsonl is in use by another hallu (pid unknown); wait for it or stop it")
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"time"
)

// runTime runs a command and reports what a whole run costs: wall time,
// CPU time, CPU utilisation ((user+sys) / wall / cores) and the peak
// resident memory of its largest process, from the kernel's rusage, with
// docs/s when -docs says how many documents it scored.
func runTime(ctx context.Context, args []string) error {
	docs := 0
	if len(args) >= 2 && args[0] == "-docs" {
		if _, err := fmt.Sscan(args[1], &docs); err != nil {
			return fmt.Errorf("-docs %q: %w", args[1], err)
		}
		args = args[2:]
	}
	if len(args) > 0 && args[0] == "--" {
		args = args[1:]
	}
	if len(args) == 0 {
		return errors.New("usage: hhembench time [-docs N] -- command [args]")
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	sched := map[string][2]float64{}
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-done:
				return
			case <-time.After(500 * time.Millisecond):
				pollSchedstat(cmd.Process.Pid, sched)
			}
		}
	}()
	err := cmd.Wait()
	close(done)
	wall := time.Since(t0).Seconds()
	if err != nil {
		return fmt.Errorf("%s: %w", args[0], err)
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		return errors.New("no resource usage on this system")
	}
	user := time.Duration(ru.Utime.Nano()).Seconds()
	sys := time.Duration(ru.Stime.Nano()).Seconds()
	cores := runtime.NumCPU()
	fmt.Printf("wall %.1f s, user %.1f s, sys %.1f s, CPU utilisation %.0f%% of %d cores, peak RSS %.0f MB",
		wall, user, sys, 100*(user+sys)/wall/float64(cores), cores, float64(ru.Maxrss)/1024)
	var run, wait float64
	for _, v := range sched {
		run, wait = run+v[0], wait+v[1]
	}
	if run > 0 {
		// On a machine shared with other work the utilisation above is
		// capped by what the scheduler granted; time spent runnable but
		// waiting for a core shows how many cores the run would have kept
		// busy on its own.
		// The polls miss the last moments; rusage has them, so scale
		// its CPU time by the polled ratio of runnable to running time.
		fmt.Printf(", runnable %.0f%% of %d cores (on a core or waiting for one)",
			100*(user+sys)*(run+wait)/run/wall/float64(cores), cores)
	}
	if docs > 0 {
		fmt.Printf(", %d documents: %.3f documents/s", docs, float64(docs)/wall)
	}
	fmt.Println()
	return nil
}

// pollSchedstat records each thread's time on a core and time runnable but
// waiting for one, in seconds, from /proc/PID/task/*/schedstat (Linux).
// Threads keep their latest reading, so ones that exit still count up to
// the last poll.
func pollSchedstat(pid int, into map[string][2]float64) {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	for _, p := range tasks {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var run, wait float64
		if n, _ := fmt.Sscan(string(b), &run, &wait); n == 2 {
			into[p] = [2]float64{run / 1e9, wait / 1e9}
		}
	}
}

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
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
	err := cmd.Run()
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
	if docs > 0 {
		fmt.Printf(", %d documents: %.3f documents/s", docs, float64(docs)/wall)
	}
	fmt.Println()
	return nil
}

//go:build unix

package exec

import (
	osexec "os/exec"
	"syscall"
)

// ownGroup starts the plugin as the leader of a new process group, so that
// killing the group also ends whatever it started (a Python wrapper's
// worker processes, the command under sh -c).
func ownGroup(cmd *osexec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// killGroup kills every process left in the plugin's group. The kernel
// keeps a group's id from being reused while any member lives, so the
// signal reaches the plugin's own descendants only.
func killGroup(pid int) {
	_ = syscall.Kill(-pid, syscall.SIGKILL)
}

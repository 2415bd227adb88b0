//go:build !unix

package exec

import osexec "os/exec"

// Without process groups only the plugin itself is killed.
func ownGroup(*osexec.Cmd) {}
func killGroup(int)        {}

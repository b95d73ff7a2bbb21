//go:build !unix

package agentd

import "os/exec"

// kernelRelease is unknown here.
func kernelRelease() string { return "" }

// killGroupOnCancel leaves cmd as it is: exec kills the process itself.
func killGroupOnCancel(cmd *exec.Cmd) {}

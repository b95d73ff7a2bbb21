//go:build unix

package agentd

import (
	"os/exec"
	"syscall"

	"golang.org/x/sys/unix"
)

// kernelRelease returns the kernel release, as uname -r prints it.
func kernelRelease() string {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return ""
	}
	return unix.ByteSliceToString(u.Release[:])
}

// killGroupOnCancel runs cmd in a process group of its own and makes its
// cancellation kill the whole group, so a facts script's children do not
// outlive its timeout.
func killGroupOnCancel(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
}

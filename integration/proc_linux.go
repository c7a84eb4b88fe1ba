package integration

import (
	"os/exec"
	"runtime"
	"syscall"
)

// startTied starts cmd so that the kernel kills it if the test binary dies
// (PR_SET_PDEATHSIG). The signal follows the thread that forked the child,
// so the fork happens on a locked thread that lives exactly as long as the
// child: the goroutine waits for the child and never unlocks, and its thread
// is discarded only after the child is gone.
func startTied(cmd *exec.Cmd, p *process) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			runtime.UnlockOSThread()
			return
		}
		p.pid = cmd.Process.Pid
		started <- nil
		p.reap()
	}()
	return <-started
}

//go:build !linux

package integration

import "os/exec"

// startTied starts cmd. Outside Linux there is no parent-death signal, so a
// crashed test binary can leave the JVM behind; Close and Main still stop it.
func startTied(cmd *exec.Cmd, p *process) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	p.pid = cmd.Process.Pid
	go p.reap()
	return nil
}

package pglocal

import "syscall"

// dieWithParent has the kernel kill the child if this process dies first, so that an initdb does
// not outlive an interrupted Start and write into a directory being cleaned up.
func dieWithParent(attr *syscall.SysProcAttr) { attr.Pdeathsig = syscall.SIGKILL }

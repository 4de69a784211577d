package ndmp_test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"

	"tapelab/internal/testpeer"
)

// netns is a private network namespace with only loopback, held by a
// locked OS thread. Wireshark's NDMP dissector only decodes port 10000,
// and ndmjob's daemon and nmap expect it too; a namespace gives every test
// its own 127.0.0.1:10000.
type netns struct {
	path string // /proc/PID/task/TID/ns/net, for nsenter
	do   chan func()
}

func newNetns(t *testing.T) *netns {
	t.Helper()
	testpeer.Program(t, "nsenter")
	n := &netns{do: make(chan func())}
	ready := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with the namespace
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			ready <- err
			return
		}
		n.path = fmt.Sprintf("/proc/%d/task/%d/ns/net", os.Getpid(), unix.Gettid())
		ready <- loUp()
		for {
			select {
			case f := <-n.do:
				f()
			case <-done:
				return
			}
		}
	}()
	if err := <-ready; err != nil {
		testpeer.Unavailable(t, "cannot create a network namespace: %v", err)
	}
	t.Cleanup(func() { close(done) })
	return n
}

// loUp brings up the loopback interface of the calling thread's namespace.
func loUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCGIFFLAGS lo: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("SIOCSIFFLAGS lo: %w", err)
	}
	return nil
}

// listen opens a TCP listener inside the namespace.
func (n *netns) listen(addr string) (net.Listener, error) {
	type res struct {
		l   net.Listener
		err error
	}
	ch := make(chan res)
	n.do <- func() {
		l, err := net.Listen("tcp", addr)
		ch <- res{l, err}
	}
	r := <-ch
	return r.l, r.err
}

// command runs name inside the namespace.
func (n *netns) command(name string, args ...string) *exec.Cmd {
	return exec.Command("nsenter", append([]string{"--net=" + n.path, name}, args...)...)
}

func osexec(name string, args ...string) ([]byte, error) {
	return exec.Command(name, args...).CombinedOutput()
}

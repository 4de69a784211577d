package fs_test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"tapelab/fs"
	"tapelab/volume"
)

// The durability child is this test binary re-executed with childEnv set
// to "STOREDIR MOUNTPOINT": it opens the store, mounts the volume, and
// starts the writer (the binary again, with writerEnv = MOUNTPOINT), which
// writes and fsyncs chunks through the mount and reports each fsynced chunk
// on the shared stdout. The writer is a separate process because a FUSE
// server killed while its own threads wait on its mount never finishes
// dying (the kernel waits for the server to answer itself).
const (
	childEnv    = "TAPELAB_FS_DURABILITY_CHILD"
	writerEnv   = "TAPELAB_FS_DURABILITY_WRITER"
	chunkSize   = 256 << 10
	childChunks = 400 // 100 MiB at most; the parent kills the server long before
)

func chunk(i int) []byte {
	b := bytes.Repeat([]byte(fmt.Sprintf("chunk %08d|", i)), chunkSize/15+1)
	return b[:chunkSize]
}

func durabilityChild() int {
	args := strings.Fields(os.Getenv(childEnv))
	st, err := volume.Open(args[0], volume.Options{})
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	vol, err := st.Volume("vs1", "vol1")
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	mp, err := fs.Mount(vol, args[1], nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	w := exec.Command(os.Args[0], "-test.run=^$")
	w.Env = append(os.Environ(), childEnv+"=", writerEnv+"="+mp.Dir())
	w.Stdout = os.Stdout
	w.Stderr = os.Stderr
	if err := w.Start(); err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Println("writer", w.Process.Pid)
	mp.Wait() // until killed
	return 0
}

func durabilityWriter() int {
	dir := os.Getenv(writerEnv)
	f, err := os.OpenFile(filepath.Join(dir, "data"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		fmt.Println("writer-error", err)
		return 1
	}
	for i := 0; i < childChunks; i++ {
		if _, err := f.WriteAt(chunk(i), int64(i)*chunkSize); err != nil {
			fmt.Println("writer-error", err)
			return 1
		}
		if err := f.Sync(); err != nil {
			fmt.Println("writer-error", err)
			return 1
		}
		if i%4 == 0 {
			name := filepath.Join(dir, fmt.Sprintf("small-%d", i))
			if err := os.WriteFile(name, []byte(strconv.Itoa(i)), 0o644); err != nil {
				fmt.Println("writer-error", err)
				return 1
			}
			g, err := os.Open(name)
			if err != nil {
				fmt.Println("writer-error", err)
				return 1
			}
			err = g.Sync()
			g.Close()
			if err != nil {
				fmt.Println("writer-error", err)
				return 1
			}
		}
		fmt.Println("synced", i)
	}
	return 0
}

func TestDurabilityAfterKill(t *testing.T) {
	need(t, "fusermount3")
	dir := t.TempDir()
	storeDir, mnt := filepath.Join(dir, "db"), filepath.Join(dir, "mnt")
	st, err := volume.Open(storeDir, volume.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.CreateVolume(volume.Spec{SVM: "vs1", Name: "vol1", Size: 256 << 20}); err != nil {
		t.Fatal(err)
	}
	st.Close()

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+storeDir+" "+mnt)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	killed := false
	writerPid := 0
	t.Cleanup(func() {
		if !killed {
			cmd.Process.Kill()
			cmd.Wait()
		}
		if writerPid > 0 {
			syscall.Kill(writerPid, syscall.SIGKILL)
		}
		fs.PrepareMountpoint(mnt) // detach whatever is left
	})
	last := -1
	sc := bufio.NewScanner(out)
	scan := func(stopAt int) {
		for sc.Scan() {
			line := sc.Text()
			switch {
			case strings.HasPrefix(line, "error"):
				t.Fatalf("child: %s", line)
			case strings.HasPrefix(line, "writer-error"):
				// Expected once the server is gone.
				t.Logf("writer after the kill: %s", line)
			case strings.HasPrefix(line, "writer "):
				writerPid, _ = strconv.Atoi(strings.TrimPrefix(line, "writer "))
			case strings.HasPrefix(line, "synced "):
				last, _ = strconv.Atoi(strings.TrimPrefix(line, "synced "))
				if last >= stopAt {
					return
				}
			}
		}
	}
	scan(40)
	// Kill the server mid-stream: the writer is busy with the next chunk.
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed = true
	// Whatever the writer reports until it sees the dead mount and exits
	// (its stdout is the pipe) was fsynced before the kill.
	scan(1 << 30)
	cmd.Wait()
	if last < 0 {
		t.Fatalf("writer reported no fsynced chunk")
	}

	// The dead server left "transport endpoint is not connected".
	var sfs syscall.Statfs_t
	if err := syscall.Statfs(mnt, &sfs); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("statfs of the dead mount: %v, want ENOTCONN", err)
	}

	st, err = volume.Open(storeDir, volume.Options{})
	if err != nil {
		t.Fatalf("reopen store after kill: %v", err)
	}
	defer st.Close()
	vol, err := st.Volume("vs1", "vol1")
	if err != nil {
		t.Fatal(err)
	}
	// Mount again at the same place: Mount must clear the stale mount.
	mp, err := fs.Mount(vol, mnt, nil)
	if err != nil {
		t.Fatalf("remount over the stale mount: %v", err)
	}
	defer mp.Unmount()
	f, err := os.Open(filepath.Join(mnt, "data"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, chunkSize)
	for i := 0; i <= last; i++ {
		n, err := f.ReadAt(buf, int64(i)*chunkSize)
		if n != chunkSize || !bytes.Equal(buf, chunk(i)) {
			t.Fatalf("fsynced chunk %d lost or damaged after kill: %d bytes, %v", i, n, err)
		}
		if i%4 == 0 {
			b, err := os.ReadFile(filepath.Join(mnt, fmt.Sprintf("small-%d", i)))
			if err != nil || string(b) != strconv.Itoa(i) {
				t.Fatalf("fsynced small-%d: %q %v", i, b, err)
			}
		}
	}
	t.Logf("verified %d fsynced chunks of %d KiB", last+1, chunkSize>>10)
	rep, err := vol.Check()
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Errorf("volume check after kill: %v", rep.Problems)
	}
}

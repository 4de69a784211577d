// Package linuxdump runs the reference tools the dump engine is compared
// with: mke2fs -d (an ext2 image of a directory, no loop mount) and Linux
// dump 0.4b47 on that image file. dump refuses image files lying on a
// mounted file system (it treats them as a subdirectory of "/" and opens
// the root block device), so Dump runs it in a private mount namespace
// (unshare -m) where every mounted block device node is hidden behind an
// empty file; nothing global changes. Needs root.
package linuxdump

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
)

// MakeExt2 builds an ext2 image of src at img with the given size
// ("64M", ...), 4 KiB blocks, 256-byte inodes (so xattrs fit in-inode).
func MakeExt2(src, img, size string, inodes int) error {
	args := []string{"-q", "-F", "-t", "ext2", "-b", "4096", "-I", "256", "-L", "tapelab"}
	if inodes > 0 {
		args = append(args, "-N", fmt.Sprint(inodes))
	}
	args = append(args, "-d", src, img, size)
	out, err := exec.Command("mke2fs", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mke2fs: %v: %s", err, out)
	}
	return nil
}

const script = `
blank=$1; shift
for d in $(awk '{print $1}' /proc/self/mounts | sort -u); do
  [ -b "$d" ] && mount --bind "$blank" "$d"
done
exec dump "$@"`

// Dump runs Linux dump with args (e.g. "-0", "-b", "64", "-f", out, img)
// and returns its output.
func Dump(dir string, args ...string) (string, error) {
	blank, err := os.CreateTemp("", "dumpimg-blank.")
	if err != nil {
		return "", err
	}
	blank.Close()
	defer os.Remove(blank.Name())
	full := append([]string{"-m", "-u", "sh", "-c", script, "sh", blank.Name()}, args...)
	cmd := exec.Command("unshare", full...)
	cmd.Dir = dir
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("dump %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

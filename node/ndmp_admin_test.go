package node

import (
	"context"
	"crypto/tls"
	"os"
	"strings"
	"testing"

	"tapelab/ndmp"
	"tapelab/ndmp/client"
)

// TestNDMPAdminCalls drives the ndmp admin calls `tapelab ndmp ...` uses
// against a node and a real client session (plain and ndmps).
func TestNDMPAdminCalls(t *testing.T) {
	n, err := Open(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	m := n.Mux()
	ctx := context.Background()
	do := func(name string, args, result any) {
		t.Helper()
		if err := m.Call(ctx, name, args, result); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	do("ndmp.user.add", NDMPUserArgs{User: "backup", Password: "secret"}, nil)
	var gen NDMPUserArgs
	do("ndmp.generate-password", NDMPUserArgs{User: "vsadmin"}, &gen)
	if len(gen.Password) != 16 {
		t.Fatalf("generated %+v", gen)
	}
	var addrs NDMPListenArgs
	do("ndmp.listen", NDMPListenArgs{Addr: "127.0.0.1:0", TLSAddr: "127.0.0.1:0"}, &addrs)
	if addrs.Addr == "" || addrs.TLSAddr == "" {
		t.Fatalf("listen %+v", addrs)
	}
	if _, err := os.Stat(n.Dir + "/ndmp/ndmp-cert.pem"); err != nil {
		t.Fatalf("no self-signed certificate: %v", err)
	}
	c, err := client.Dial(addrs.Addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Connect("vsadmin", gen.Password, false); err != nil {
		t.Fatal(err)
	}
	do("ndmp.modify", NDMPModifyArgs{Option: "plaintext", Value: "true"}, nil)
	tc, err := client.DialTLS(addrs.TLSAddr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	if err := tc.Connect("backup", "secret", true); err != nil {
		t.Fatal(err)
	}
	var list []ndmp.SessionInfo
	do("ndmp.status", nil, &list)
	if len(list) != 2 {
		t.Fatalf("status %+v", list)
	}
	var tr NDMPTrace
	do("ndmp.log.start", NDMPSessionArgs{ID: list[0].ID}, &tr)
	if !strings.HasSuffix(tr.Path, ".log") {
		t.Fatalf("trace %+v", tr)
	}
	do("ndmp.log.stop", NDMPSessionArgs{ID: list[0].ID}, &tr)
	do("ndmp.modify", NDMPModifyArgs{Option: "plaintext", Value: "false"}, nil)
	var sh NDMPShow
	do("ndmp.show", nil, &sh)
	if sh.Settings.PlaintextAuth || sh.Addr != addrs.Addr || len(sh.Users) != 2 || len(sh.Butypes) != 1 {
		t.Fatalf("show %+v", sh)
	}
	var killed map[string]int
	do("ndmp.kill-all", nil, &killed)
	if killed["killed"] != 2 {
		t.Fatalf("kill-all %v", killed)
	}
	if err := m.Call(ctx, "ndmp.kill", NDMPSessionArgs{ID: 999}, nil); err == nil || !strings.Contains(err.Error(), "ndmpd session 999 not active") {
		t.Fatalf("kill unknown: %v", err)
	}
	var v string
	do("ndmp.version", nil, &v)
	do("ndmp.off", nil, nil)
	if _, err := client.Dial(addrs.Addr); err == nil {
		t.Fatal("connection accepted while off")
	}
	do("ndmp.on", nil, nil)
}

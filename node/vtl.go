package node

import (
	"fmt"
	"path/filepath"

	"tapelab/admin"
	"tapelab/vtl"
)

func init() { registerArea("vtl", registerVTL) }

// VTL returns the node's tape library inventory (DATA/vtl).
func (n *Node) VTL() *vtl.Inventory { return n.Area("vtl").(*vtl.Inventory) }

// registerVTL opens the inventory. The admin calls for libraries, tapes and
// `storage tape` views are registered by vtl_admin.go.
func registerVTL(n *Node, m *admin.Mux) error {
	inv, err := vtl.Open(filepath.Join(n.Dir, "vtl"))
	if err != nil {
		return fmt.Errorf("tape library: %w", err)
	}
	n.SetArea("vtl", inv)
	n.OnClose(inv.Close)
	for _, reg := range vtlCalls {
		if err := reg(n, m); err != nil {
			return err
		}
	}
	return nil
}

// vtlCalls register the vtl admin calls (appended to by vtl_admin.go).
var vtlCalls []func(n *Node, m *admin.Mux) error

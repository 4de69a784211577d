// Package node is one tapelab "node": the single process that owns a data
// directory and everything in it.
//
// Badger lets one process open a database, and cartridges and sockets want
// one owner too, so exactly one Node exists per data directory at a time.
// Open takes an exclusive flock on DATA/tapelab.lock; whoever holds it is
// the node and serves the admin API (package admin) on DATA/tapelab.sock.
// `tapelab serve` keeps a node up; any other command either talks to the
// running node over the socket or, when none runs, becomes the node for
// its own duration (see cmd/tapelab). Both paths dispatch to the same
// handlers, registered here per area (volume.go, snapshot.go, vtl.go, ...).
//
// Data directory layout:
//
//	DATA/tapelab.lock   flock held by the owning process
//	DATA/tapelab.sock   admin API (Unix socket) while a node runs
//	DATA/db/            Badger: volumes, inodes, blocks, snapshots
//	DATA/vtl/           libraries, drives, cartridges (package vtl)
//	DATA/ndmp/          NDMP users, certificates (package ndmp)
//	DATA/log/           backup event log (backup, backup.0 .. backup.5)
//
// Adding an area: write node/AREA.go with a function
// `func registerAREA(n *Node, m *admin.Mux) error` that opens the area's
// state (n.SetArea("AREA", state); n.OnClose(cleanup)) and registers calls
// named "AREA.verb", and register it in an init func in that file:
//
//	func init() { registerArea("AREA", registerAREA) }
//
// Areas open in the order of areaOrder in node.go (volume, vtl, ndmp,
// backup), so an area may use the ones before it through n.Area(name).
// Typed handlers: handle(m, "AREA.verb", func(ctx, in ArgsType) (any, error)).
//
// Handlers decode their JSON args with admin.Decode and return a value the
// CLI prints (as a table, or as JSON with --json). Errors carry the
// user-facing text.
package node

// Package admin is the local administration API of a tapelab node.
//
// A node (the one process that owns a data directory: `tapelab serve`, or a
// CLI command that opened the directory itself) serves the API on the Unix
// socket DATA/tapelab.sock. Every `tapelab` command is a client of it: when
// a node is running it sends its request over the socket, otherwise it opens
// the node in-process and dispatches the very same request to the same Mux.
// There is one code path, no offline twin.
//
// Wire format: HTTP/1.1 over the Unix socket. A call is
//
//	POST /v1/call/NAME   body: the JSON arguments
//
// answered with 200 and {"result": ...} or with 4xx/5xx and
// {"error": "message", "code": "..."}; the message is the user-facing
// text (ONTAP seed messages verbatim) and is printed as is by the CLI.
package admin

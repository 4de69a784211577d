// Package wire is the NDMP v4 wire format: XDR (RFC 4506) encoding by
// reflection over Go structs that mirror ndmp4.x one to one (u_long,
// enums, u_short and u_char as 4-byte words, ndmp4_u_quad as a hyper,
// string<>, opaque<>, opaque[N], arrays; the unions ndmp4_auth_data,
// ndmp4_auth_attr, ndmp4_addr and ndmp4_file_name encode themselves), the
// 24-byte message header, RPC record marking with multi-fragment records
// (bounded by MaxRecord), and Messages: the one table of every v4 message
// code with its name and request/reply types. The round-trip test walks
// the whole table; FuzzDecodeMessage and FuzzRecordReader guard the
// decoders, which never allocate more than the input can describe.
//
// The structs were written from the NDMP v4 specification; the test
// TestStructsMatchDescription checks them field by field against
// testdata/ndmp4.xdr, our transcription of the specification's types (we
// chose hand-written structs and a reflective codec over an XDR code
// generator: 55 messages, four unions, no new module to vendor). On the
// wire they are checked against two independent implementations:
// Wireshark's dissector decodes our captures with no malformed packets,
// and Amanda's ndmjob passes its conformance series against our server. One deliberate difference from
// Amanda's ndmp4.x: CONFIG_SET_EXT_LIST's request is the specification's
// list of (class, version) pairs.
package wire

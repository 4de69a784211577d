package wire

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
)

// goTypes maps the description's struct names to the Go types.
var goTypes = map[string]any{
	"error_reply": ErrorReply{}, "pval": PVal{}, "connect_open_request": ConnectOpenRequest{},
	"connect_client_auth_request": ConnectClientAuthRequest{}, "connect_server_auth_request": ConnectServerAuthRequest{},
	"connect_server_auth_reply": ConnectServerAuthReply{}, "config_get_host_info_reply": ConfigGetHostInfoReply{},
	"config_get_server_info_reply": ConfigGetServerInfoReply{}, "config_get_connection_type_reply": ConfigGetConnectionTypeReply{},
	"config_get_auth_attr_request": ConfigGetAuthAttrRequest{}, "config_get_auth_attr_reply": ConfigGetAuthAttrReply{},
	"butype_info": ButypeInfo{}, "config_get_butype_info_reply": ConfigGetButypeInfoReply{}, "fs_info": FSInfo{},
	"config_get_fs_info_reply": ConfigGetFSInfoReply{}, "device_capability": DeviceCapability{}, "device_info": DeviceInfo{},
	"config_get_device_info_reply": ConfigGetDeviceInfoReply{}, "class_list": ClassList{}, "class_version": ClassVersion{},
	"config_get_ext_list_reply": ConfigGetExtListReply{}, "config_set_ext_list_request": ConfigSetExtListRequest{},
	"device_open_request": DeviceOpenRequest{}, "scsi_get_state_reply": SCSIGetStateReply{},
	"execute_cdb_request": ExecuteCDBRequest{}, "execute_cdb_reply": ExecuteCDBReply{}, "tape_open_request": TapeOpenRequest{},
	"tape_get_state_reply": TapeGetStateReply{}, "tape_mtio_request": TapeMTIORequest{}, "tape_mtio_reply": TapeMTIOReply{},
	"tape_write_request": TapeWriteRequest{}, "tape_write_reply": TapeWriteReply{}, "tape_read_request": TapeReadRequest{},
	"tape_read_reply": TapeReadReply{}, "tcp_addr": TCPAddr{}, "data_get_state_reply": DataGetStateReply{},
	"data_listen_request": DataListenRequest{}, "listen_reply": ListenReply{}, "data_connect_request": DataConnectRequest{},
	"data_start_backup_request": DataStartBackupRequest{}, "name": Name{}, "data_start_recover_request": DataStartRecoverRequest{},
	"data_get_env_reply": DataGetEnvReply{}, "mover_set_record_size_request": MoverSetRecordSizeRequest{},
	"mover_set_window_request": MoverSetWindowRequest{}, "mover_connect_request": MoverConnectRequest{},
	"mover_listen_request": MoverListenRequest{}, "mover_read_request": MoverReadRequest{}, "mover_get_state_reply": MoverGetStateReply{},
	"notify_data_halted_post": NotifyDataHaltedPost{}, "notify_connection_status_post": NotifyConnectionStatusPost{},
	"notify_mover_halted_post": NotifyMoverHaltedPost{}, "notify_mover_paused_post": NotifyMoverPausedPost{},
	"notify_data_read_post": NotifyDataReadPost{}, "log_message_post": LogMessagePost{}, "log_file_post": LogFilePost{},
	"file_stat": FileStat{}, "file": File{}, "fh_add_file_post": FHAddFilePost{}, "dir": Dir{}, "fh_add_dir_post": FHAddDirPost{},
	"node": Node{}, "fh_add_node_post": FHAddNodePost{},
}

// kindOf names the XDR type a Go type encodes as.
func kindOf(t reflect.Type) string {
	if t.Implements(marshalerType) || reflect.PointerTo(t).Implements(unmarshalerType) {
		return "union"
	}
	switch t.Kind() {
	case reflect.Uint32:
		if t.Name() == "uint32" {
			return "u_long"
		}
		return "enum"
	case reflect.Uint16:
		return "u_short"
	case reflect.Int16:
		return "short"
	case reflect.Uint8:
		return "u_char"
	case reflect.Uint64:
		return "u_quad"
	case reflect.String:
		return "string"
	case reflect.Slice:
		if t.Elem().Kind() == reflect.Uint8 {
			return "opaque<>"
		}
		return kindOf(t.Elem()) + "<>"
	case reflect.Struct:
		for n, v := range goTypes {
			if reflect.TypeOf(v) == t {
				return n
			}
		}
		return "struct " + t.Name()
	}
	return t.String()
}

// TestStructsMatchDescription checks every body type of the message table
// field by field against testdata/ndmp4.xdr.
func TestStructsMatchDescription(t *testing.T) {
	f, err := os.Open("testdata/ndmp4.xdr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	desc := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, fields, ok := strings.Cut(line, ":")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		for _, fd := range strings.Split(fields, ";") {
			typ := strings.Fields(fd)[0]
			desc[name] = append(desc[name], typ)
		}
	}
	for name, v := range goTypes {
		want, ok := desc[name]
		if !ok {
			t.Errorf("%s: not in the description", name)
			continue
		}
		rt := reflect.TypeOf(v)
		if rt.NumField() != len(want) {
			t.Errorf("%s (%s): %d fields, description has %d", name, rt.Name(), rt.NumField(), len(want))
			continue
		}
		for i := 0; i < rt.NumField(); i++ {
			got := kindOf(rt.Field(i).Type)
			w := want[i]
			if strings.HasPrefix(w, "enum") && got == "u_long" || strings.HasPrefix(w, "u_long") && got == "enum" {
				// enum and u_long are both 4-byte unsigned on the wire; the
				// Go side uses named types for enums.
				got, w = "u_long"+strings.TrimPrefix(got, "enum"), "u_long"+strings.TrimPrefix(strings.TrimPrefix(w, "enum"), "u_long")
			}
			if got != w {
				t.Errorf("%s.%s: Go encodes %s, description says %s", rt.Name(), rt.Field(i).Name, got, w)
			}
		}
	}
	// Every body type in the message table is described.
	for _, m := range Messages {
		for _, bt := range []reflect.Type{m.Request, m.Reply} {
			if bt == nil {
				continue
			}
			if k := kindOf(bt); strings.HasPrefix(k, "struct ") {
				t.Errorf("%s: body %s has no description", m.Name, bt.Name())
			}
		}
	}
}

package wire

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"reflect"
	"sort"
	"testing"
)

// fill sets every field of v (a pointer) to pseudo-random values, choosing
// union arms that the encoder will carry.
func fill(r *rand.Rand, v reflect.Value) {
	switch v.Interface().(type) {
	case AuthData:
		a := AuthData{Type: AuthType(r.Intn(3))}
		if a.Type != AuthNone {
			a.ID = randString(r)
		}
		if a.Type == AuthText {
			a.Password = randString(r)
		}
		if a.Type == AuthMD5 {
			r.Read(a.Digest[:])
		}
		v.Set(reflect.ValueOf(a))
		return
	case AuthAttr:
		a := AuthAttr{Type: AuthType(r.Intn(3))}
		if a.Type == AuthMD5 {
			r.Read(a.Challenge[:])
		}
		v.Set(reflect.ValueOf(a))
		return
	case Addr:
		a := Addr{Type: []AddrType{AddrLocal, AddrTCP, AddrIPC}[r.Intn(3)]}
		if a.Type == AddrTCP {
			a.TCP = make([]TCPAddr, 1+r.Intn(2))
			for i := range a.TCP {
				fill(r, reflect.ValueOf(&a.TCP[i]).Elem())
			}
		}
		if a.Type == AddrIPC {
			a.IPC = randBytes(r)
		}
		v.Set(reflect.ValueOf(a))
		return
	case FileName:
		f := FileName{FSType: FSType(r.Intn(3)), Name: randString(r)}
		if f.FSType == FSNT {
			f.DOSName = randString(r)
		}
		v.Set(reflect.ValueOf(f))
		return
	}
	switch v.Kind() {
	case reflect.Uint32:
		v.SetUint(uint64(r.Uint32()))
	case reflect.Uint16:
		v.SetUint(uint64(r.Intn(1 << 16)))
	case reflect.Uint8:
		v.SetUint(uint64(r.Intn(256)))
	case reflect.Int16:
		v.SetInt(int64(r.Intn(1<<16) - 1<<15))
	case reflect.Uint64:
		v.SetUint(r.Uint64())
	case reflect.String:
		v.SetString(randString(r))
	case reflect.Array:
		for i := 0; i < v.Len(); i++ {
			fill(r, v.Index(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			v.SetBytes(randBytes(r))
			return
		}
		n := 1 + r.Intn(3)
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := 0; i < n; i++ {
			fill(r, s.Index(i))
		}
		v.Set(s)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			fill(r, v.Field(i))
		}
	}
}

func randString(r *rand.Rand) string { return string(randBytes(r)) }

func randBytes(r *rand.Rand) []byte {
	n := r.Intn(13)
	if n == 0 {
		return nil
	}
	b := make([]byte, n)
	r.Read(b)
	return b
}

func sortedCodes() []Code {
	var cs []Code
	for c := range Messages {
		cs = append(cs, c)
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
	return cs
}

// TestRoundTripEveryMessage encodes and decodes a randomly filled request
// and reply of every message in the table, through record marking with
// small fragments.
func TestRoundTripEveryMessage(t *testing.T) {
	if len(Messages) != 55 {
		t.Fatalf("message table has %d entries, want the 55 NDMP v4 messages", len(Messages))
	}
	for _, c := range sortedCodes() {
		m := Messages[c]
		t.Run(m.Name, func(t *testing.T) {
			r := rand.New(rand.NewSource(int64(c)))
			for i := 0; i < 20; i++ {
				for _, typ := range []MessageType{Request, Reply} {
					var body any
					if typ == Request {
						body = m.NewRequest()
					} else {
						body = m.NewReply()
					}
					if body != nil {
						fill(r, reflect.ValueOf(body).Elem())
					}
					h := Header{Sequence: r.Uint32(), TimeStamp: r.Uint32(), Type: typ, Code: c, ReplySequence: r.Uint32(), Error: Error(r.Intn(31))}
					rec := EncodeMessage(h, body)
					stream := AppendRecord(nil, rec, 1+r.Intn(40))
					got, err := NewRecordReader(bytes.NewReader(stream), 0).Next()
					if err != nil {
						t.Fatal(err)
					}
					h2, b2, err := ParseHeader(got)
					if err != nil || h2 != h {
						t.Fatalf("header %+v -> %+v (%v)", h, h2, err)
					}
					v, err := DecodeBody(h2, b2)
					if err != nil {
						t.Fatalf("decode %s: %v", m.Name, err)
					}
					if body == nil {
						if v != nil {
							t.Fatalf("decoded a body for an empty message")
						}
						continue
					}
					if !reflect.DeepEqual(normalize(body), normalize(v)) {
						t.Fatalf("%s round trip:\n sent %+v\n  got %+v", m.Name, body, v)
					}
					if !bytes.Equal(Marshal(v), rec[HeaderSize:]) {
						t.Fatalf("%s re-encoding differs", m.Name)
					}
				}
			}
		})
	}
}

// normalize maps empty slices to nil so DeepEqual compares content.
func normalize(v any) any {
	rv := reflect.ValueOf(v)
	out := reflect.New(rv.Elem().Type())
	out.Elem().Set(rv.Elem())
	return out.Interface()
}

func TestKnownEncodings(t *testing.T) {
	// CONNECT_OPEN v4 as ndmjob sends it: version as a 4-byte u_short.
	rec := EncodeMessage(Header{Sequence: 1, TimeStamp: 0x5f000000, Code: ConnectOpen}, &ConnectOpenRequest{ProtocolVersion: 4})
	want := []byte{0, 0, 0, 1, 0x5f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4}
	if !bytes.Equal(rec, want) {
		t.Fatalf("CONNECT_OPEN = % x", rec)
	}
	// A TCP address: type, count, ip, port, env count.
	got := Marshal(&Addr{Type: AddrTCP, TCP: []TCPAddr{{IP: 0x7f000001, Port: 10001}}})
	want = []byte{0, 0, 0, 1, 0, 0, 0, 1, 127, 0, 0, 1, 0, 0, 0x27, 0x11, 0, 0, 0, 0}
	if !bytes.Equal(got, want) {
		t.Fatalf("addr = % x", got)
	}
	// Strings are padded to 4 bytes.
	if got := Marshal(&DeviceOpenRequest{Device: "mc0"}); !bytes.Equal(got, []byte{0, 0, 0, 3, 'm', 'c', '0', 0}) {
		t.Fatalf("string = % x", got)
	}
}

func TestRecordLimits(t *testing.T) {
	var stream []byte
	stream = AppendRecord(stream, make([]byte, 100), 0)
	_, err := NewRecordReader(bytes.NewReader(stream), 50).Next()
	if !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("oversized record: %v", err)
	}
	// Many fragments that together exceed the limit.
	stream = AppendRecord(nil, make([]byte, 100), 10)
	if _, err := NewRecordReader(bytes.NewReader(stream), 50).Next(); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("fragmented oversized record: %v", err)
	}
	// Truncated record.
	stream = AppendRecord(nil, make([]byte, 100), 0)
	if _, err := NewRecordReader(bytes.NewReader(stream[:50]), 0).Next(); err != io.ErrUnexpectedEOF {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := NewRecordReader(bytes.NewReader(nil), 0).Next(); err != io.EOF {
		t.Fatalf("empty: %v", err)
	}
	// A lying array count must not allocate.
	body := []byte{0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff}
	var rep ConfigGetFSInfoReply
	if err := Unmarshal(body, &rep); !errors.Is(err, ErrTooLong) {
		t.Fatalf("huge count: %v", err)
	}
}

// FuzzDecodeMessage feeds arbitrary records to the header and body decoder;
// whatever decodes must re-encode to the same bytes.
func FuzzDecodeMessage(f *testing.F) {
	r := rand.New(rand.NewSource(1))
	for _, c := range sortedCodes() {
		m := Messages[c]
		for _, typ := range []MessageType{Request, Reply} {
			var body any
			if typ == Request {
				body = m.NewRequest()
			} else {
				body = m.NewReply()
			}
			if body != nil {
				fill(r, reflect.ValueOf(body).Elem())
			}
			f.Add(EncodeMessage(Header{Sequence: 1, Type: typ, Code: c}, body))
		}
	}
	f.Fuzz(func(t *testing.T, rec []byte) {
		h, body, err := ParseHeader(rec)
		if err != nil {
			return
		}
		v, err := DecodeBody(h, body)
		if err != nil || v == nil {
			return
		}
		if h.Type == Reply && h.Error != NoErr && len(body) == 0 {
			return
		}
		if again := Marshal(v); !bytes.Equal(again, body) {
			// Non-canonical padding bytes are accepted on input; the
			// re-encoding must at least decode to the same value.
			v2, err := DecodeBody(h, again)
			if err != nil || !reflect.DeepEqual(v, v2) {
				t.Fatalf("re-encoding of %s does not round-trip: %v", h.Code, err)
			}
		}
	})
}

// FuzzRecordReader feeds arbitrary streams to the record reader.
func FuzzRecordReader(f *testing.F) {
	f.Add(AppendRecord(nil, []byte("hello, ndmp"), 3))
	f.Add(AppendRecord(AppendRecord(nil, make([]byte, 30), 0), []byte{1}, 1))
	f.Add([]byte{0x7f, 0xff, 0xff, 0xff, 1, 2})
	f.Fuzz(func(t *testing.T, stream []byte) {
		rr := NewRecordReader(bytes.NewReader(stream), 1<<16)
		total := 0
		for {
			rec, err := rr.Next()
			if err != nil {
				return
			}
			total += len(rec)
			if len(rec) > 1<<16 || total > len(stream) {
				t.Fatalf("record reader produced more than it read")
			}
		}
	})
}

package wire

import (
	"errors"
	"fmt"
	"math"
	"reflect"
)

// ErrShort is returned when a message body ends before its XDR value does.
var ErrShort = errors.New("xdr: body too short")

// ErrTooLong is returned when a decoded length exceeds what the body can hold.
var ErrTooLong = errors.New("xdr: length exceeds body")

// Marshaler is implemented by XDR unions (they choose the arm themselves).
type Marshaler interface {
	MarshalXDR(e *Encoder)
}

// Unmarshaler is implemented (on the pointer) by XDR unions.
type Unmarshaler interface {
	UnmarshalXDR(d *Decoder) error
}

// Encoder appends XDR (RFC 4506) encodings to a byte slice.
type Encoder struct {
	Buf []byte
}

// Uint32 appends an unsigned int (also enum, u_short, u_char, bool).
func (e *Encoder) Uint32(v uint32) {
	e.Buf = append(e.Buf, byte(v>>24), byte(v>>16), byte(v>>8), byte(v))
}

// Uint64 appends an unsigned hyper (ndmp_u_quad).
func (e *Encoder) Uint64(v uint64) {
	e.Uint32(uint32(v >> 32))
	e.Uint32(uint32(v))
}

// Fixed appends fixed-length opaque data padded to a multiple of 4.
func (e *Encoder) Fixed(p []byte) {
	e.Buf = append(e.Buf, p...)
	for n := len(p); n%4 != 0; n++ {
		e.Buf = append(e.Buf, 0)
	}
}

// Opaque appends variable-length opaque data.
func (e *Encoder) Opaque(p []byte) {
	e.Uint32(uint32(len(p)))
	e.Fixed(p)
}

// String appends an XDR string.
func (e *Encoder) String(s string) {
	e.Uint32(uint32(len(s)))
	e.Buf = append(e.Buf, s...)
	for n := len(s); n%4 != 0; n++ {
		e.Buf = append(e.Buf, 0)
	}
}

// Value appends v by reflection: structs field by field, uint32/uint16/uint8
// and their named types as 4-byte unsigned, int16/int32 as 4-byte signed,
// uint64 as hyper, string, []byte (opaque<>), [N]byte (opaque[N]), slices
// (arrays<>), and Marshaler unions.
func (e *Encoder) Value(v any) {
	e.value(reflect.ValueOf(v))
}

var marshalerType = reflect.TypeOf((*Marshaler)(nil)).Elem()
var unmarshalerType = reflect.TypeOf((*Unmarshaler)(nil)).Elem()

func (e *Encoder) value(v reflect.Value) {
	if v.Kind() == reflect.Pointer {
		v = v.Elem()
	}
	if v.Type().Implements(marshalerType) {
		v.Interface().(Marshaler).MarshalXDR(e)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(marshalerType) {
		v.Addr().Interface().(Marshaler).MarshalXDR(e)
		return
	}
	switch v.Kind() {
	case reflect.Uint32, reflect.Uint16, reflect.Uint8:
		e.Uint32(uint32(v.Uint()))
	case reflect.Int32, reflect.Int16:
		e.Uint32(uint32(int32(v.Int())))
	case reflect.Uint64:
		e.Uint64(v.Uint())
	case reflect.String:
		e.String(v.String())
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			b := make([]byte, v.Len())
			reflect.Copy(reflect.ValueOf(b), v)
			e.Fixed(b)
			return
		}
		for i := 0; i < v.Len(); i++ {
			e.value(v.Index(i))
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			e.Opaque(v.Bytes())
			return
		}
		e.Uint32(uint32(v.Len()))
		for i := 0; i < v.Len(); i++ {
			e.value(v.Index(i))
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				e.value(v.Field(i))
			}
		}
	default:
		panic(fmt.Sprintf("xdr: cannot encode %s", v.Type()))
	}
}

// Decoder reads XDR values from a byte slice.
type Decoder struct {
	Buf []byte
	Off int
}

// Remaining is the number of bytes not yet consumed.
func (d *Decoder) Remaining() int { return len(d.Buf) - d.Off }

// Uint32 reads an unsigned int.
func (d *Decoder) Uint32() (uint32, error) {
	if d.Remaining() < 4 {
		return 0, ErrShort
	}
	b := d.Buf[d.Off:]
	d.Off += 4
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3]), nil
}

// Uint64 reads an unsigned hyper.
func (d *Decoder) Uint64() (uint64, error) {
	hi, err := d.Uint32()
	if err != nil {
		return 0, err
	}
	lo, err := d.Uint32()
	return uint64(hi)<<32 | uint64(lo), err
}

// Fixed reads n bytes of fixed-length opaque data plus padding.
func (d *Decoder) Fixed(n int) ([]byte, error) {
	padded := (n + 3) &^ 3
	if n < 0 || d.Remaining() < padded {
		return nil, ErrShort
	}
	p := d.Buf[d.Off : d.Off+n : d.Off+n]
	d.Off += padded
	return p, nil
}

// Opaque reads variable-length opaque data (aliasing the buffer).
func (d *Decoder) Opaque() ([]byte, error) {
	n, err := d.Uint32()
	if err != nil {
		return nil, err
	}
	if uint64(n) > uint64(d.Remaining()) {
		return nil, ErrTooLong
	}
	return d.Fixed(int(n))
}

// String reads an XDR string.
func (d *Decoder) String() (string, error) {
	p, err := d.Opaque()
	return string(p), err
}

// Value decodes into the value pointed to by ptr.
func (d *Decoder) Value(ptr any) error {
	v := reflect.ValueOf(ptr)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		return fmt.Errorf("xdr: decode needs a non-nil pointer, got %T", ptr)
	}
	return d.value(v.Elem())
}

func (d *Decoder) value(v reflect.Value) error {
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		return v.Addr().Interface().(Unmarshaler).UnmarshalXDR(d)
	}
	switch v.Kind() {
	case reflect.Uint32, reflect.Uint16, reflect.Uint8:
		x, err := d.Uint32()
		if err != nil {
			return err
		}
		if v.Kind() == reflect.Uint16 && x > math.MaxUint16 || v.Kind() == reflect.Uint8 && x > math.MaxUint8 {
			return fmt.Errorf("xdr: value %d out of range for %s", x, v.Type())
		}
		v.SetUint(uint64(x))
	case reflect.Int32, reflect.Int16:
		x, err := d.Uint32()
		if err != nil {
			return err
		}
		s := int32(x)
		if v.Kind() == reflect.Int16 && (s > math.MaxInt16 || s < math.MinInt16) {
			return fmt.Errorf("xdr: value %d out of range for %s", s, v.Type())
		}
		v.SetInt(int64(s))
	case reflect.Uint64:
		x, err := d.Uint64()
		if err != nil {
			return err
		}
		v.SetUint(x)
	case reflect.String:
		s, err := d.String()
		if err != nil {
			return err
		}
		v.SetString(s)
	case reflect.Array:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			p, err := d.Fixed(v.Len())
			if err != nil {
				return err
			}
			reflect.Copy(v, reflect.ValueOf(p))
			return nil
		}
		for i := 0; i < v.Len(); i++ {
			if err := d.value(v.Index(i)); err != nil {
				return err
			}
		}
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			p, err := d.Opaque()
			if err != nil {
				return err
			}
			if len(p) == 0 {
				v.SetBytes(nil)
			} else {
				v.SetBytes(append([]byte(nil), p...))
			}
			return nil
		}
		n, err := d.Uint32()
		if err != nil {
			return err
		}
		// Every XDR item takes at least 4 bytes: a count larger than the
		// rest of the body is a lie, refuse it before allocating.
		if uint64(n)*4 > uint64(d.Remaining()) {
			return ErrTooLong
		}
		if n == 0 {
			v.Set(reflect.Zero(v.Type()))
			return nil
		}
		s := reflect.MakeSlice(v.Type(), int(n), int(n))
		for i := 0; i < int(n); i++ {
			if err := d.value(s.Index(i)); err != nil {
				return err
			}
		}
		v.Set(s)
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				if err := d.value(v.Field(i)); err != nil {
					return err
				}
			}
		}
	default:
		return fmt.Errorf("xdr: cannot decode %s", v.Type())
	}
	return nil
}

// Marshal encodes v.
func Marshal(v any) []byte {
	var e Encoder
	if v != nil {
		e.Value(v)
	}
	return e.Buf
}

// Unmarshal decodes all of body into ptr; trailing bytes are an error.
func Unmarshal(body []byte, ptr any) error {
	d := Decoder{Buf: body}
	if err := d.Value(ptr); err != nil {
		return err
	}
	if d.Remaining() != 0 {
		return fmt.Errorf("xdr: %d trailing bytes", d.Remaining())
	}
	return nil
}

// Package safetensors reads the safetensors weight format: an 8-byte
// little-endian header length, a JSON header naming each tensor's dtype,
// shape and byte range, then the raw little-endian data.
//
// Open maps the file read-only, so a 440 MB model is not copied into the
// heap: float32 tensors are served as slices over the mapping. F16 and BF16
// tensors are widened to float32 when asked for. If mapping fails the file
// is read into memory instead.
package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"sort"
	"unsafe"
)

// maxHeader bounds the JSON header so a corrupt length cannot make us
// allocate gigabytes; real headers are tens of kilobytes.
const maxHeader = 100 << 20

// DType sizes in bytes, for the dtypes the format defines.
var dtypeSize = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E4M3": 1, "F8_E5M2": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Info describes one tensor.
type Info struct {
	Name  string
	DType string
	Shape []int
	Begin int64 // byte offsets into the data section
	End   int64
}

// Len is the number of elements.
func (i Info) Len() int {
	n := 1
	for _, d := range i.Shape {
		n *= d
	}
	return n
}

// File is an open safetensors file. Its methods are safe for concurrent
// use; slices it returns are valid until Close.
type File struct {
	path    string
	buf     []byte // the whole file (mapped or read)
	data    []byte // the data section of buf
	unmap   func() error
	infos   map[string]Info
	names   []string
	meta    map[string]string
	dataOff int64 // offset of data within the file
}

// Open reads the header of path, validates it and maps the data.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	size := st.Size()
	var pre [8]byte
	if _, err := io.ReadFull(f, pre[:]); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading header length: %w", path, err)
	}
	hlen := binary.LittleEndian.Uint64(pre[:])
	if hlen > maxHeader || int64(hlen) > size-8 {
		return nil, fmt.Errorf("safetensors %s: header length %d does not fit a %d-byte file", path, hlen, size)
	}
	hdr := make([]byte, hlen)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return nil, fmt.Errorf("safetensors %s: reading header: %w", path, err)
	}
	dataLen := size - 8 - int64(hlen)
	infos, meta, err := ParseHeader(hdr, dataLen)
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	sf := &File{path: path, infos: map[string]Info{}, meta: meta, dataOff: 8 + int64(hlen)}
	for _, in := range infos {
		sf.infos[in.Name] = in
		sf.names = append(sf.names, in.Name)
	}
	sort.Strings(sf.names)
	if buf, unmap, err := mapFile(f, size); err == nil {
		sf.buf, sf.unmap = buf, unmap
	} else {
		// No mmap (unusual filesystem, platform): read the file instead.
		buf := make([]byte, size)
		if _, err := f.ReadAt(buf, 0); err != nil {
			return nil, fmt.Errorf("safetensors %s: %w", path, err)
		}
		sf.buf = buf
	}
	sf.data = sf.buf[sf.dataOff:]
	return sf, nil
}

// ParseHeader decodes and validates a JSON header against a data section of
// dataLen bytes: known dtypes, non-negative dimensions, byte ranges inside
// the data that match dtype×shape and do not overlap. Tensors come back
// sorted by offset.
func ParseHeader(hdr []byte, dataLen int64) ([]Info, map[string]string, error) {
	var raw map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(hdr))
	if err := dec.Decode(&raw); err != nil {
		return nil, nil, fmt.Errorf("header is not a JSON object: %w", err)
	}
	if raw == nil {
		return nil, nil, errors.New("header is not a JSON object")
	}
	var meta map[string]string
	var infos []Info
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("__metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var t struct {
			DType   *string  `json:"dtype"`
			Shape   *[]int64 `json:"shape"`
			Offsets *[]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(msg, &t); err != nil {
			return nil, nil, fmt.Errorf("tensor %q: %w", name, err)
		}
		if t.DType == nil || t.Shape == nil || t.Offsets == nil {
			return nil, nil, fmt.Errorf("tensor %q: needs dtype, shape and data_offsets", name)
		}
		esize, ok := dtypeSize[*t.DType]
		if !ok {
			return nil, nil, fmt.Errorf("tensor %q: unknown dtype %q", name, *t.DType)
		}
		if len(*t.Offsets) != 2 {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets must be [begin, end], got %v", name, *t.Offsets)
		}
		begin, end := (*t.Offsets)[0], (*t.Offsets)[1]
		if begin < 0 || end < begin || end > dataLen {
			return nil, nil, fmt.Errorf("tensor %q: data_offsets [%d, %d] outside the %d-byte data section", name, begin, end, dataLen)
		}
		n := esize
		shape := make([]int, len(*t.Shape))
		for i, d := range *t.Shape {
			if d < 0 {
				return nil, nil, fmt.Errorf("tensor %q: negative dimension in shape %v", name, *t.Shape)
			}
			if d > 0 && n > math.MaxInt64/d {
				return nil, nil, fmt.Errorf("tensor %q: shape %v overflows", name, *t.Shape)
			}
			n *= d
			shape[i] = int(d)
		}
		if n != end-begin {
			return nil, nil, fmt.Errorf("tensor %q: %s%v needs %d bytes, data_offsets give %d", name, *t.DType, *t.Shape, n, end-begin)
		}
		infos = append(infos, Info{Name: name, DType: *t.DType, Shape: shape, Begin: begin, End: end})
	}
	sort.Slice(infos, func(i, j int) bool {
		if infos[i].Begin != infos[j].Begin {
			return infos[i].Begin < infos[j].Begin
		}
		return infos[i].End < infos[j].End
	})
	for i := 1; i < len(infos); i++ {
		if infos[i].Begin < infos[i-1].End {
			return nil, nil, fmt.Errorf("tensors %q and %q overlap", infos[i-1].Name, infos[i].Name)
		}
	}
	return infos, meta, nil
}

// Path is the file's path.
func (f *File) Path() string { return f.path }

// Names lists the tensors, sorted.
func (f *File) Names() []string { return append([]string(nil), f.names...) }

// Metadata is the header's __metadata__ (nil if none).
func (f *File) Metadata() map[string]string { return f.meta }

// Info describes the named tensor.
func (f *File) Info(name string) (Info, bool) {
	in, ok := f.infos[name]
	return in, ok
}

// Bytes is the tensor's raw little-endian data (a view of the file).
func (f *File) Bytes(name string) ([]byte, error) {
	in, ok := f.infos[name]
	if !ok {
		return nil, fmt.Errorf("safetensors %s: no tensor %q", f.path, name)
	}
	if f.buf == nil {
		return nil, fmt.Errorf("safetensors %s: file is closed", f.path)
	}
	return f.data[in.Begin:in.End:in.End], nil
}

// Float32 returns the tensor as float32 values. F32 data that is 4-byte
// aligned in memory (the usual case) is a zero-copy view of the file and
// must not be modified; F16 and BF16 are converted into a new slice on each
// call, so call it once per tensor.
func (f *File) Float32(name string) ([]float32, error) {
	b, err := f.Bytes(name)
	if err != nil {
		return nil, err
	}
	in := f.infos[name]
	switch in.DType {
	case "F32":
		if len(b) == 0 {
			return []float32{}, nil
		}
		if littleEndian && uintptr(unsafe.Pointer(&b[0]))%4 == 0 {
			return unsafe.Slice((*float32)(unsafe.Pointer(&b[0])), len(b)/4), nil
		}
		out := make([]float32, len(b)/4)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case "F16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = F16ToF32(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	case "BF16":
		out := make([]float32, len(b)/2)
		for i := range out {
			out[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(b[2*i:])) << 16)
		}
		return out, nil
	}
	return nil, fmt.Errorf("safetensors %s: tensor %q has dtype %s, want F32, F16 or BF16", f.path, name, in.DType)
}

// Release tells the OS the named tensor's pages will not be read again
// (after the caller has copied or repacked it), so they leave the
// process's resident memory. Best effort; a later read still works, from
// the file.
func (f *File) Release(name string) {
	in, ok := f.infos[name]
	if !ok || f.unmap == nil {
		return
	}
	release(f.buf, f.dataOff+in.Begin, f.dataOff+in.End)
}

// Close unmaps the file. Slices obtained from it must not be used after.
func (f *File) Close() error {
	var err error
	if f.unmap != nil {
		err = f.unmap()
		f.unmap = nil
	}
	f.buf, f.data = nil, nil
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", f.path, err)
	}
	return nil
}

// F16ToF32 widens an IEEE 754 half-precision value.
func F16ToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	mant := uint32(h) & 0x3ff
	switch {
	case exp == 0x1f: // inf, NaN
		return math.Float32frombits(sign | 0xff<<23 | mant<<13)
	case exp != 0:
		return math.Float32frombits(sign | (exp+112)<<23 | mant<<13)
	case mant == 0:
		return math.Float32frombits(sign)
	}
	// Subnormal half: value is mant·2⁻²⁴, exact in float32.
	v := float32(mant) / (1 << 24)
	if sign != 0 {
		v = -v
	}
	return v
}

var littleEndian = func() bool {
	x := uint16(1)
	return *(*byte)(unsafe.Pointer(&x)) == 1
}()

package safetensors

import (
	"bytes"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/hallu-eval/hallu/internal/testutil"

	"github.com/stretchr/testify/require"
)

func writeFile(t *testing.T, tensors []Tensor, meta map[string]string) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, tensors, meta))
	p := filepath.Join(t.TempDir(), "m.safetensors")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

func rawFile(t *testing.T, header string, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, binary.Write(&buf, binary.LittleEndian, uint64(len(header))))
	buf.WriteString(header)
	buf.Write(data)
	p := filepath.Join(t.TempDir(), "bad.safetensors")
	require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
	return p
}

func f16Bits(v float32) uint16 {
	// Test helper for values exactly representable in half precision.
	b := math.Float32bits(v)
	if v == 0 {
		return uint16(b >> 16)
	}
	exp := int(b>>23&0xff) - 127 + 15
	return uint16(b>>31)<<15 | uint16(exp)<<10 | uint16(b>>13&0x3ff)
}

func TestRoundTrip(t *testing.T) {
	f32 := []float32{1, -2.5, 3.25, 0, 1e-3, 7}
	halves := []float32{1, -2.5, 0.000244140625, 65504, -0, 0.5}
	f16 := make([]byte, 2*len(halves))
	bf16 := make([]byte, 2*len(halves))
	for i, v := range halves {
		binary.LittleEndian.PutUint16(f16[2*i:], f16Bits(v))
		binary.LittleEndian.PutUint16(bf16[2*i:], uint16(math.Float32bits(v)>>16))
	}
	p := writeFile(t, []Tensor{
		{Name: "a", DType: "F32", Shape: []int{2, 3}, Data: F32Bytes(f32)},
		{Name: "h", DType: "F16", Shape: []int{6}, Data: f16},
		{Name: "b", DType: "BF16", Shape: []int{3, 2}, Data: bf16},
		{Name: "i", DType: "I64", Shape: []int{1}, Data: make([]byte, 8)},
	}, map[string]string{"format": "pt"})
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	require.Equal(t, []string{"a", "b", "h", "i"}, f.Names())
	require.Equal(t, map[string]string{"format": "pt"}, f.Metadata())
	in, ok := f.Info("a")
	require.True(t, ok)
	require.Equal(t, []int{2, 3}, in.Shape)
	require.Equal(t, 6, in.Len())

	got, err := f.Float32("a")
	require.NoError(t, err)
	require.Equal(t, f32, got)
	got, err = f.Float32("h")
	require.NoError(t, err)
	require.Equal(t, halves, got)
	got, err = f.Float32("b")
	require.NoError(t, err)
	// BF16 keeps the top 16 bits: exact for these values except the
	// half-precision max, which BF16 rounds down by truncation.
	for i, v := range halves {
		require.InDelta(t, v, got[i], math.Abs(float64(v))/128, "b[%d]", i)
	}
	_, err = f.Float32("i")
	require.ErrorContains(t, err, "dtype I64")
	_, err = f.Float32("missing")
	require.ErrorContains(t, err, `no tensor "missing"`)
	f.Release("a") // pages come back from the file
	got, err = f.Float32("a")
	require.NoError(t, err)
	require.Equal(t, f32, got)
	require.NoError(t, f.Close())
	_, err = f.Bytes("a")
	require.ErrorContains(t, err, "closed")
}

func TestF16Special(t *testing.T) {
	require.Equal(t, float32(math.Inf(1)), F16ToF32(0x7c00))
	require.Equal(t, float32(math.Inf(-1)), F16ToF32(0xfc00))
	require.True(t, math.IsNaN(float64(F16ToF32(0x7e00))))
	require.Equal(t, float32(5.960464477539063e-08), F16ToF32(0x0001)) // smallest subnormal
	require.Equal(t, float32(-6.097555160522461e-05), F16ToF32(0x83ff))
	require.Equal(t, float32(6.103515625e-05), F16ToF32(0x0400))
}

func TestCorruptHeaders(t *testing.T) {
	eight := make([]byte, 8)
	cases := []struct {
		name, header string
		data         []byte
		want         string
	}{
		{"not json", "{oops", eight, "not a JSON object"},
		{"array", "[1,2]", eight, "not a JSON object"},
		{"missing field", `{"a":{"dtype":"F32","shape":[2]}}`, eight, "needs dtype, shape and data_offsets"},
		{"bad dtype", `{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}`, eight, `unknown dtype "F33"`},
		{"size mismatch", `{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}`, eight, "needs 12 bytes"},
		{"past end", `{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, eight, "outside the 8-byte data section"},
		{"reversed", `{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, eight, "outside"},
		{"negative dim", `{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, eight, "negative dimension"},
		{"overflow", `{"a":{"dtype":"F32","shape":[4611686018427387904,4],"data_offsets":[0,8]}}`, eight, "overflows"},
		{"overlap", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, eight, `"a" and "b" overlap`},
		{"bad metadata", `{"__metadata__":{"x":1}}`, nil, "__metadata__"},
		{"offsets arity", `{"a":{"dtype":"F32","shape":[2],"data_offsets":[0]}}`, eight, "data_offsets must be"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := rawFile(t, c.header, c.data)
			_, err := Open(p)
			require.Error(t, err)
			require.ErrorContains(t, err, c.want)
			require.ErrorContains(t, err, p, "error names the file")
		})
	}

	t.Run("header length past file", func(t *testing.T) {
		var buf bytes.Buffer
		require.NoError(t, binary.Write(&buf, binary.LittleEndian, uint64(1000)))
		buf.WriteString("{}")
		p := filepath.Join(t.TempDir(), "short.safetensors")
		require.NoError(t, os.WriteFile(p, buf.Bytes(), 0o644))
		_, err := Open(p)
		require.ErrorContains(t, err, "header length 1000")
	})
	t.Run("truncated", func(t *testing.T) {
		p := filepath.Join(t.TempDir(), "tiny.safetensors")
		require.NoError(t, os.WriteFile(p, []byte{1, 2}, 0o644))
		_, err := Open(p)
		require.ErrorContains(t, err, "header length")
	})
	t.Run("missing file", func(t *testing.T) {
		_, err := Open(filepath.Join(t.TempDir(), "nope"))
		require.Error(t, err)
	})
}

func TestUnalignedF32IsCopied(t *testing.T) {
	// A 1-byte tensor first pushes the F32 data off 4-byte alignment.
	p := writeFile(t, []Tensor{
		{Name: "pad", DType: "U8", Shape: []int{1}, Data: []byte{9}},
		{Name: "x", DType: "F32", Shape: []int{2}, Data: F32Bytes([]float32{1.5, -3})},
	}, nil)
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	got, err := f.Float32("x")
	require.NoError(t, err)
	require.Equal(t, []float32{1.5, -3}, got)
}

func TestRealTinyModelHeader(t *testing.T) {
	p := filepath.Join(testutil.SharedTestdata(t, "hhem-tiny"), "model.safetensors")
	f, err := Open(p)
	require.NoError(t, err)
	defer f.Close()
	in, ok := f.Info("t5.transformer.shared.weight")
	require.True(t, ok)
	require.Equal(t, "F32", in.DType)
	require.Equal(t, 32128, in.Shape[0])
	w, err := f.Float32("t5.classifier.bias")
	require.NoError(t, err)
	require.Len(t, w, 2)
}

func FuzzParseHeader(f *testing.F) {
	f.Add([]byte(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), int64(8))
	f.Add([]byte(`{"__metadata__":{"format":"pt"}}`), int64(0))
	f.Add([]byte(`{"a":{"dtype":"BF16","shape":[2,2],"data_offsets":[0,8]},"b":{"dtype":"U8","shape":[],"data_offsets":[8,9]}}`), int64(9))
	f.Fuzz(func(t *testing.T, hdr []byte, dataLen int64) {
		if dataLen < 0 {
			dataLen = -dataLen
		}
		infos, _, err := ParseHeader(hdr, dataLen)
		if err != nil {
			return
		}
		// Whatever parses must be self-consistent: ranges inside the data,
		// sized by dtype×shape, sorted and disjoint.
		var prevEnd int64
		for _, in := range infos {
			require.GreaterOrEqual(t, in.Begin, prevEnd)
			require.LessOrEqual(t, in.End, dataLen)
			require.Equal(t, int64(in.Len())*dtypeSize[in.DType], in.End-in.Begin)
			prevEnd = in.End
		}
	})
}

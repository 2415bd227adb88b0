package scan

import (
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestHasSpecial(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	pool := []byte{'"', '\\', 0, 0x1f, 0x20, 0x21, 'a', 0x7f, 0x80, 0xc3, 0xff, '[', 0x5b, 0x5d}
	var w [8]byte
	for range 200000 {
		want := false
		for i := range w {
			if rng.IntN(2) == 0 {
				w[i] = pool[rng.IntN(len(pool))]
			} else {
				w[i] = byte(rng.IntN(256))
			}
			want = want || !plain[w[i]]
		}
		if got := hasSpecial(binary.LittleEndian.Uint64(w[:])); got != want {
			t.Fatalf("hasSpecial(%q) = %v", w, got)
		}
	}
}

// A lone minus sign is a syntax error, not a value of the wrong type (found
// by FuzzDecode: the two checks used to call each other forever).
func TestLoneMinus(t *testing.T) {
	for _, line := range []string{`{"a":-}`, `{"a":-x}`, `{"a":[1,-]}`} {
		s := New([]byte(line))
		err := s.Object(func([]byte) error { return s.Skip(2) }, 1)
		if err == nil || !strings.Contains(err.Error(), "invalid number") {
			t.Errorf("%s: %v", line, err)
		}
	}
	var n int
	if err := New([]byte(`-`)).Int(&n); err == nil {
		t.Error("Int accepted a lone minus")
	}
}

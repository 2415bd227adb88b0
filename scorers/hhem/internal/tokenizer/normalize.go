package tokenizer

import (
	"encoding/binary"
	"fmt"
	"strings"
	"unicode/utf8"
)

// charsmap is SentencePiece's precompiled normalization rule set: a
// serialized darts-clone double-array trie whose keys are input byte
// sequences and whose values are offsets into a blob of NUL-terminated
// replacement strings. Layout: uint32 LE byte size of the trie, the trie
// units (uint32 LE each), then the replacement blob.
type charsmap struct {
	units      []uint32
	normalized string
}

func parseCharsmap(b []byte) (*charsmap, error) {
	if len(b) < 4 {
		return nil, fmt.Errorf("precompiled_charsmap: %d bytes, too short for its header", len(b))
	}
	n := binary.LittleEndian.Uint32(b)
	if n%4 != 0 || uint64(n) > uint64(len(b)-4) {
		return nil, fmt.Errorf("precompiled_charsmap: trie size %d does not fit in %d bytes", n, len(b)-4)
	}
	c := &charsmap{units: make([]uint32, n/4), normalized: string(b[4+n:])}
	for i := range c.units {
		c.units[i] = binary.LittleEndian.Uint32(b[4+4*i:])
	}
	if len(c.units) == 0 {
		return nil, fmt.Errorf("precompiled_charsmap: empty trie")
	}
	return c, nil
}

// Accessors of a darts-clone unit. A non-leaf unit packs a label (low 8 bits),
// a has-leaf flag (bit 8) and an offset to its children (bits 10.., scaled by
// 256 when bit 9 is set); a leaf unit holds a 31-bit value and sets bit 31,
// which keeps its label from ever equalling an input byte.
func dartsHasLeaf(u uint32) bool { return u>>8&1 == 1 }
func dartsValue(u uint32) uint32 { return u & (1<<31 - 1) }
func dartsLabel(u uint32) uint32 { return u & (1<<31 | 0xFF) }
func dartsOffset(u uint32) uint32 {
	return (u >> 10) << ((u & (1 << 9)) >> 6)
}

// longest returns the length of the longest key that prefixes s and the
// replacement for it, or 0 when no key matches. It walks the trie exactly as
// darts-clone's common-prefix search does, bytes (NUL included) and all, but
// checks bounds so that a corrupt file cannot make it panic.
func (c *charsmap) longest(s string) (n int, repl string) {
	units := c.units
	pos := dartsOffset(units[0])
	for i := 0; i < len(s); i++ {
		b := uint32(s[i])
		pos ^= b
		if pos >= uint32(len(units)) {
			break
		}
		u := units[pos]
		if dartsLabel(u) != b {
			break
		}
		pos ^= dartsOffset(u)
		if dartsHasLeaf(u) && pos < uint32(len(units)) {
			v := dartsValue(units[pos])
			if int(v) < len(c.normalized) {
				r := c.normalized[v:]
				if end := strings.IndexByte(r, 0); end >= 0 {
					r = r[:end]
				}
				n, repl = i+1, r
			}
		}
	}
	return n, repl
}

// spaceSymbol is what SentencePiece writes for a space (U+2581).
const spaceSymbol = "\u2581"

// normalizer reproduces SentencePiece's Normalizer::Normalize for models
// whose whitespace is a prefix (treat_whitespace_as_suffix=false).
type normalizer struct {
	cm                     *charsmap       // nil: identity (only invalid UTF-8 is rewritten)
	user                   *literalMatcher // user-defined pieces, kept verbatim; may be nil
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
}

// prefix normalizes the first unit of s: the longest user-defined symbol,
// else the longest charsmap rule, else one UTF-8 character, with a malformed
// byte becoming U+FFFD (consuming that one byte).
func (nm *normalizer) prefix(s string) (out string, consumed int) {
	if nm.user != nil {
		if n, _ := nm.user.longest(s); n > 0 {
			return s[:n], n
		}
	}
	if nm.cm != nil {
		if n, repl := nm.cm.longest(s); n > 0 {
			return repl, n
		}
	}
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size == 1 {
		return "\uFFFD", 1
	}
	return s[:size], size
}

// appendNormalized appends the normalized form of s to dst.
func (nm *normalizer) appendNormalized(dst []byte, s string) []byte {
	if nm.removeExtraWhitespaces {
		for len(s) > 0 {
			out, n := nm.prefix(s)
			if out != " " {
				break
			}
			s = s[n:]
		}
	}
	if len(s) == 0 {
		return dst
	}
	space := " "
	if nm.escapeWhitespaces {
		space = spaceSymbol
	}
	start := len(dst)
	if nm.addDummyPrefix {
		dst = append(dst, space...)
	}
	prevSpace := nm.removeExtraWhitespaces
	for len(s) > 0 {
		out, n := nm.prefix(s)
		s = s[n:]
		if prevSpace {
			out = strings.TrimLeft(out, " ")
		}
		if out == "" {
			continue
		}
		for i := 0; i < len(out); i++ {
			if out[i] == ' ' {
				dst = append(dst, space...)
			} else {
				dst = append(dst, out[i])
			}
		}
		prevSpace = out[len(out)-1] == ' '
	}
	if nm.removeExtraWhitespaces {
		for len(dst)-start >= len(space) && string(dst[len(dst)-len(space):]) == space {
			dst = dst[:len(dst)-len(space)]
		}
	}
	return dst
}

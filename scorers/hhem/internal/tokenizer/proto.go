package tokenizer

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// This file reads the few parts of SentencePiece's ModelProto that encoding
// needs, straight from the protobuf wire format, so the package carries no
// protobuf dependency. Field numbers follow sentencepiece_model.proto.

// Piece types of ModelProto.SentencePiece.Type.
const (
	pieceNormal      = 1
	pieceUnknown     = 2
	pieceControl     = 3
	pieceUserDefined = 4
	pieceUnused      = 5
	pieceByte        = 6
)

type modelPiece struct {
	piece string
	score float32
	typ   int
}

type trainerSpec struct {
	modelType               int // 1 UNIGRAM, 2 BPE, 3 WORD, 4 CHAR
	treatWhitespaceAsSuffix bool
	byteFallback            bool
}

type normalizerSpec struct {
	name                   string
	precompiledCharsmap    []byte
	addDummyPrefix         bool
	removeExtraWhitespaces bool
	escapeWhitespaces      bool
}

type modelProto struct {
	pieces     []modelPiece
	trainer    trainerSpec
	normalizer normalizerSpec
}

// Protobuf wire types.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

// wireReader walks one message's fields. Each call to next yields a field
// number, its wire type and its payload (the varint value, or the bytes of a
// length-delimited or fixed-width field).
type wireReader struct {
	buf []byte
	off int
}

type wireField struct {
	num   int
	typ   int
	u     uint64 // varint and fixed-width values
	bytes []byte // length-delimited payload
	at    int    // offset of the field's tag, for error messages
}

var errTruncated = errors.New("truncated message")

func (r *wireReader) varint() (uint64, error) {
	v, n := binary.Uvarint(r.buf[r.off:])
	if n <= 0 {
		if n == 0 {
			return 0, errTruncated
		}
		return 0, errors.New("varint overflows 64 bits")
	}
	r.off += n
	return v, nil
}

// next returns the next field, or ok=false at the end of the message.
func (r *wireReader) next() (f wireField, ok bool, err error) {
	if r.off >= len(r.buf) {
		return f, false, nil
	}
	f.at = r.off
	tag, err := r.varint()
	if err != nil {
		return f, false, fmt.Errorf("offset %d: tag: %w", f.at, err)
	}
	f.num, f.typ = int(tag>>3), int(tag&7)
	if f.num == 0 {
		return f, false, fmt.Errorf("offset %d: field number 0", f.at)
	}
	switch f.typ {
	case wireVarint:
		f.u, err = r.varint()
	case wireI64:
		if len(r.buf)-r.off < 8 {
			err = errTruncated
			break
		}
		f.u = binary.LittleEndian.Uint64(r.buf[r.off:])
		r.off += 8
	case wireI32:
		if len(r.buf)-r.off < 4 {
			err = errTruncated
			break
		}
		f.u = uint64(binary.LittleEndian.Uint32(r.buf[r.off:]))
		r.off += 4
	case wireLen:
		var n uint64
		n, err = r.varint()
		if err == nil && n > uint64(len(r.buf)-r.off) {
			err = fmt.Errorf("length %d runs past the end (%d bytes left)", n, len(r.buf)-r.off)
		}
		if err == nil {
			f.bytes = r.buf[r.off : r.off+int(n)]
			r.off += int(n)
		}
	default:
		// Groups (3, 4) are unused by ModelProto; anything else is corrupt.
		err = fmt.Errorf("unsupported wire type %d", f.typ)
	}
	if err != nil {
		return f, false, fmt.Errorf("offset %d: field %d: %w", f.at, f.num, err)
	}
	return f, true, nil
}

// expect checks a field's wire type, so a file of another format fails with
// a clear message instead of decoding garbage.
func (f wireField) expect(typ int, what string) error {
	if f.typ != typ {
		return fmt.Errorf("offset %d: %s (field %d) has wire type %d, want %d", f.at, what, f.num, f.typ, typ)
	}
	return nil
}

func parseModelProto(buf []byte) (*modelProto, error) {
	m := &modelProto{
		trainer: trainerSpec{modelType: 1},
		// proto2 defaults of NormalizerSpec.
		normalizer: normalizerSpec{addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true},
	}
	r := wireReader{buf: buf}
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch f.num {
		case 1:
			if err := f.expect(wireLen, "pieces"); err != nil {
				return nil, err
			}
			p, err := parsePiece(f.bytes)
			if err != nil {
				return nil, fmt.Errorf("piece %d: %w", len(m.pieces), err)
			}
			m.pieces = append(m.pieces, p)
		case 2:
			if err := f.expect(wireLen, "trainer_spec"); err != nil {
				return nil, err
			}
			if err := parseTrainerSpec(f.bytes, &m.trainer); err != nil {
				return nil, fmt.Errorf("trainer_spec: %w", err)
			}
		case 3:
			if err := f.expect(wireLen, "normalizer_spec"); err != nil {
				return nil, err
			}
			if err := parseNormalizerSpec(f.bytes, &m.normalizer); err != nil {
				return nil, fmt.Errorf("normalizer_spec: %w", err)
			}
		}
	}
	if len(m.pieces) == 0 {
		return nil, errors.New("no pieces (not a SentencePiece model?)")
	}
	return m, nil
}

func parsePiece(buf []byte) (modelPiece, error) {
	p := modelPiece{typ: pieceNormal}
	r := wireReader{buf: buf}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return p, err
		}
		switch f.num {
		case 1:
			if err := f.expect(wireLen, "piece"); err != nil {
				return p, err
			}
			p.piece = string(f.bytes)
		case 2:
			if err := f.expect(wireI32, "score"); err != nil {
				return p, err
			}
			p.score = math.Float32frombits(uint32(f.u))
		case 3:
			if err := f.expect(wireVarint, "type"); err != nil {
				return p, err
			}
			p.typ = int(f.u)
		}
	}
}

func parseTrainerSpec(buf []byte, t *trainerSpec) error {
	r := wireReader{buf: buf}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		switch f.num {
		case 3:
			if err := f.expect(wireVarint, "model_type"); err != nil {
				return err
			}
			t.modelType = int(f.u)
		case 24:
			if err := f.expect(wireVarint, "treat_whitespace_as_suffix"); err != nil {
				return err
			}
			t.treatWhitespaceAsSuffix = f.u != 0
		case 35:
			if err := f.expect(wireVarint, "byte_fallback"); err != nil {
				return err
			}
			t.byteFallback = f.u != 0
		}
	}
}

func parseNormalizerSpec(buf []byte, n *normalizerSpec) error {
	r := wireReader{buf: buf}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		switch f.num {
		case 1:
			if err := f.expect(wireLen, "name"); err != nil {
				return err
			}
			n.name = string(f.bytes)
		case 2:
			if err := f.expect(wireLen, "precompiled_charsmap"); err != nil {
				return err
			}
			n.precompiledCharsmap = f.bytes
		case 3, 4, 5:
			if err := f.expect(wireVarint, "normalizer flag"); err != nil {
				return err
			}
			v := f.u != 0
			switch f.num {
			case 3:
				n.addDummyPrefix = v
			case 4:
				n.removeExtraWhitespaces = v
			case 5:
				n.escapeWhitespaces = v
			}
		}
	}
}

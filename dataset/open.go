package dataset

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// BuiltinSpec names the embedded sample dataset.
const BuiltinSpec = "builtin"

// extAliases maps other common spellings onto registered format names;
// ".json" is read as JSON Lines, which is what such files usually are here.
var extAliases = map[string]string{"json": "jsonl", "ndjson": "jsonl"}

// Open opens a dataset by spec:
//
//	builtin            the embedded sample: 62 short fictional news articles
//	docs.csv           format from the extension: .csv, .jsonl, .json, .ndjson,
//	                   .parquet, each but .parquet optionally followed by .gz
//	                   (read through gzip)
//	jsonl:docs.txt     FORMAT:PATH forces a format
//	hf:ORG/NAME[@REVISION]/PATH
//	                   a file of a Hugging Face Hub dataset repository, read
//	                   from the hub cache after downloading it if need be
//	                   (see Options.Hub); the format comes from PATH's extension
//	-  or  csv:-       standard input; a bare "-" is read as JSONL when its first
//	                   non-blank character is { (or [), else as CSV
//
// A prefix before ':' counts as a format only when it is a plain word of two
// or more letters or digits, so "./a:b.csv" and "C:\docs.csv" are paths.
func Open(spec string, opts Options) (Source, error) {
	return OpenContext(context.Background(), spec, opts)
}

// OpenContext is Open with a context for the download an hf: spec may need.
func OpenContext(ctx context.Context, spec string, opts Options) (Source, error) {
	if opts.MaxBytes < 0 {
		return nil, fmt.Errorf("dataset: document size limit %d is negative (--max-doc-bytes, max_doc_bytes in a run config)", opts.MaxBytes)
	}
	if isHF(spec) {
		return openHF(ctx, spec, opts)
	}
	format, path, err := resolve(spec)
	if err != nil {
		return nil, err
	}
	if format == BuiltinSpec {
		src, err := openBuiltin(opts)
		if err != nil {
			return nil, err
		}
		return newChecked(src, BuiltinSpec, opts), nil
	}
	if format != autoFormat {
		if _, err := lookupFormat(format); err != nil {
			return nil, fmt.Errorf("dataset %q: %w", spec, err)
		}
	}
	rc, err := openPath(path)
	if err != nil {
		return nil, err
	}
	if format == autoFormat {
		if rc, format, err = sniff(rc); err != nil {
			rc.Close()
			return nil, fmt.Errorf("dataset %s: %w", displayName(path), err)
		}
	}
	f, err := lookupFormat(format)
	if err != nil {
		rc.Close()
		return nil, fmt.Errorf("dataset %q: %w", spec, err)
	}
	src, err := f(rc, path, opts)
	if err != nil {
		return nil, err
	}
	return newChecked(src, path, opts), nil
}

// autoFormat is the format of standard input given as a bare "-": it has no
// file name to tell the format by, so Open looks at its first bytes.
const autoFormat = "auto"

// sniff picks JSONL when the first non-blank byte (after a BOM) opens a JSON
// object or array and CSV otherwise. The bytes it looks at stay in the
// returned reader. An input that is blank throughout the look-ahead is
// read as JSONL, which skips blank lines.
func sniff(rc io.ReadCloser) (io.ReadCloser, string, error) {
	br := bufio.NewReaderSize(rc, 64<<10)
	format := "jsonl"
	for n := 1; n <= br.Size(); n++ {
		b, err := br.Peek(n)
		if len(b) < n {
			if err != nil && !errors.Is(err, io.EOF) {
				return rc, "", err
			}
			break
		}
		b = bytes.TrimPrefix(b, []byte("\uFEFF"))
		if len(b) == 0 || bytes.HasPrefix([]byte("\uFEFF"), b) {
			continue // an incomplete BOM so far
		}
		c := b[len(b)-1]
		if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
			continue
		}
		if c != '{' && c != '[' {
			format = "csv"
		}
		break
	}
	return readCloser{br, rc}, format, nil
}

// readCloser reads through a buffer and closes the reader beneath it.
type readCloser struct {
	io.Reader
	io.Closer
}

// resolve splits a spec into a format name and a path ("" for builtin).
func resolve(spec string) (format, path string, err error) {
	if spec == BuiltinSpec {
		return BuiltinSpec, "", nil
	}
	if spec == "" {
		return "", "", fmt.Errorf("dataset: empty spec; want %q, a .csv or .jsonl file, FORMAT:PATH, or - for stdin", BuiltinSpec)
	}
	if i := strings.IndexByte(spec, ':'); i >= 2 && isWord(spec[:i]) {
		format, path = strings.ToLower(spec[:i]), spec[i+1:]
		if path == "" {
			return "", "", fmt.Errorf("dataset %q: no path after %q", spec, format+":")
		}
	} else {
		path = spec
		if path == "-" {
			format = autoFormat
		} else if format = extFormat(path); format == "" {
			return "", "", fmt.Errorf("dataset %q: cannot tell the format from the file name; write csv:%s or jsonl:%s", spec, spec, spec)
		}
	}
	if a, ok := extAliases[format]; ok {
		format = a
	}
	return format, path, nil
}

func isWord(s string) bool {
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// extFormat is the format named by a path's extension, looking through .gz.
func extFormat(path string) string {
	p := strings.ToLower(path)
	p = strings.TrimSuffix(p, ".gz")
	return strings.TrimPrefix(filepath.Ext(p), ".")
}

// openPath opens a file or stdin, decompressing .gz files on the fly.
func openPath(path string) (io.ReadCloser, error) {
	if path == "-" {
		return io.NopCloser(os.Stdin), nil // stdin belongs to the process, not to us
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("dataset: %w", err)
	}
	if !strings.HasSuffix(strings.ToLower(path), ".gz") {
		return f, nil
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("dataset %s: %w", path, err)
	}
	return gzipFile{zr, f}, nil
}

type gzipFile struct {
	*gzip.Reader
	f *os.File
}

func (g gzipFile) Close() error {
	err := g.Reader.Close()
	if cerr := g.f.Close(); err == nil {
		err = cerr
	}
	return err
}

// Info describes a dataset for a run manifest, so a result can be traced to
// the exact bytes it came from.
type Info struct {
	Spec   string `json:"spec"`
	Format string `json:"format"`           // "auto" for a bare "-": known once read
	Path   string `json:"path,omitempty"`   // empty for the builtin sample; the hub cache's copy for hf:
	Commit string `json:"commit,omitempty"` // for hf: specs, the commit the revision resolved to
	SHA256 string `json:"sha256,omitempty"` // of the file as stored (compressed, if .gz); empty for stdin
	Bytes  int64  `json:"bytes,omitempty"`
}

// Describe resolves spec and hashes its bytes. Standard input cannot be
// read twice, so for "-" it returns an Info without a hash and no error.
// An hf: spec is downloaded (or found in the cache) as Open would.
func Describe(spec string) (Info, error) {
	return DescribeContext(context.Background(), spec, Options{})
}

// DescribeContext is Describe with a context for a download and the
// Options whose Hub reaches hf: specs.
func DescribeContext(ctx context.Context, spec string, opts Options) (Info, error) {
	if isHF(spec) {
		return describeHF(ctx, spec, opts)
	}
	format, path, err := resolve(spec)
	if err != nil {
		return Info{}, err
	}
	info := Info{Spec: spec, Format: format, Path: path}
	if path == "-" {
		return info, nil
	}
	if format == BuiltinSpec {
		info.SHA256, info.Bytes, err = hashReader(strings.NewReader(builtinData))
	} else {
		info.SHA256, info.Bytes, err = hashFile(path)
	}
	if err != nil {
		return Info{}, err
	}
	return info, nil
}

// hashFile's errors name the file, as os.Open's do.
func hashFile(path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, fmt.Errorf("dataset: %w", err)
	}
	defer f.Close()
	return hashReader(f)
}

// hashReader streams r through SHA-256: a file is never held whole.
func hashReader(r io.Reader) (string, int64, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	if err != nil {
		return "", 0, fmt.Errorf("dataset: hashing: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// Fingerprint returns the hex SHA-256 of the bytes spec names (for builtin,
// of the embedded file). It fails for stdin, which cannot be read twice.
func Fingerprint(spec string) (string, error) {
	info, err := Describe(spec)
	if err != nil {
		return "", err
	}
	if info.SHA256 == "" {
		return "", fmt.Errorf("dataset %q: cannot fingerprint standard input", spec)
	}
	return info.SHA256, nil
}

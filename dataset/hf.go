package dataset

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/hallu-eval/hallu/hfhub"
)

// hfPrefix starts a spec naming a file of a Hugging Face Hub dataset
// repository: hf:ORG/NAME[@REVISION]/PATH.
const hfPrefix = "hf:"

// hfRef is a parsed hf: spec.
type hfRef struct {
	repo     string // ORG/NAME
	revision string // "" means main
	file     string // path inside the repository, slash-separated
	format   string // registered format, from the file's extension
}

// isHF reports whether spec names a hub dataset. The prefix is matched
// without regard to case, as FORMAT: prefixes are.
func isHF(spec string) bool {
	return len(spec) >= len(hfPrefix) && strings.EqualFold(spec[:len(hfPrefix)], hfPrefix)
}

// parseHF splits hf:ORG/NAME[@REVISION]/PATH. The revision ends at the
// first slash after '@', so a branch with a slash in its name is written
// with %2F (hf:org/name@refs%2Fpr%2F3/data.csv), as the hub's own URLs do.
func parseHF(spec string) (hfRef, error) {
	rest := spec[len(hfPrefix):]
	bad := func(why string) (hfRef, error) {
		return hfRef{}, fmt.Errorf("dataset %q: %s; want hf:ORG/NAME[@REVISION]/PATH, such as hf:acme/news@main/data/test.parquet", spec, why)
	}
	org, rest, _ := strings.Cut(rest, "/")
	nameRev, file, _ := strings.Cut(rest, "/")
	name, rev, pinned := strings.Cut(nameRev, "@")
	switch {
	case org == "" || name == "":
		return bad("no repository")
	case pinned && rev == "":
		return bad("no revision after '@'")
	case file == "" || strings.HasSuffix(file, "/"):
		return bad("no file path after the repository")
	}
	rev, err := url.PathUnescape(rev)
	if err != nil {
		return bad(fmt.Sprintf("revision: %v", err))
	}
	ref := hfRef{repo: org + "/" + name, revision: rev, file: file}
	ref.format = extFormat(file)
	if a, ok := extAliases[ref.format]; ok {
		ref.format = a
	}
	if _, err := lookupFormat(ref.format); ref.format == "" || err != nil {
		return hfRef{}, fmt.Errorf("dataset %q: cannot tell the format from the file name %q; hf: reads .csv, .jsonl (.json, .ndjson) and .parquet files, the first two optionally .gz", spec, file)
	}
	return ref, nil
}

// hubClient is the client hf: specs use: opts.Hub, else one configured from
// the environment exactly as `hallu model pull` is (HF_ENDPOINT, HF_TOKEN,
// HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE), showing download progress on
// standard error, where hallu's other notices go.
func hubClient(opts Options) *hfhub.Client {
	if opts.Hub != nil {
		return opts.Hub
	}
	c := hfhub.FromEnv()
	c.Progress = os.Stderr
	return c
}

// fetchHF makes sure the file is in the hub cache and returns its path
// there and the commit it was resolved to. Online, a revision that is a
// commit already cached costs no request, and a branch one HEAD request;
// the bytes are downloaded only once.
func fetchHF(ctx context.Context, spec string, ref hfRef, opts Options) (path, commit string, err error) {
	snap, err := hubClient(opts).DatasetSnapshot(ctx, ref.repo, ref.revision, []string{ref.file})
	if err != nil {
		return "", "", fmt.Errorf("dataset %s: %w", spec, err)
	}
	return filepath.Join(snap, filepath.FromSlash(ref.file)), filepath.Base(snap), nil
}

// openHF reads a hub dataset file from the cache, downloading it first if
// need be. Messages name the spec, not the cache path.
func openHF(ctx context.Context, spec string, opts Options) (Source, error) {
	ref, err := parseHF(spec)
	if err != nil {
		return nil, err
	}
	path, _, err := fetchHF(ctx, spec, ref, opts)
	if err != nil {
		return nil, err
	}
	rc, err := openPath(path)
	if err != nil {
		return nil, fmt.Errorf("dataset %s: %w", spec, err)
	}
	f, err := lookupFormat(ref.format)
	if err != nil {
		rc.Close()
		return nil, err
	}
	src, err := f(rc, spec, opts)
	if err != nil {
		return nil, err
	}
	return newChecked(src, spec, opts), nil
}

// describeHF fetches the file like openHF and hashes it as cached.
func describeHF(ctx context.Context, spec string, opts Options) (Info, error) {
	ref, err := parseHF(spec)
	if err != nil {
		return Info{}, err
	}
	path, commit, err := fetchHF(ctx, spec, ref, opts)
	if err != nil {
		return Info{}, err
	}
	info := Info{Spec: spec, Format: ref.format, Path: path, Commit: commit}
	if info.SHA256, info.Bytes, err = hashFile(path); err != nil {
		return Info{}, fmt.Errorf("%s: %w", spec, err)
	}
	return info, nil
}

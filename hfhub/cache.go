package hfhub

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// repoCache is one repository's folder in the cache.
type repoCache struct {
	dir   string // .../models--ORG--NAME or .../datasets--ORG--NAME
	locks string // .../.locks/models--ORG--NAME, where huggingface_hub keeps its lock files
}

func (c *Client) repoCache(repo repoRef) repoCache {
	dir := repo.dir(c.CacheDir)
	return repoCache{dir: dir, locks: filepath.Join(c.CacheDir, ".locks", filepath.Base(dir))}
}

func (r repoCache) snapshotDir(commit string) string {
	return filepath.Join(r.dir, "snapshots", commit)
}

func (r repoCache) blobPath(etag string) string {
	return filepath.Join(r.dir, "blobs", etag)
}

func (r repoCache) lockPath(etag string) string {
	return filepath.Join(r.locks, etag+".lock")
}

func (r repoCache) readRef(revision string) (string, error) {
	b, err := os.ReadFile(filepath.Join(r.dir, "refs", filepath.FromSlash(revision)))
	if err != nil {
		return "", err
	}
	commit := strings.TrimSpace(string(b))
	if !safeName(commit) {
		return "", fmt.Errorf("refs/%s holds %q, not a commit", revision, commit)
	}
	return commit, nil
}

// writeRef records revision -> commit, replacing the file atomically so a
// concurrent reader never sees it half written. Like huggingface_hub, the
// file holds the bare commit with no newline.
func (r repoCache) writeRef(revision, commit string) error {
	path := filepath.Join(r.dir, "refs", filepath.FromSlash(revision))
	if old, err := os.ReadFile(path); err == nil && string(old) == commit {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("cache refs: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ref-*")
	if err != nil {
		return fmt.Errorf("cache refs: %w", err)
	}
	_, werr := tmp.WriteString(commit)
	cerr := tmp.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = os.Rename(tmp.Name(), path)
	}
	if werr != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("cache refs/%s: %w", revision, werr)
	}
	return nil
}

// link points snapshots/<commit>/<name> at blobs/<etag> with a relative
// symlink (so the cache can be moved), as huggingface_hub does. Where
// symlinks are unavailable it falls back to a hard link.
func (r repoCache) link(commit, name, etag string) error {
	pointer := filepath.Join(r.snapshotDir(commit), filepath.FromSlash(name))
	blob := r.blobPath(etag)
	if err := os.MkdirAll(filepath.Dir(pointer), 0o755); err != nil {
		return fmt.Errorf("cache snapshot: %w", err)
	}
	rel, err := filepath.Rel(filepath.Dir(pointer), blob)
	if err != nil {
		return fmt.Errorf("cache snapshot %s: %w", name, err)
	}
	if target, err := os.Readlink(pointer); err == nil && target == rel {
		return nil
	}
	// A stale or foreign entry (dangling link, a copied file) is replaced.
	if err := os.Remove(pointer); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("cache snapshot %s: %w", name, err)
	}
	if err := os.Symlink(rel, pointer); err != nil {
		if lerr := os.Link(blob, pointer); lerr != nil {
			return fmt.Errorf("cache snapshot %s: %w (hard link fallback: %v)", name, err, lerr)
		}
	}
	return nil
}

// snapshotHas reports whether every file resolves to readable content (a
// dangling symlink does not count).
func snapshotHas(snap string, files []string) bool {
	for _, name := range files {
		st, err := os.Stat(filepath.Join(snap, filepath.FromSlash(name)))
		if err != nil || !st.Mode().IsRegular() {
			return false
		}
	}
	return true
}

// safeName accepts etags and commits that can be used as one path element.
func safeName(s string) bool {
	if s == "" || s[0] == '.' || len(s) > 200 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r == '-', r == '_', r == '.':
		default:
			return false
		}
	}
	return true
}

// Package hfhub downloads files from the Hugging Face Hub into the cache
// layout that the Python huggingface_hub library uses, so that a model pulled
// by hallu is visible to Python tools and a model a user already has in their
// Python cache is reused without a download.
//
// The layout, under the cache directory:
//
//	models--ORG--NAME/   (datasets--ORG--NAME/ for a dataset, laid out alike)
//	  blobs/<etag>                   file contents (etag: sha256 for LFS files, git sha1 otherwise)
//	  snapshots/<commit>/<filename>  relative symlink to ../../blobs/<etag>
//	  refs/<revision>                the commit the revision pointed to when last resolved
package hfhub

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// DefaultEndpoint is the public hub.
const DefaultEndpoint = "https://huggingface.co"

// ErrNotCached reports that a snapshot (or one of its files) is absent from
// the cache; offline mode returns it instead of reaching the network.
var ErrNotCached = errors.New("not in the Hugging Face cache")

// ErrUnreachable wraps network failures and hub server errors: the cases in
// which a complete cached snapshot is used instead.
var ErrUnreachable = errors.New("hub unreachable")

// Client downloads from a hub into a cache directory. The zero value is not
// useful; start from FromEnv and override fields.
type Client struct {
	Endpoint   string       // hub base URL, no trailing slash
	Token      string       // sent as a bearer token to Endpoint's host only
	CacheDir   string       // the hub cache directory (holds models--* folders)
	Offline    bool         // never touch the network; resolve from the cache
	HTTPClient *http.Client // nil: http.DefaultClient
	// Progress receives a progress bar when it is a terminal and one line
	// per file otherwise; nil is silent.
	Progress io.Writer
}

// FromEnv builds a client configured the way huggingface_hub reads its
// environment: HF_ENDPOINT, HF_TOKEN (else the token file that
// `huggingface-cli login` writes), HF_HUB_CACHE / HF_HOME, HF_HUB_OFFLINE.
func FromEnv() *Client {
	endpoint := strings.TrimRight(os.Getenv("HF_ENDPOINT"), "/")
	if endpoint == "" {
		endpoint = DefaultEndpoint
	}
	return &Client{
		Endpoint: endpoint,
		Token:    envToken(),
		CacheDir: DefaultCacheDir(),
		Offline:  envTrue(os.Getenv("HF_HUB_OFFLINE")),
	}
}

// DefaultCacheDir is $HF_HUB_CACHE, else $HF_HOME/hub, else
// $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub.
func DefaultCacheDir() string {
	if d := os.Getenv("HF_HUB_CACHE"); d != "" {
		return expandHome(d)
	}
	// The variable huggingface_hub honoured before HF_HUB_CACHE existed.
	if d := os.Getenv("HUGGINGFACE_HUB_CACHE"); d != "" {
		return expandHome(d)
	}
	return filepath.Join(hfHome(), "hub")
}

func hfHome() string {
	if d := os.Getenv("HF_HOME"); d != "" {
		return expandHome(d)
	}
	if d := os.Getenv("XDG_CACHE_HOME"); d != "" {
		return filepath.Join(expandHome(d), "huggingface")
	}
	return filepath.Join(expandHome("~/.cache"), "huggingface")
}

func envToken() string {
	if t := strings.TrimSpace(os.Getenv("HF_TOKEN")); t != "" {
		return t
	}
	if t := strings.TrimSpace(os.Getenv("HUGGING_FACE_HUB_TOKEN")); t != "" {
		return t
	}
	path := os.Getenv("HF_TOKEN_PATH")
	if path == "" {
		path = filepath.Join(hfHome(), "token")
	}
	b, err := os.ReadFile(expandHome(path))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func envTrue(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true
	}
	return false
}

func expandHome(p string) string {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return p
	}
	return filepath.Join(home, p[1:])
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return http.DefaultClient
}

// Snapshot makes sure files of repo at revision (default "main") are in the
// cache and returns the snapshot directory holding them (its base name is the
// commit). Online, one HEAD request checks the revision's commit (none when
// revision is a commit already cached); files are downloaded only when the
// snapshot lacks them. When the hub cannot be
// reached but the cache holds a complete snapshot for the revision, that
// snapshot is used and a notice goes to Progress.
func (c *Client) Snapshot(ctx context.Context, repo, revision string, files []string) (string, error) {
	return c.snapshot(ctx, repoRef{id: repo}, revision, files)
}

// DatasetSnapshot is Snapshot for a dataset repository: the hub serves it
// under /datasets/ORG/NAME and the cache keeps it in datasets--ORG--NAME.
func (c *Client) DatasetSnapshot(ctx context.Context, repo, revision string, files []string) (string, error) {
	return c.snapshot(ctx, repoRef{id: repo, dataset: true}, revision, files)
}

func (c *Client) snapshot(ctx context.Context, repo repoRef, revision string, files []string) (string, error) {
	if revision == "" {
		revision = "main"
	}
	if err := validate(repo.id, revision, files); err != nil {
		return "", err
	}
	if c.Offline {
		dir, err := c.cachedSnapshot(repo, revision, files)
		if err != nil {
			return "", fmt.Errorf("offline mode (HF_HUB_OFFLINE): %w", err)
		}
		return dir, nil
	}
	// A commit never changes: a complete snapshot of it needs no check.
	if isCommit(revision) {
		if dir, err := c.cachedSnapshot(repo, revision, files); err == nil {
			return dir, nil
		}
	}
	first, err := c.head(ctx, repo, revision, files[0])
	if err != nil {
		if errors.Is(err, ErrUnreachable) {
			if dir, cerr := c.cachedSnapshot(repo, revision, files); cerr == nil {
				c.logf("%v\nusing the cached snapshot %s\n", err, dir)
				return dir, nil
			}
		}
		return "", err
	}
	commit := first.commit
	cache := c.repoCache(repo)
	snap := cache.snapshotDir(commit)
	if !snapshotHas(snap, files) {
		for i, name := range files {
			meta := first
			if i > 0 {
				// Asking by commit keeps every file from the same
				// snapshot even if the branch moves meanwhile.
				if meta, err = c.head(ctx, repo, commit, name); err != nil {
					return "", err
				}
			}
			if err := c.fetch(ctx, cache, repo, name, meta); err != nil {
				return "", err
			}
			if err := cache.link(commit, name, meta.etag); err != nil {
				return "", err
			}
		}
	}
	if revision != commit {
		if err := cache.writeRef(revision, commit); err != nil {
			return "", err
		}
	}
	return snap, nil
}

// CachedSnapshot finds repo at revision in the cache without any network
// access: revision is a commit with a snapshot directory, or a name whose
// refs/ file gives the commit. Every name in files must be present in the
// snapshot (an empty list only requires the snapshot directory). Errors wrap
// ErrNotCached.
func (c *Client) CachedSnapshot(repo, revision string, files []string) (string, error) {
	return c.cachedSnapshot(repoRef{id: repo}, revision, files)
}

// CachedDatasetSnapshot is CachedSnapshot for a dataset repository.
func (c *Client) CachedDatasetSnapshot(repo, revision string, files []string) (string, error) {
	return c.cachedSnapshot(repoRef{id: repo, dataset: true}, revision, files)
}

func (c *Client) cachedSnapshot(repo repoRef, revision string, files []string) (string, error) {
	if revision == "" {
		revision = "main"
	}
	if err := validateNames(repo.id, revision, files); err != nil {
		return "", err
	}
	cache := c.repoCache(repo)
	commit := ""
	if isCommit(revision) && dirExists(cache.snapshotDir(revision)) {
		commit = revision
	} else {
		var err error
		if commit, err = cache.readRef(revision); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return "", fmt.Errorf("%s revision %s: %w at %s", repo, revision, ErrNotCached, c.CacheDir)
			}
			return "", fmt.Errorf("%s revision %s: %w at %s (%v)", repo, revision, ErrNotCached, c.CacheDir, err)
		}
	}
	snap := cache.snapshotDir(commit)
	if !dirExists(snap) {
		return "", fmt.Errorf("%s revision %s: %w at %s (refs/%s names commit %s, which has no snapshot)", repo, revision, ErrNotCached, c.CacheDir, revision, commit)
	}
	for _, name := range files {
		if _, err := os.Stat(filepath.Join(snap, filepath.FromSlash(name))); err != nil {
			return "", fmt.Errorf("%s revision %s: %s %w at %s (%v)", repo, revision, name, ErrNotCached, c.CacheDir, err)
		}
	}
	return snap, nil
}

// RepoDir is where model repo's cache folder lives under cacheDir.
func RepoDir(cacheDir, repo string) string {
	return repoRef{id: repo}.dir(cacheDir)
}

// DatasetRepoDir is where dataset repo's cache folder lives under cacheDir.
func DatasetRepoDir(cacheDir, repo string) string {
	return repoRef{id: repo, dataset: true}.dir(cacheDir)
}

// repoRef names a repository of either kind the hub keeps. Models came
// first, so their URLs and messages carry no prefix; datasets live under
// "datasets/" on the hub and "datasets--" in the cache, as huggingface_hub
// lays them out.
type repoRef struct {
	id      string // ORG/NAME
	dataset bool
}

// String is the name used in messages and URLs: "datasets/ORG/NAME" for a
// dataset, as the hub spells its address.
func (r repoRef) String() string {
	if r.dataset {
		return "datasets/" + r.id
	}
	return r.id
}

func (r repoRef) dir(cacheDir string) string {
	kind := "models--"
	if r.dataset {
		kind = "datasets--"
	}
	return filepath.Join(cacheDir, kind+strings.ReplaceAll(r.id, "/", "--"))
}

func (c *Client) logf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format, args...)
	}
}

func validate(repo, revision string, files []string) error {
	if len(files) == 0 {
		return fmt.Errorf("%s: no files requested", repo)
	}
	return validateNames(repo, revision, files)
}

// validateNames rejects names that could escape the cache directory once
// joined into a path.
func validateNames(repo, revision string, files []string) error {
	parts := strings.Split(repo, "/")
	if len(parts) > 2 || !safeSegments(parts) {
		return fmt.Errorf("invalid repository id %q (want ORG/NAME)", repo)
	}
	if !safeSegments(strings.Split(revision, "/")) {
		return fmt.Errorf("%s: invalid revision %q", repo, revision)
	}
	for _, f := range files {
		if !safeSegments(strings.Split(f, "/")) {
			return fmt.Errorf("%s: invalid file name %q", repo, f)
		}
	}
	return nil
}

func safeSegments(parts []string) bool {
	for _, p := range parts {
		if p == "" || p == "." || p == ".." || strings.ContainsAny(p, "\\\x00") {
			return false
		}
	}
	return true
}

func isCommit(s string) bool { return len(s) == 40 && isHex(s) }

func isHex(s string) bool {
	for _, r := range s {
		if (r < '0' || r > '9') && (r < 'a' || r > 'f') {
			return false
		}
	}
	return s != ""
}

func dirExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.IsDir()
}

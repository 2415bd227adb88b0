// Package hubtest is a fake Hugging Face Hub for tests: it serves files with
// the headers the real hub sends (X-Repo-Commit, ETag / X-Linked-Etag,
// X-Linked-Size, an LFS redirect to a Range-capable blob URL) and records
// every request so tests can count them.
package hubtest

import (
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// File is one file of a repository.
type File struct {
	Name string
	Data []byte
	LFS  bool // served by redirect, etag = sha256
}

// Etag is the etag the hub gives the file: sha256 for LFS files, the git
// blob sha1 otherwise.
func (f File) Etag() string {
	if f.LFS {
		s := sha256.Sum256(f.Data)
		return hex.EncodeToString(s[:])
	}
	h := sha1.New()
	fmt.Fprintf(h, "blob %d\x00", len(f.Data))
	h.Write(f.Data)
	return hex.EncodeToString(h.Sum(nil))
}

// Repo is a repository at one commit, reachable as "main" or by commit.
type Repo struct {
	ID      string // ORG/NAME
	Commit  string // 40 hex
	Files   []File
	Dataset bool // served under /datasets/ORG/NAME, as the hub serves dataset repositories
}

// key is where the hub finds the repository: its URL path before /resolve/.
func (r Repo) key() string {
	if r.Dataset {
		return "datasets/" + r.ID
	}
	return r.ID
}

// RepoFromDir reads names from dir; files ending in .safetensors, .model or
// .bin are LFS files, as the hub's default .gitattributes makes them.
func RepoFromDir(id, commit, dir string, names ...string) (Repo, error) {
	r := Repo{ID: id, Commit: commit}
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join(dir, n))
		if err != nil {
			return r, err
		}
		ext := filepath.Ext(n)
		r.Files = append(r.Files, File{Name: n, Data: b, LFS: ext == ".safetensors" || ext == ".model" || ext == ".bin"})
	}
	return r, nil
}

// Request is one request the hub (or its CDN) received.
type Request struct {
	Method, Path, Range, Authorization string
	CDN                                bool  // received by the separate CDN server
	Sent                               int64 // body bytes written
}

// Hub is a running fake hub. Its fields may be changed between requests.
type Hub struct {
	*httptest.Server
	cdn *httptest.Server

	mu          sync.Mutex
	repos       map[string]Repo
	reqs        []Request
	token       string
	ignoreRange bool
	tampered    map[string]bool
	down        bool
}

// New starts a hub serving repos on 127.0.0.1; Close stops it.
func New(repos ...Repo) *Hub {
	h := &Hub{repos: map[string]Repo{}, tampered: map[string]bool{}}
	for _, r := range repos {
		h.repos[r.key()] = r
	}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, false) }))
	return h
}

// SplitCDN moves LFS downloads to a second server (another host:port), as
// the real hub redirects them to a CDN.
func (h *Hub) SplitCDN() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cdn = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.serve(w, r, true) }))
}

// Close stops the hub and its CDN.
func (h *Hub) Close() {
	h.Server.Close()
	if h.cdn != nil {
		h.cdn.Close()
	}
}

// Put adds a repository or replaces the one with its id and kind, as a
// push to the hub moves its main branch to a new commit.
func (h *Hub) Put(r Repo) { h.mu.Lock(); h.repos[r.key()] = r; h.mu.Unlock() }

// RequireToken makes the hub answer 401 unless "Authorization: Bearer tok".
func (h *Hub) RequireToken(tok string) { h.mu.Lock(); h.token = tok; h.mu.Unlock() }

// IgnoreRange makes blob downloads answer 200 with the whole file.
func (h *Hub) IgnoreRange(on bool) { h.mu.Lock(); h.ignoreRange = on; h.mu.Unlock() }

// Tamper makes the named file's download bytes differ from what its
// headers announce (same size, one byte flipped).
func (h *Hub) Tamper(name string) { h.mu.Lock(); h.tampered[name] = true; h.mu.Unlock() }

// Down makes every request fail with 503.
func (h *Hub) Down(on bool) { h.mu.Lock(); h.down = on; h.mu.Unlock() }

// Requests returns the requests received so far.
func (h *Hub) Requests() []Request {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]Request(nil), h.reqs...)
}

// Count returns how many requests used method.
func (h *Hub) Count(method string) int {
	n := 0
	for _, r := range h.Requests() {
		if r.Method == method {
			n++
		}
	}
	return n
}

// Reset forgets the recorded requests.
func (h *Hub) Reset() { h.mu.Lock(); h.reqs = nil; h.mu.Unlock() }

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.ResponseWriter.Write(p)
	c.n += int64(n)
	return n, err
}

func (h *Hub) serve(w http.ResponseWriter, r *http.Request, cdn bool) {
	cw := &countingWriter{ResponseWriter: w}
	defer func() {
		h.mu.Lock()
		h.reqs = append(h.reqs, Request{Method: r.Method, Path: r.URL.Path, Range: r.Header.Get("Range"),
			Authorization: r.Header.Get("Authorization"), CDN: cdn, Sent: cw.n})
		h.mu.Unlock()
	}()
	h.mu.Lock()
	down, token, ignoreRange := h.down, h.token, h.ignoreRange
	h.mu.Unlock()
	if down {
		http.Error(cw, "maintenance", http.StatusServiceUnavailable)
		return
	}
	if blob, ok := strings.CutPrefix(r.URL.Path, "/lfs/"); ok {
		f, found := h.blob(blob)
		if !found {
			http.NotFound(cw, r)
			return
		}
		h.send(cw, r, f, ignoreRange)
		return
	}
	if cdn {
		http.NotFound(cw, r)
		return
	}
	if token != "" && r.Header.Get("Authorization") != "Bearer "+token {
		cw.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(cw, "unauthorized", http.StatusUnauthorized)
		return
	}
	// [/datasets]/ORG/NAME/resolve/REVISION/FILE...
	path, kind := strings.TrimPrefix(r.URL.Path, "/"), ""
	if rest, ok := strings.CutPrefix(path, "datasets/"); ok {
		path, kind = rest, "datasets/"
	}
	parts := strings.SplitN(path, "/", 5)
	if len(parts) != 5 || parts[2] != "resolve" {
		http.NotFound(cw, r)
		return
	}
	h.mu.Lock()
	repo, ok := h.repos[kind+parts[0]+"/"+parts[1]]
	h.mu.Unlock()
	if !ok {
		cw.Header().Set("X-Error-Code", "RepoNotFound")
		http.Error(cw, "repository not found", http.StatusUnauthorized)
		return
	}
	if rev := parts[3]; rev != "main" && rev != repo.Commit {
		cw.Header().Set("X-Error-Code", "RevisionNotFound")
		cw.Header().Set("X-Error-Message", "Invalid rev id: "+rev)
		http.Error(cw, "revision not found", http.StatusNotFound)
		return
	}
	var file *File
	for i := range repo.Files {
		if repo.Files[i].Name == parts[4] {
			file = &repo.Files[i]
		}
	}
	if file == nil {
		cw.Header().Set("X-Error-Code", "EntryNotFound")
		cw.Header().Set("X-Error-Message", "Entry not found")
		http.Error(cw, "entry not found", http.StatusNotFound)
		return
	}
	cw.Header().Set("X-Repo-Commit", repo.Commit)
	if file.LFS {
		base := h.URL
		h.mu.Lock()
		if h.cdn != nil {
			base = h.cdn.URL
		}
		h.mu.Unlock()
		cw.Header().Set("X-Linked-Etag", `"`+file.Etag()+`"`)
		cw.Header().Set("X-Linked-Size", fmt.Sprint(len(file.Data)))
		cw.Header().Set("ETag", `"`+file.Etag()+`"`)
		cw.Header().Set("Location", base+"/lfs/"+file.Etag()+"?signature=fake")
		cw.WriteHeader(http.StatusFound)
		return
	}
	cw.Header().Set("ETag", `"`+file.Etag()+`"`)
	h.send(cw, r, *file, ignoreRange)
}

func (h *Hub) blob(etag string) (File, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, r := range h.repos {
		for _, f := range r.Files {
			if f.LFS && f.Etag() == etag {
				return f, true
			}
		}
	}
	return File{}, false
}

func (h *Hub) send(w http.ResponseWriter, r *http.Request, f File, ignoreRange bool) {
	data := f.Data
	h.mu.Lock()
	if h.tampered[f.Name] && len(data) > 0 {
		data = append([]byte(nil), data...)
		data[len(data)/2] ^= 0xff
	}
	h.mu.Unlock()
	if ignoreRange {
		r = r.Clone(r.Context()) // keep the logged request intact
		r.Header.Del("Range")
	}
	http.ServeContent(w, r, "", time.Time{}, strings.NewReader(string(data)))
}

package hfhub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// fileMeta is what the hub's HEAD response says about one file.
type fileMeta struct {
	commit   string
	etag     string
	size     int64  // -1 when unknown
	location string // where to GET the bytes: the resolve URL, or an LFS redirect target
}

// lfs reports whether the etag is a sha256 (LFS files), which the download
// is then checked against.
func (m fileMeta) lfs() bool { return len(m.etag) == 64 && isHex(m.etag) }

func (c *Client) resolveURL(repo repoRef, revision, name string) string {
	segs := strings.Split(name, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return fmt.Sprintf("%s/%s/resolve/%s/%s", strings.TrimRight(c.Endpoint, "/"), repo, url.PathEscape(revision), strings.Join(segs, "/"))
}

// head asks the hub for a file's commit, etag, size and download location.
// Redirects are not followed, because an LFS redirect's target is a CDN
// whose headers describe the CDN object, not the repository; relative
// redirects (a renamed repository) are followed.
func (c *Client) head(ctx context.Context, repo repoRef, revision, name string) (fileMeta, error) {
	hc := *c.httpClient()
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	target := c.resolveURL(repo, revision, name)
	what := fmt.Sprintf("%s %s@%s", repo, name, revision)
	for hops := 0; ; hops++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodHead, target, nil)
		if err != nil {
			return fileMeta{}, fmt.Errorf("%s: %w", what, err)
		}
		// Without this Go asks for gzip and Content-Length would be the
		// compressed size.
		req.Header.Set("Accept-Encoding", "identity")
		c.authorize(req)
		resp, err := hc.Do(req)
		if err != nil {
			return fileMeta{}, fmt.Errorf("%s: %w: %w", what, ErrUnreachable, err)
		}
		resp.Body.Close()
		if err := statusError(resp, what); err != nil {
			return fileMeta{}, err
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			u, err := url.Parse(loc)
			if err != nil || loc == "" {
				return fileMeta{}, fmt.Errorf("%s: hub redirect with bad Location %q", what, loc)
			}
			if u.Host == "" && hops < 5 {
				target = resp.Request.URL.ResolveReference(u).String()
				continue
			}
			loc = resp.Request.URL.ResolveReference(u).String()
		} else {
			loc = target
		}
		return parseMeta(resp.Header, loc, what)
	}
}

func parseMeta(h http.Header, location, what string) (fileMeta, error) {
	m := fileMeta{commit: h.Get("X-Repo-Commit"), size: -1, location: location}
	etag := h.Get("X-Linked-Etag")
	if etag == "" {
		etag = h.Get("ETag")
	}
	m.etag = strings.Trim(strings.TrimPrefix(etag, "W/"), `"`)
	size := h.Get("X-Linked-Size")
	if size == "" {
		size = h.Get("Content-Length")
	}
	if n, err := strconv.ParseInt(size, 10, 64); err == nil && n >= 0 {
		m.size = n
	}
	switch {
	case m.commit == "":
		return m, fmt.Errorf("%s: hub response has no X-Repo-Commit header (is HF_ENDPOINT a Hugging Face hub?)", what)
	case !safeName(m.commit):
		return m, fmt.Errorf("%s: hub sent an unusable commit %q", what, m.commit)
	case m.etag == "":
		return m, fmt.Errorf("%s: hub response has no ETag", what)
	case !safeName(m.etag):
		return m, fmt.Errorf("%s: hub sent an unusable ETag %q", what, m.etag)
	}
	return m, nil
}

// statusError turns an error status into an error that says what to do.
// Server errors wrap ErrUnreachable so a cached copy can stand in.
func statusError(resp *http.Response, what string) error {
	code := resp.StatusCode
	if code < 400 {
		return nil
	}
	detail := resp.Header.Get("X-Error-Message")
	if detail == "" {
		detail = resp.Status
	}
	switch {
	case code >= 500:
		return fmt.Errorf("%s: %w: %s", what, ErrUnreachable, detail)
	case resp.Header.Get("X-Error-Code") == "EntryNotFound":
		return fmt.Errorf("%s: no such file in the repository (%s)", what, detail)
	case resp.Header.Get("X-Error-Code") == "RevisionNotFound":
		return fmt.Errorf("%s: no such revision (%s)", what, detail)
	case code == http.StatusUnauthorized || resp.Header.Get("X-Error-Code") == "RepoNotFound":
		return fmt.Errorf("%s: repository not found or it needs authentication; set HF_TOKEN if it is private or gated (%s)", what, detail)
	case code == http.StatusForbidden:
		return fmt.Errorf("%s: access denied; gated repositories need their terms accepted on the hub and HF_TOKEN set (%s)", what, detail)
	default:
		return fmt.Errorf("%s: %s", what, detail)
	}
}

// authorize adds the token only for the hub's own host: LFS redirects go to
// a CDN that authenticates by signed URL and must not see the token.
func (c *Client) authorize(req *http.Request) {
	if c.Token == "" {
		return
	}
	ep, err := url.Parse(c.Endpoint)
	if err != nil || !strings.EqualFold(ep.Host, req.URL.Host) || ep.Scheme != req.URL.Scheme {
		return
	}
	req.Header.Set("Authorization", "Bearer "+c.Token)
}

// fetch puts the file's blob into the cache unless it is already there.
// Bytes go to blobs/<etag>.incomplete first, which a later call resumes with
// a Range request, and the blob appears by rename only once its size (and
// sha256, for LFS files) checks out.
func (c *Client) fetch(ctx context.Context, cache repoCache, repo repoRef, name string, m fileMeta) error {
	what := repo.String() + " " + name
	blob := cache.blobPath(m.etag)
	if blobOK(blob, m.size) {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(blob), 0o755); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	unlock, err := lockFile(ctx, cache.lockPath(m.etag))
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	defer unlock()
	// Another process may have finished it while we waited for the lock.
	if blobOK(blob, m.size) {
		return nil
	}
	part := blob + ".incomplete"
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	have, h, err := resumePoint(f, m.size, m.lfs())
	if err == nil {
		err = c.download(ctx, f, h, have, m, name)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		var bad *corruptError
		if errors.As(err, &bad) {
			os.Remove(part)
		}
		return fmt.Errorf("%s: %w", what, err)
	}
	if err := os.Rename(part, blob); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

func blobOK(path string, size int64) bool {
	st, err := os.Stat(path)
	return err == nil && st.Mode().IsRegular() && (size < 0 || st.Size() == size)
}

// corruptError marks a finished download whose bytes are wrong: the partial
// file is useless and is deleted rather than kept for resuming.
type corruptError struct{ msg string }

func (e *corruptError) Error() string { return e.msg }

// resumePoint returns how many bytes of f to keep and a hash already fed
// with them (nil for non-LFS files, which are not hashed).
func resumePoint(f *os.File, size int64, lfs bool) (int64, hash.Hash, error) {
	st, err := f.Stat()
	if err != nil {
		return 0, nil, err
	}
	have := st.Size()
	if size >= 0 && have > size {
		have = 0
	}
	if err := f.Truncate(have); err != nil {
		return 0, nil, err
	}
	var h hash.Hash
	if lfs {
		h = sha256.New()
		if _, err := io.Copy(h, io.NewSectionReader(f, 0, have)); err != nil {
			return 0, nil, err
		}
	}
	if _, err := f.Seek(have, io.SeekStart); err != nil {
		return 0, nil, err
	}
	return have, h, nil
}

// download appends the rest of the file to f (positioned at have) and checks
// the result.
func (c *Client) download(ctx context.Context, f *os.File, h hash.Hash, have int64, m fileMeta, name string) error {
	if m.size < 0 || have < m.size {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.location, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Accept-Encoding", "identity")
		if have > 0 {
			req.Header.Set("Range", fmt.Sprintf("bytes=%d-", have))
		}
		c.authorize(req)
		resp, err := c.httpClient().Do(req)
		if err != nil {
			return fmt.Errorf("%w: %w (partial download kept; run again to resume)", ErrUnreachable, err)
		}
		defer resp.Body.Close()
		switch {
		case resp.StatusCode == http.StatusPartialContent && have > 0:
			if !strings.HasPrefix(resp.Header.Get("Content-Range"), fmt.Sprintf("bytes %d-", have)) {
				return fmt.Errorf("server answered the resume request with range %q", resp.Header.Get("Content-Range"))
			}
		case resp.StatusCode == http.StatusOK:
			// The server ignored Range: start over.
			if have > 0 {
				if have, h, err = restart(f, h != nil); err != nil {
					return err
				}
			}
		default:
			if err := statusError(resp, "download"); err != nil {
				return err
			}
			return fmt.Errorf("download: unexpected %s", resp.Status)
		}
		var w io.Writer = f
		if h != nil {
			w = io.MultiWriter(f, h)
		}
		bar := c.progress(name, m.size, have)
		_, err = io.Copy(io.MultiWriter(w, bar), resp.Body)
		bar.Close()
		if err != nil {
			return fmt.Errorf("%w (partial download kept; run again to resume)", err)
		}
	}
	got, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if m.size >= 0 && got != m.size {
		return &corruptError{fmt.Sprintf("downloaded %d bytes, the hub announced %d; partial file deleted", got, m.size)}
	}
	if h != nil {
		if sum := hex.EncodeToString(h.Sum(nil)); sum != m.etag {
			return &corruptError{fmt.Sprintf("sha256 %s does not match the hub's %s; file deleted", sum, m.etag)}
		}
	}
	return f.Sync()
}

func restart(f *os.File, lfs bool) (int64, hash.Hash, error) {
	if err := f.Truncate(0); err != nil {
		return 0, nil, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, nil, err
	}
	if lfs {
		return 0, sha256.New(), nil
	}
	return 0, nil, nil
}

// progressSink is a writer that reports download progress.
type progressSink interface {
	io.Writer
	Close() error
}

// progress returns a bar on a terminal, start/finish lines on other
// writers, and nothing when Progress is nil.
func (c *Client) progress(name string, size, have int64) progressSink {
	if c.Progress == nil {
		return nopSink{}
	}
	if isTerminal(c.Progress) {
		bar := progressbar.NewOptions64(size,
			progressbar.OptionSetDescription(name),
			progressbar.OptionSetWriter(c.Progress),
			progressbar.OptionShowBytes(true),
			progressbar.OptionShowTotalBytes(true),
			progressbar.OptionSetWidth(10),
			progressbar.OptionThrottle(65*time.Millisecond),
			progressbar.OptionShowCount(),
			progressbar.OptionSpinnerType(14),
			progressbar.OptionFullWidth(),
			progressbar.OptionSetRenderBlankState(true),
			progressbar.OptionOnCompletion(func() { fmt.Fprintln(c.Progress) }),
		)
		if have > 0 {
			_ = bar.Set64(have)
		}
		return barSink{bar}
	}
	return &lineSink{w: c.Progress, name: name, size: size, have: have, start: time.Now()}
}

type nopSink struct{}

func (nopSink) Write(p []byte) (int, error) { return len(p), nil }
func (nopSink) Close() error                { return nil }

type barSink struct{ *progressbar.ProgressBar }

func (b barSink) Close() error { return b.Finish() }

type lineSink struct {
	w       io.Writer
	name    string
	size    int64
	have, n int64
	start   time.Time
	started bool
}

func (l *lineSink) Write(p []byte) (int, error) {
	if !l.started {
		l.started = true
		from := ""
		if l.have > 0 {
			from = fmt.Sprintf(", resuming at %s", humanBytes(l.have))
		}
		fmt.Fprintf(l.w, "downloading %s (%s%s)\n", l.name, humanBytes(l.size), from)
	}
	l.n += int64(len(p))
	return len(p), nil
}

func (l *lineSink) Close() error {
	if l.started {
		fmt.Fprintf(l.w, "downloaded %s: %s in %s\n", l.name, humanBytes(l.n), time.Since(l.start).Round(time.Millisecond))
	}
	return nil
}

func humanBytes(n int64) string {
	switch {
	case n < 0:
		return "size unknown"
	case n >= 1<<30:
		return fmt.Sprintf("%.2f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d B", n)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

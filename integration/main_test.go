// Package integration runs hallu against a real Ollama server serving tiny
// models written at test time. It is its own Go module so that hallu itself
// never depends on Ollama. `make test-ollama` builds the server and runs it;
// `go test` here needs only HALLU_OLLAMA_BIN, the path to an ollama binary.
package integration

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hallu-eval/hallu/eval"
)

// contextLength is the server's OLLAMA_CONTEXT_LENGTH: small, so that a
// document can overflow it cheaply.
const contextLength = 512

var (
	tinyA = tinyModel{Name: "tiny-a", Answer: []string{
		"The", "Ġpassage", "Ġdescribes", "Ġevents", "Ġin", "Ġa", "Ġquiet", "Ġcoastal", "Ġtown", ".",
	}}
	tinyB = tinyModel{Name: "tiny-b", Answer: []string{
		"This", "Ġdocument", "Ġreports", "Ġnews", "Ġfrom", "Ġone", "Ġsmall", "Ġriver", "Ġvillage", "Ġtoday", ".",
	}}
)

// env is what TestMain set up: the binaries, the work directory and the
// running server.
var env struct {
	dir    string
	hallu  string
	ollama string
	addr   string // 127.0.0.1:PORT
	server *ollamaServer
}

// needServer skips a test when no server was started.
func needServer(t *testing.T) {
	t.Helper()
	if env.server == nil {
		t.Skip("no ollama server: HALLU_OLLAMA_BIN is not set")
	}
}

func endpoint() string { return "http://" + env.addr + "/v1" }

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	env.ollama = os.Getenv("HALLU_OLLAMA_BIN")
	if env.ollama == "" {
		if os.Getenv("CI") != "" {
			fmt.Fprintln(os.Stderr, "HALLU_OLLAMA_BIN is not set; `make test-ollama` builds ollama and sets it")
			return 1
		}
		fmt.Fprintln(os.Stderr, "HALLU_OLLAMA_BIN is not set: the tests that need a server skip (use `make test-ollama`)")
		return m.Run()
	}
	dir, err := os.MkdirTemp("", "hallu-ollama-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	env.dir = dir
	code := 1
	defer func() {
		if env.server != nil {
			env.server.stop()
		}
		if code != 0 {
			dumpServerLog()
		}
		if code == 0 || os.Getenv("HALLU_KEEP") == "" {
			os.RemoveAll(dir)
		} else {
			fmt.Fprintln(os.Stderr, "work directory kept:", dir)
		}
	}()
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "setup:", err)
		return 1
	}
	code = m.Run()
	return code
}

func setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	env.hallu = filepath.Join(env.dir, "hallu")
	build := exec.CommandContext(ctx, "go", "build", "-o", env.hallu, "./cmd/hallu")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("build hallu: %v\n%s", err, out)
	}

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	env.addr = l.Addr().String()
	l.Close()

	if env.server, err = startOllama(ctx); err != nil {
		return err
	}

	corpus := eval.DefaultPrompt + " " + strings.Join(words, " ")
	for _, m := range []tinyModel{tinyA, tinyB} {
		gguf := filepath.Join(env.dir, m.Name+".gguf")
		if err := writeTinyGGUF(gguf, m, corpus); err != nil {
			return err
		}
		modelfile := filepath.Join(env.dir, m.Name+".Modelfile")
		if err := os.WriteFile(modelfile, []byte("FROM "+gguf+"\n"), 0o644); err != nil {
			return err
		}
		create := exec.CommandContext(ctx, env.ollama, "create", m.Name, "-f", modelfile)
		create.Env = ollamaEnv()
		if out, err := create.CombinedOutput(); err != nil {
			return fmt.Errorf("ollama create %s: %v\n%s", m.Name, err, out)
		}
	}
	return nil
}

// ollamaEnv is the whole environment the server and client see: nothing
// from the caller's OLLAMA_* settings, a home and model store of our own.
func ollamaEnv() []string {
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + filepath.Join(env.dir, "home"),
		"OLLAMA_HOST=" + env.addr,
		"OLLAMA_MODELS=" + filepath.Join(env.dir, "models"),
		fmt.Sprintf("OLLAMA_CONTEXT_LENGTH=%d", contextLength),
		"OLLAMA_NUM_PARALLEL=2",
		"OLLAMA_KEEP_ALIVE=30m",
	}
}

type ollamaServer struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// startOllama starts `ollama serve` in its own process group, so that
// stopping it also stops the runner processes it spawns, and waits until it
// answers.
func startOllama(ctx context.Context) (*ollamaServer, error) {
	if err := os.MkdirAll(filepath.Join(env.dir, "home"), 0o755); err != nil {
		return nil, err
	}
	log, err := os.OpenFile(filepath.Join(env.dir, "server.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(env.ollama, "serve")
	cmd.Env = ollamaEnv()
	cmd.Stdout, cmd.Stderr = log, log
	// Pdeathsig: a test binary that dies leaves no server behind.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		log.Close()
		return nil, fmt.Errorf("start ollama serve: %w", err)
	}
	s := &ollamaServer{cmd: cmd, done: make(chan struct{})}
	trackGroup(cmd.Process.Pid, true)
	go func() {
		cmd.Wait()
		log.Close()
		close(s.done)
	}()
	if err := s.waitReady(ctx); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

// waitReady polls the server's version endpoint until it answers, the server
// exits or a minute passes: a readiness probe, not a timing assumption.
func (s *ollamaServer) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+env.addr+"/api/version", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-s.done:
			return errors.New("ollama serve exited before answering (see server.log)")
		case <-ctx.Done():
			return fmt.Errorf("ollama serve on %s: not ready: %w", env.addr, ctx.Err())
		case <-tick.C:
		}
	}
}

// kill sends SIGKILL to the server and its runners and waits for the server
// to be gone.
func (s *ollamaServer) kill() {
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	trackGroup(s.cmd.Process.Pid, false)
}

func (s *ollamaServer) stop() {
	select {
	case <-s.done:
		return
	default:
	}
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
	}
	// Runners left behind by a graceful stop go with the group.
	syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
	<-s.done
	trackGroup(s.cmd.Process.Pid, false)
}

// liveGroups are the process groups of servers not yet stopped. They are
// written to $HALLU_OLLAMA_PGIDS, from which `make test-ollama` kills what
// is left if the test binary itself dies: Pdeathsig then takes the server
// but not the runners it spawned.
var (
	groupsMu   sync.Mutex
	liveGroups = map[int]bool{}
)

func trackGroup(pgid int, live bool) {
	groupsMu.Lock()
	defer groupsMu.Unlock()
	if live {
		liveGroups[pgid] = true
	} else {
		delete(liveGroups, pgid)
	}
	path := os.Getenv("HALLU_OLLAMA_PGIDS")
	if path == "" {
		return
	}
	var b strings.Builder
	for g := range liveGroups {
		fmt.Fprintln(&b, g)
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "HALLU_OLLAMA_PGIDS:", err)
	}
}

func dumpServerLog() {
	f, err := os.Open(filepath.Join(env.dir, "server.log"))
	if err != nil {
		return
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) > 60 {
		lines = lines[len(lines)-60:]
	}
	fmt.Fprintf(os.Stderr, "--- last lines of ollama serve's log\n%s\n---\n", strings.Join(lines, "\n"))
}

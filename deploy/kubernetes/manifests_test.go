package kubernetes

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// hallu is the binary the manifests run, built without cgo as the
// Dockerfile builds it.
var hallu string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "hallu-deploy-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	hallu = filepath.Join(dir, "hallu")
	build := exec.Command("go", "build", "-trimpath", "-o", hallu, "./cmd/hallu")
	build.Dir = filepath.Join("..", "..")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building hallu with CGO_ENABLED=0: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// object is one decoded manifest document.
type object struct {
	file string
	kind string
	obj  any
}

// decodeStrict turns one YAML document into the API type its kind names;
// a field the type lacks is an error, as `kubectl apply --validate=strict`
// would make it.
func decodeStrict(doc []byte) (string, any, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return "", nil, err
	}
	var tm metav1.TypeMeta
	if err := json.Unmarshal(js, &tm); err != nil {
		return "", nil, err
	}
	var obj any
	switch tm.APIVersion + " " + tm.Kind {
	case "apps/v1 Deployment":
		obj = &appsv1.Deployment{}
	case "v1 Service":
		obj = &corev1.Service{}
	case "autoscaling/v2 HorizontalPodAutoscaler":
		obj = &autoscalingv2.HorizontalPodAutoscaler{}
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	default:
		return "", nil, fmt.Errorf("unexpected apiVersion/kind %q %q", tm.APIVersion, tm.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(obj); err != nil {
		return "", nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return tm.Kind, obj, nil
}

func loadAll(t *testing.T) []object {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	var all []object
	for _, f := range files {
		b, err := os.ReadFile(f)
		require.NoError(t, err)
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(stripComments(doc)) == "" {
				continue
			}
			kind, obj, err := decodeStrict([]byte(doc))
			require.NoError(t, err, "%s document %d", f, i+1)
			all = append(all, object{file: f, kind: kind, obj: obj})
		}
	}
	return all
}

func stripComments(doc string) string {
	var b strings.Builder
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line + "\n")
		}
	}
	return b.String()
}

func only[T any](t *testing.T, all []object) T {
	t.Helper()
	var found []T
	for _, o := range all {
		if v, ok := o.obj.(T); ok {
			found = append(found, v)
		}
	}
	require.Len(t, found, 1, "want exactly one %T", *new(T))
	return found[0]
}

func jobNamed(t *testing.T, all []object, name string) *batchv1.Job {
	t.Helper()
	for _, o := range all {
		if j, ok := o.obj.(*batchv1.Job); ok && j.Name == name {
			return j
		}
	}
	t.Fatalf("no Job %q", name)
	return nil
}

func TestStrictDecodingCatchesTypos(t *testing.T) {
	_, _, err := decodeStrict([]byte("apiVersion: v1\nkind: Service\nspec:\n  selectr: {a: b}\n"))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "selectr")
	_, _, err = decodeStrict([]byte("apiVersion: v1\nkind: Service\nmetadata:\n  name: a\n  name: b\n"))
	require.Error(t, err, "a repeated key is an error, not the last one winning")
}

func TestManifestsDecodeIntoAPITypes(t *testing.T) {
	kinds := map[string]int{}
	for _, o := range loadAll(t) {
		kinds[o.kind]++
	}
	assert.Equal(t, map[string]int{"Deployment": 1, "Service": 1, "HorizontalPodAutoscaler": 1, "Job": 2}, kinds)
}

func TestServiceAndAutoscalerReachTheDeployment(t *testing.T) {
	all := loadAll(t)
	dep := only[*appsv1.Deployment](t, all)
	svc := only[*corev1.Service](t, all)
	hpa := only[*autoscalingv2.HorizontalPodAutoscaler](t, all)

	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	require.NoError(t, err)
	podLabels := dep.Spec.Template.Labels
	assert.True(t, sel.Matches(labelSet(podLabels)), "the Deployment's selector must match its own pods")
	for k, v := range svc.Spec.Selector {
		assert.Equal(t, v, podLabels[k], "Service selector %s", k)
	}
	require.NotEmpty(t, svc.Spec.Selector)

	serve := container(t, dep.Spec.Template.Spec.Containers, "serve")
	for _, p := range svc.Spec.Ports {
		assert.NotZero(t, containerPort(serve, p.TargetPort.String()), "Service port %s targets %q, which the container does not expose", p.Name, p.TargetPort.String())
	}

	ref := hpa.Spec.ScaleTargetRef
	assert.Equal(t, "apps/v1", ref.APIVersion)
	assert.Equal(t, "Deployment", ref.Kind)
	assert.Equal(t, dep.Name, ref.Name)
	require.NotNil(t, hpa.Spec.MinReplicas)
	assert.LessOrEqual(t, *hpa.Spec.MinReplicas, hpa.Spec.MaxReplicas)
	// Utilisation targets are a share of the request: without a CPU
	// request the autoscaler has nothing to divide by.
	assert.False(t, serve.Resources.Requests.Cpu().IsZero(), "the HPA scales on CPU utilisation, which needs a CPU request")
}

type labelSet map[string]string

func (l labelSet) Has(k string) bool              { _, ok := l[k]; return ok }
func (l labelSet) Get(k string) string            { return l[k] }
func (l labelSet) Lookup(k string) (string, bool) { v, ok := l[k]; return v, ok }

func container(t *testing.T, cs []corev1.Container, name string) corev1.Container {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no container %q", name)
	return corev1.Container{}
}

// containerPort resolves a port given by name or number, 0 when the
// container has no such port.
func containerPort(c corev1.Container, p string) int32 {
	for _, cp := range c.Ports {
		if cp.Name == p || strconv.Itoa(int(cp.ContainerPort)) == p {
			return cp.ContainerPort
		}
	}
	return 0
}

// podSpec is the pod template of a workload, nil for other kinds.
func podSpec(o object) *corev1.PodSpec {
	switch v := o.obj.(type) {
	case *appsv1.Deployment:
		return &v.Spec.Template.Spec
	case *batchv1.Job:
		return &v.Spec.Template.Spec
	}
	return nil
}

// podContainers is every container of every pod template, init ones first
// in the order they run.
func podContainers(all []object) map[string][]corev1.Container {
	out := map[string][]corev1.Container{}
	for _, o := range all {
		if spec := podSpec(o); spec != nil {
			out[o.file] = append(append(out[o.file], spec.InitContainers...), spec.Containers...)
		}
	}
	return out
}

func TestVolumesAndVariablesAreDeclared(t *testing.T) {
	all := loadAll(t)
	for _, o := range all {
		spec := podSpec(o)
		if spec == nil {
			continue
		}
		vols := map[string]bool{}
		for _, v := range spec.Volumes {
			vols[v.Name] = true
		}
		for _, c := range append(append([]corev1.Container{}, spec.InitContainers...), spec.Containers...) {
			for _, m := range c.VolumeMounts {
				assert.True(t, vols[m.Name], "%s: container %s mounts undeclared volume %q", o.file, c.Name, m.Name)
			}
			env := map[string]bool{}
			for _, e := range c.Env {
				env[e.Name] = true
			}
			// Kubernetes leaves $(X) as it is when X is not in the
			// container's environment: a typo would reach hallu verbatim.
			for _, a := range c.Args {
				for _, m := range regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).FindAllStringSubmatch(a, -1) {
					assert.True(t, env[m[1]], "%s: container %s uses $(%s) without declaring it", o.file, c.Name, m[1])
				}
			}
			assert.NotEmpty(t, c.Args, "%s: container %s runs the image's entrypoint with no command", o.file, c.Name)
		}
	}
}

// flagsOf lists the flags `hallu CMD --help` documents.
func flagsOf(t *testing.T, cmd string) map[string]bool {
	t.Helper()
	out, _ := exec.Command(hallu, cmd, "--help").CombinedOutput()
	flags := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	re := regexp.MustCompile(`^\s+-{1,2}([A-Za-z0-9][A-Za-z0-9-]*)`)
	for sc.Scan() {
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			flags[m[1]] = true
		}
	}
	require.NotEmpty(t, flags, "hallu %s --help lists no flags:\n%s", cmd, out)
	return flags
}

func TestArgumentsAreOnesHalluAccepts(t *testing.T) {
	known := map[string]map[string]bool{}
	for file, cs := range podContainers(loadAll(t)) {
		for _, c := range cs {
			require.NotEmpty(t, c.Args)
			cmd := c.Args[0]
			if known[cmd] == nil {
				known[cmd] = flagsOf(t, cmd)
			}
			for _, a := range c.Args[1:] {
				if !strings.HasPrefix(a, "-") {
					continue
				}
				name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
				assert.True(t, known[cmd][name], "%s: container %s passes %s, which `hallu %s --help` does not list", file, c.Name, a, cmd)
			}
		}
	}
	assert.Contains(t, known, "serve")
	assert.Contains(t, known, "score")
	assert.Contains(t, known, "generate")
}

// setFlag replaces the value of flag name in args (added when absent).
func setFlag(args []string, name, value string) []string {
	out := append([]string{}, args...)
	for i, a := range out {
		n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name {
			out[i] = "--" + name + "=" + value
			return out
		}
	}
	return append(out, "--"+name+"="+value)
}

func dropFlag(args []string, name string) []string {
	var out []string
	for _, a := range args {
		n, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name {
			continue
		}
		out = append(out, a)
	}
	return out
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// The Deployment's own arguments start a server whose probe paths answer
// on the probed port; only the scorer is swapped for one without weights.
func TestProbesAnswerOnTheServedPort(t *testing.T) {
	dep := only[*appsv1.Deployment](t, loadAll(t))
	serve := container(t, dep.Spec.Template.Spec.Containers, "serve")
	var addr string
	for _, a := range serve.Args {
		if v, ok := strings.CutPrefix(a, "--addr="); ok {
			addr = v
		}
	}
	_, portStr, err := net.SplitHostPort(addr)
	require.NoError(t, err, "--addr in the Deployment")
	port, _ := strconv.Atoi(portStr)
	require.Equal(t, int32(port), containerPort(serve, "http"), "--addr's port must be the container port the probes use")

	local := freePort(t)
	args := setFlag(serve.Args, "addr", fmt.Sprintf("127.0.0.1:%d", local))
	args = setFlag(args, "scorer", "overlap")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, hallu, args...)
	var logs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	defer func() { _ = cmd.Process.Kill(); <-exited }()

	for _, p := range []*corev1.Probe{serve.ReadinessProbe, serve.LivenessProbe} {
		require.NotNil(t, p)
		require.NotNil(t, p.HTTPGet)
		require.Equal(t, int32(port), containerPort(serve, p.HTTPGet.Port.String()), "probe port %s", p.HTTPGet.Port.String())
		url := fmt.Sprintf("http://127.0.0.1:%d%s", local, p.HTTPGet.Path)
		require.NoError(t, waitOK(ctx, url, exited), "probe %s; server log:\n%s", p.HTTPGet.Path, &logs)
	}
	grace := flagDuration(t, serve.Args, "grace")
	require.NotNil(t, dep.Spec.Template.Spec.TerminationGracePeriodSeconds)
	assert.Greater(t, time.Duration(*dep.Spec.Template.Spec.TerminationGracePeriodSeconds)*time.Second, grace,
		"the kubelet must wait longer than hallu drains")
}

func flagDuration(t *testing.T, args []string, name string) time.Duration {
	t.Helper()
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			d, err := time.ParseDuration(v)
			require.NoError(t, err)
			return d
		}
	}
	t.Fatalf("no --%s in %v", name, args)
	return 0
}

// waitOK polls until url answers 200, or the server exits; the deadline is
// ctx's, generous, because a loaded machine may take a while to start it.
func waitOK(ctx context.Context, url string, exited <-chan struct{}) error {
	var last error = errors.New("no answer yet")
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = fmt.Errorf("%s: %s", url, resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return last
		case <-exited:
			return fmt.Errorf("the server exited: %w", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func expand(args []string, env map[string]string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`).ReplaceAllStringFunc(a, func(m string) string {
			return env[m[2:len(m)-1]]
		})
	}
	return out
}

// The Indexed Job's shards, run with its own arguments (dataset, model and
// scorer swapped for built-in ones), cover the dataset exactly once, and
// the report job's arguments read them back into one report.
func TestShardJobCoversTheDatasetAndReports(t *testing.T) {
	all := loadAll(t)
	job := jobNamed(t, all, "hallu-shards")
	require.NotNil(t, job.Spec.CompletionMode)
	assert.Equal(t, batchv1.IndexedCompletion, *job.Spec.CompletionMode)
	require.NotNil(t, job.Spec.Completions)
	n := int(*job.Spec.Completions)
	require.NotNil(t, job.Spec.Parallelism)
	assert.Equal(t, n, int(*job.Spec.Parallelism))

	spec := job.Spec.Template.Spec
	gen := container(t, spec.InitContainers, "generate")
	score := container(t, spec.Containers, "score")
	var shardArg string
	for _, a := range gen.Args {
		if v, ok := strings.CutPrefix(a, "--shard="); ok {
			shardArg = v
		}
	}
	require.True(t, strings.HasSuffix(shardArg, fmt.Sprintf("/%d", n)), "--shard %q must divide into the Job's %d completions", shardArg, n)

	out := t.TempDir()
	remap := func(p string) string { return filepath.Join(out, strings.TrimPrefix(p, "/out/")) }
	seen := map[string]int{}
	for k := range n {
		env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(k)}
		ga := expand(gen.Args, env)
		ga = setFlag(ga, "dataset", "builtin")
		ga = setFlag(ga, "model", "builtin:corrupt")
		ga = dropFlag(ga, "endpoint")
		genOut := remap(flagValue(t, ga, "o"))
		require.NoError(t, os.MkdirAll(filepath.Dir(genOut), 0o755))
		ga = setFlag(ga, "o", genOut)
		runOK(t, ga)

		sa := expand(score.Args, env)
		sa = setFlag(sa, "scorer", "overlap")
		require.Equal(t, genOut, remap(flagValue(t, sa, "in")), "score must read what generate wrote")
		sa = setFlag(sa, "in", genOut)
		scoreOut := remap(flagValue(t, sa, "o"))
		require.NoError(t, os.MkdirAll(filepath.Dir(scoreOut), 0o755))
		sa = setFlag(sa, "o", scoreOut)
		runOK(t, sa)

		for _, id := range docIDs(t, scoreOut) {
			seen[id]++
		}
	}
	all1 := exec.Command(hallu, "generate", "--dataset", "builtin", "--model", "builtin:corrupt")
	whole, err := all1.Output()
	require.NoError(t, err)
	var want []string
	for _, line := range strings.Split(strings.TrimSpace(string(whole)), "\n") {
		var r struct {
			DocID string `json:"doc_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		want = append(want, r.DocID)
	}
	var got []string
	for id, c := range seen {
		assert.Equal(t, 1, c, "document %s judged by %d shards", id, c)
		got = append(got, id)
	}
	sort.Strings(want)
	sort.Strings(got)
	assert.Equal(t, want, got, "the shards together must be the dataset")

	rep := jobNamed(t, all, "hallu-report")
	for _, c := range append(rep.Spec.Template.Spec.InitContainers, rep.Spec.Template.Spec.Containers...) {
		args := append([]string{}, c.Args...)
		for i, a := range args {
			if strings.HasPrefix(a, "/out/") {
				args[i] = remap(a)
			} else if v, ok := strings.CutPrefix(a, "-o=/out/"); ok {
				args[i] = "-o=" + filepath.Join(out, v)
			}
		}
		stdout := runOK(t, args)
		if c.Name == "markdown" {
			assert.Contains(t, stdout, "builtin:corrupt")
		}
	}
	html, err := os.ReadFile(filepath.Join(out, "report.html"))
	require.NoError(t, err)
	assert.Contains(t, string(html), "builtin:corrupt")
}

func flagValue(t *testing.T, args []string, name string) string {
	t.Helper()
	for _, a := range args {
		n, v, ok := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if strings.HasPrefix(a, "-") && n == name && ok {
			return v
		}
	}
	t.Fatalf("no -%s=VALUE in %v", name, args)
	return ""
}

func runOK(t *testing.T, args []string) string {
	t.Helper()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(hallu, args...)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "hallu %s\n%s", strings.Join(args, " "), &stderr)
	return stdout.String()
}

func docIDs(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if line == "" {
			continue
		}
		var r struct {
			DocID string `json:"doc_id"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r), path)
		ids = append(ids, r.DocID)
	}
	return ids
}

// The Dockerfile builds the static binary this test built, and runs it as
// the entrypoint the manifests' args are given to.
func TestDockerfileBuildsStaticBinary(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Dockerfile"))
	require.NoError(t, err)
	df := string(b)
	assert.Contains(t, df, "CGO_ENABLED=0 go build")
	assert.Contains(t, df, "./cmd/hallu")
	m := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindStringSubmatch(df)
	require.NotNil(t, m, "ENTRYPOINT in exec form")
	assert.Regexp(t, `(?m)^COPY --from=build \S+ `+regexp.QuoteMeta(m[1])+`$`, df)
	assert.Regexp(t, `(?m)^FROM \S*static\S*$`, df, "a minimal base without libc")
}

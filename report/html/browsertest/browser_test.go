package browsertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/hallu-eval/hallu/dataset"
	"github.com/hallu-eval/hallu/internal/errclass"
	"github.com/hallu-eval/hallu/leaderboard"
	"github.com/hallu-eval/hallu/refmodel"
	htmlreport "github.com/hallu-eval/hallu/report/html"
	"github.com/hallu-eval/hallu/results"
	"github.com/hallu-eval/hallu/scorers/overlap"
)

// hostile is a model whose output tries to run script in the page. Every
// string of it must show as text.
const (
	hostileModel   = `evil<img src=x onerror="window.__xss='model'">`
	hostileSummary = `<script>window.__xss='summary'</script> The council <img src=x onerror="window.__xss='img'"> approved 9,999 homes in Atlantis on Friday.`
	hostileExpl    = `<svg onload="window.__xss='explanation'"></svg>`
)

// chromium finds the browser: $HALLU_CHROMIUM, else chromium on PATH. In CI
// a missing browser fails the test; locally it skips with a clear message.
func chromium(t *testing.T) string {
	if p := os.Getenv("HALLU_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "headless Chromium not found (install Debian's package: apt-get install -y chromium, or set HALLU_CHROMIUM)"
	if os.Getenv("CI") != "" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// demoInput runs the demo's two builtin models and the overlap scorer over
// the builtin dataset, in process, and adds a model whose output is hostile
// HTML and that has failed and invalid records.
func demoInput(t *testing.T) htmlreport.Input {
	t.Helper()
	src, err := dataset.Open(dataset.BuiltinSpec, dataset.Options{})
	require.NoError(t, err)
	defer src.Close()
	agg := leaderboard.NewAggregator()
	col := htmlreport.NewCollector(0)
	add := func(r *results.Record) {
		r.Schema = results.SchemaVersion
		require.NoError(t, agg.Add(r))
		col.Add(r)
	}
	for i := 0; ; i++ {
		doc, err := src.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		require.NoError(t, err)
		for _, m := range refmodel.Models() {
			sum, inj, err := refmodel.Summarize(m, doc.Text)
			require.NoError(t, err)
			score, expl := overlap.Judge(doc.Text, sum)
			add(&results.Record{DocID: doc.ID, Dataset: doc.Dataset, Source: doc.Text, Model: m, Summary: sum,
				Injected: inj, LatencyMS: float64(300 + 17*i%200 + len(m)),
				Judgment: &results.Judgment{Scorer: overlap.Name, Version: overlap.Version, Score: &score, Explanation: expl}})
		}
		ev := &results.Record{DocID: doc.ID, Source: doc.Text, Model: hostileModel, LatencyMS: 2500}
		switch i % 5 {
		case 0:
			ev.Error = &results.Error{Class: errclass.Timeout, Message: `no answer in 60s <b>bold?</b>`}
		case 1:
			ev.Summary = "Too short."
		default:
			ev.Summary = hostileSummary
			score := 0.1
			ev.Judgment = &results.Judgment{Scorer: overlap.Name, Score: &score, Explanation: hostileExpl}
		}
		add(ev)
	}
	b, c := 0.92, 0.08
	return htmlreport.Input{
		Title: "hallu demo", Generated: time.Now(), Stats: agg.Stats(),
		Params: map[string]float64{refmodel.Lead3: 3e8, refmodel.Corrupt: 7e9, hostileModel: 1.3e10},
		Docs:   col.Models(), MaxDocs: htmlreport.DefaultMaxDocs,
		FlipBase: "run A", FlipCand: "run B <i>",
		Flips: []htmlreport.Flip{{DocID: "flip-1", Source: "The mayor opened 3 parks.", BaseSummary: "The mayor opened 3 parks.",
			CandSummary: `The mayor opened 5 parks <script>window.__xss='flip'</script>.`, BaseScore: &b, CandScore: &c}},
	}
}

// console collects what the page must not produce: console errors and
// warnings, exceptions, dialogs, and any request that leaves the file.
type console struct {
	mu       sync.Mutex
	problems []string
}

func (c *console) add(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

func (c *console) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.problems)
}

// listen must return fast and call nothing (chromedp's rule).
func (c *console) listen(ev any) {
	switch e := ev.(type) {
	case *runtime.EventConsoleAPICalled:
		if e.Type == runtime.ConsoleAPICalledTypeError || e.Type == runtime.ConsoleAPICalledTypeWarning {
			var parts []string
			for _, a := range e.Args {
				parts = append(parts, string(a.Value)+a.Description)
			}
			c.add("console %s: %s", e.Type, strings.Join(parts, " "))
		}
	case *runtime.EventExceptionThrown:
		d := e.ExceptionDetails
		desc := ""
		if d.Exception != nil {
			desc = d.Exception.Description
		}
		c.add("exception at line %d: %s %s", d.LineNumber+1, d.Text, desc)
	case *log.EventEntryAdded:
		if e.Entry.Level == log.EntryLevelError || e.Entry.Level == log.EntryLevelWarning {
			c.add("log %s: %s %s", e.Entry.Level, e.Entry.Text, e.Entry.URL)
		}
	case *page.EventJavascriptDialogOpening:
		c.add("dialog: %s", e.Message)
	case *network.EventRequestWillBeSent:
		if u := e.Request.URL; !strings.HasPrefix(u, "file://") {
			c.add("network request: %s", u)
		}
	}
}

type chartInfo struct {
	ID       string  `json:"id"`
	W        float64 `json:"w"`
	H        float64 `json:"h"`
	Circles  int     `json:"circles"`
	Rects    int     `json:"rects"`
	Texts    int     `json:"texts"`
	TextW    float64 `json:"textW"` // widest label as laid out
	Overflow bool    `json:"overflow"`
}

type pageInfo struct {
	Rows       int         `json:"rows"`
	Models     []string    `json:"models"`
	Charts     []chartInfo `json:"charts"`
	Docs       int         `json:"docs"`
	Visible    int         `json:"visible"`
	FiltersOn  bool        `json:"filtersOn"`
	XSS        string      `json:"xss"`
	Imgs       int         `json:"imgs"`
	Scripts    int         `json:"scripts"`
	OnAttrs    int         `json:"onAttrs"`
	WideScroll bool        `json:"wideScroll"`
}

// inspect reads the page's state in one evaluation.
const inspect = `(() => {
  const vis = e => !e.hidden && e.offsetParent !== null;
  const docs = [...document.querySelectorAll('details.doc[data-status]')];
  let onAttrs = 0;
  for (const e of document.querySelectorAll('*')) for (const a of e.attributes) if (a.name.startsWith('on')) onAttrs++;
  return {
    rows: document.querySelectorAll('#leaderboard-table tbody tr').length,
    models: [...document.querySelectorAll('#leaderboard-table tbody td.model')].map(td => td.textContent),
    charts: [...document.querySelectorAll('figure.chart')].map(f => {
      const s = f.querySelector('svg'), b = s.getBoundingClientRect();
      const tw = Math.max(0, ...[...s.querySelectorAll('text')].map(t => t.getBBox().width));
      return {id: f.id, w: b.width, h: b.height, circles: s.querySelectorAll('circle').length,
        rects: s.querySelectorAll('rect').length, texts: s.querySelectorAll('text').length, textW: tw,
        overflow: b.right > document.documentElement.clientWidth + 1};
    }),
    docs: docs.length,
    visible: docs.filter(vis).length,
    filtersOn: vis(document.querySelector('.filters')),
    xss: String(window.__xss === undefined ? '' : window.__xss),
    imgs: document.querySelectorAll('img').length,
    scripts: document.scripts.length,
    onAttrs: onAttrs,
    wideScroll: document.documentElement.scrollWidth > document.documentElement.clientWidth + 1,
  };
})()`

func TestReportInBrowser(t *testing.T) {
	exe := chromium(t)
	in := demoInput(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "report.html")
	f, err := os.Create(file)
	require.NoError(t, err)
	require.NoError(t, htmlreport.Write(f, in))
	require.NoError(t, f.Close())
	st, err := os.Stat(file)
	require.NoError(t, err)
	t.Logf("report: %d models, %d KiB", len(in.Stats), st.Size()>>10)

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	actx, acancel := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU, chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
	defer acancel()

	var con console
	tab, tcancel := chromedp.NewContext(actx, chromedp.WithListener(con.listen))
	defer tcancel()
	require.NoError(t, chromedp.Do(tab)) // start the browser before timing the page
	start := time.Now()
	require.NoError(t, chromedp.Do(tab, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("footer"))))
	t.Logf("page loaded in %v", time.Since(start).Round(time.Millisecond))

	info, err := chromedp.Run(tab, chromedp.Evaluate[pageInfo](inspect))
	require.NoError(t, err)
	require.Equal(t, len(in.Stats), info.Rows)
	checkCharts(t, info.Charts, len(in.Stats))
	assert.True(t, info.FiltersOn, "the filters show when JavaScript runs")
	assert.Equal(t, info.Docs, info.Visible, "every document is listed at first")
	assert.False(t, info.WideScroll, "the page is no wider than the window")
	checkInert(t, info)

	// The hostile strings are on the page as text.
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#expand-all"))))
	text, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.body.innerText`))
	require.NoError(t, err)
	for _, s := range []string{hostileModel, `<script>window.__xss='summary'</script>`, hostileExpl, "<b>bold?</b>", "run B <i>"} {
		assert.Contains(t, text, s)
	}
	require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS("#collapse-all"))))

	// Sorting: by name, both ways, then back by rate.
	byHR := info.Models
	sortBy := func(col int) []string {
		t.Helper()
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#leaderboard-table th[data-col="%d"]`, col)))))
		models, err := chromedp.Run(tab, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#leaderboard-table tbody td.model')].map(td => td.textContent)`))
		require.NoError(t, err)
		return models
	}
	asc := slices.Sorted(slices.Values(byHR))
	assert.Equal(t, asc, sortBy(0))
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	assert.Equal(t, desc, sortBy(0))
	assert.Equal(t, byHR, sortBy(1), "ascending hallucination rate is the page's own order")

	// Filters: hide consistent documents, then show only failed ones.
	count := func(status string) (shown, all int) {
		t.Helper()
		n, err := chromedp.Run(tab, chromedp.Evaluate[[]int](fmt.Sprintf(
			`(() => { const d = [...document.querySelectorAll('details.doc[data-status=%s]')]; return [d.filter(e => e.offsetParent !== null).length, d.length]; })()`, status)))
		require.NoError(t, err)
		return n[0], n[1]
	}
	toggle := func(status string) {
		require.NoError(t, chromedp.Do(tab, chromedp.Click(chromedp.CSS(`.filters input[data-status=`+status+`]`))))
	}
	toggle(htmlreport.StatusConsistent)
	shown, all := count(htmlreport.StatusConsistent)
	assert.Equal(t, 0, shown)
	assert.Positive(t, all)
	shown, all = count(htmlreport.StatusHallucinated)
	assert.Equal(t, all, shown)
	assert.Positive(t, all)
	for _, s := range []string{htmlreport.StatusHallucinated, htmlreport.StatusInvalid} {
		toggle(s)
	}
	shown, all = count(htmlreport.StatusFailed)
	assert.Equal(t, all, shown)
	assert.Positive(t, all)
	for _, s := range []string{htmlreport.StatusHallucinated, htmlreport.StatusInvalid} {
		shown, _ := count(s)
		assert.Zero(t, shown, s)
	}
	label, err := chromedp.Run(tab, chromedp.Evaluate[string](`document.getElementById('shown-count').textContent`))
	require.NoError(t, err)
	assert.Equal(t, fmt.Sprintf("%d of %d documents shown", all, info.Docs), label)
	for _, s := range []string{htmlreport.StatusConsistent, htmlreport.StatusHallucinated, htmlreport.StatusInvalid} {
		toggle(s)
	}

	// A screenshot of the whole page with a flip and the worst document
	// open, and one of that document.
	require.NoError(t, chromedp.Do(tab, chromedp.Evaluate[chromedp.Void](
		`document.querySelector('#docs-2 details.doc[data-status=hallucinated]').open = true; document.querySelector('details.flip').open = true`)))
	shots := os.Getenv("HALLU_SCREENSHOT_DIR")
	if shots == "" {
		shots = t.TempDir()
	}
	png, err := chromedp.Run(tab, chromedp.FullScreenshot(100))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(shots, "report.png"), png, 0o644))
	png, err = chromedp.Run(tab, chromedp.Screenshot(chromedp.CSS(`#docs-2 details.doc[open]`)))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(shots, "report-document.png"), png, 0o644))
	t.Logf("screenshots in %s", shots)

	assert.Empty(t, con.list(), "console errors, exceptions or network requests")

	// With JavaScript off the table (in rate order), the charts and every
	// document are there, and the filters, which need the script, are not.
	var con2 console
	tab2, cancel2 := chromedp.NewContext(tab, chromedp.WithListener(con2.listen))
	defer cancel2()
	_, err = chromedp.Call(tab2, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(tab2, chromedp.Navigate("file://"+file), chromedp.WaitReady(chromedp.CSS("footer"))))
	info2, err := chromedp.Run(tab2, chromedp.Evaluate[pageInfo](inspect))
	require.NoError(t, err)
	assert.Equal(t, byHR, info2.Models)
	checkCharts(t, info2.Charts, len(in.Stats))
	assert.False(t, info2.FiltersOn)
	assert.Equal(t, info2.Docs, info2.Visible)
	checkInert(t, info2)
	assert.Empty(t, con2.list())
}

// checkCharts wants the bar chart and the four scatter plots, drawn with a
// size, with labels laid out, inside the window.
func checkCharts(t *testing.T, charts []chartInfo, models int) {
	t.Helper()
	var ids []string
	for _, c := range charts {
		ids = append(ids, c.ID)
		assert.Greater(t, c.W, 100.0, c.ID)
		assert.Greater(t, c.H, 100.0, c.ID)
		assert.Greater(t, c.TextW, 10.0, c.ID)
		assert.False(t, c.Overflow, c.ID)
		if c.ID == "chart-hr" {
			assert.Equal(t, models, c.Rects, "one bar per model")
		} else {
			assert.Equal(t, models, c.Circles, "one point per model in %s", c.ID)
		}
	}
	assert.Equal(t, []string{"chart-hr", "chart-answer", "chart-words", "chart-latency", "chart-size"}, ids)
}

// checkInert wants no trace of the hostile strings as markup.
func checkInert(t *testing.T, info pageInfo) {
	t.Helper()
	assert.Empty(t, info.XSS, "injected script ran")
	assert.Zero(t, info.Imgs, "injected <img>")
	assert.Equal(t, 1, info.Scripts, "only the page's own script")
	assert.Zero(t, info.OnAttrs, "injected event handler attributes")
}

package judge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/internal/httpretry"
)

// The prompts. Changing any text here changes Version (its hash), so
// judgments made with different prompts are told apart.
const (
	systemPrompt = `You check summaries for hallucinations. A claim is supported when the source text states it or directly implies it. A claim the source contradicts, or does not mention, is unsupported, even if it is true in the real world. Judge only against the source.`

	verdictTask = `Is every claim of the summary supported by the source? Reply with a JSON object only: {"supported": true or false, "reason": "one sentence; quote the first unsupported claim, if any"}`

	extractTask = `List the factual claims the summary makes, each as a short self-contained sentence, in the order they appear. Reply with a JSON object only: {"claims": ["...", "..."]}`

	checkTask = `For each numbered claim below, decide whether the source supports it. Reply with a JSON object only, one entry per claim: {"verdicts": [{"claim": 1, "supported": true or false, "reason": "..."}]}`

	// correction is sent after an unreadable reply; %s is the shape.
	correction = `Your reply could not be read. Reply again with only the JSON object, nothing before or after it: %s`
)

// promptText is everything that decides how the judge is asked, hashed
// into Version.
var promptText = strings.Join([]string{systemPrompt, verdictTask, extractTask, checkTask, correction}, "\n")

var (
	verdictFormat = format{
		name:    "verdict",
		schema:  json.RawMessage(`{"type":"object","properties":{"supported":{"type":"boolean"},"reason":{"type":"string"}},"required":["supported","reason"],"additionalProperties":false}`),
		example: `{"supported": true or false, "reason": "..."}`,
	}
	extractFormat = format{
		name:    "claims",
		schema:  json.RawMessage(`{"type":"object","properties":{"claims":{"type":"array","items":{"type":"string"}}},"required":["claims"],"additionalProperties":false}`),
		example: `{"claims": ["...", "..."]}`,
	}
	checkFormat = format{
		name:    "verdicts",
		schema:  json.RawMessage(`{"type":"object","properties":{"verdicts":{"type":"array","items":{"type":"object","properties":{"claim":{"type":"integer"},"supported":{"type":"boolean"},"reason":{"type":"string"}},"required":["claim","supported","reason"],"additionalProperties":false}}},"required":["verdicts"],"additionalProperties":false}`),
		example: `{"verdicts": [{"claim": 1, "supported": true or false, "reason": "..."}]}`,
	}
)

func messages(task, source, summary string, extra ...string) []openai.ChatCompletionMessage {
	var b strings.Builder
	fmt.Fprintf(&b, "SOURCE:\n<<<\n%s\n>>>\n\nSUMMARY:\n<<<\n%s\n>>>\n\n", source, summary)
	for _, e := range extra {
		b.WriteString(e)
		b.WriteString("\n\n")
	}
	b.WriteString(task)
	return []openai.ChatCompletionMessage{
		{Role: openai.ChatMessageRoleSystem, Content: systemPrompt},
		{Role: openai.ChatMessageRoleUser, Content: b.String()},
	}
}

// newHTTPClient sends the temperature explicitly (go-openai omits a zero)
// and captures response headers for Retry-After.
// It returns the pooled transport too: the wrapper does not pass on
// CloseIdleConnections, so Close must reach the pool directly.
func newHTTPClient(conns int, temperature float64) (*http.Client, *http.Transport) {
	base := httpretry.PooledTransport(conns)
	return &http.Client{Transport: &httpretry.ChatTransport{
		Base:   base,
		Forced: map[string]json.RawMessage{"temperature": json.RawMessage(strconv.FormatFloat(temperature, 'g', -1, 64))},
	}}, base
}

package eval

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/internal/httpretry"
	"github.com/hallu-eval/hallu/results"
)

// reply is one successful attempt's outcome.
type reply struct {
	text    string
	finish  string
	latency time.Duration
	ttft    time.Duration // streaming only
	usage   *results.Usage
	// model and fingerprint are what the server said answered.
	model, fingerprint string
}

func (r *reply) fill(rec *results.Record) {
	rec.Summary = stripThink(r.text)
	if strings.TrimSpace(r.text) != rec.Summary {
		rec.Raw = r.text
	}
	rec.FinishReason = r.finish
	rec.OutputTruncated = r.finish == string(openai.FinishReasonLength)
	rec.ServedModel = r.model
	rec.SystemFingerprint = r.fingerprint
	rec.LatencyMS = ms(r.latency)
	if r.ttft > 0 {
		rec.TTFTMS = ms(r.ttft)
	}
	rec.Usage = r.usage
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func usageOf(u *openai.Usage) *results.Usage {
	if u == nil || (u.PromptTokens == 0 && u.CompletionTokens == 0) {
		return nil
	}
	return &results.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens}
}

// attempt sends one request under its own timeout and classifies a failure.
func (g *Generator) attempt(abort context.Context, req openai.ChatCompletionRequest) (*reply, *httpretry.Failure) {
	ctx, cancel := context.WithTimeout(abort, g.cfg.Timeout)
	defer cancel()
	info := &httpretry.RespInfo{}
	ctx = httpretry.WithRespInfo(ctx, info)
	start := time.Now()
	var (
		r   *reply
		err error
	)
	if req.Stream {
		r, err = g.stream(ctx, req, start)
		if se := info.StreamErr(); se != nil && err == nil {
			// An error event in an otherwise complete stream still
			// means the server failed the request.
			r, err = nil, se
		}
	} else {
		r, err = g.complete(ctx, req)
	}
	if err != nil {
		return nil, httpretry.Classify(err, ctx, abort, info)
	}
	r.latency = time.Since(start)
	return r, nil
}

func (g *Generator) complete(ctx context.Context, req openai.ChatCompletionRequest) (*reply, error) {
	resp, err := g.client.CreateChatCompletion(ctx, req)
	if err != nil {
		return nil, err
	}
	if len(resp.Choices) == 0 {
		return nil, &httpretry.ProtocolError{Msg: "reply has no choices"}
	}
	c := resp.Choices[0]
	return &reply{text: c.Message.Content, finish: string(c.FinishReason), usage: usageOf(&resp.Usage),
		model: resp.Model, fingerprint: resp.SystemFingerprint}, nil
}

func (g *Generator) stream(ctx context.Context, req openai.ChatCompletionRequest, start time.Time) (*reply, error) {
	s, err := g.client.CreateChatCompletionStream(ctx, req)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	var (
		sb     strings.Builder
		r      reply
		chunks int
	)
	for {
		chunk, err := s.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			if r.finish != "" {
				break // the answer is complete; only the trailer (usage) was lost
			}
			return nil, err
		}
		chunks++
		r.model = cmp.Or(r.model, chunk.Model)
		r.fingerprint = cmp.Or(r.fingerprint, chunk.SystemFingerprint)
		if u := usageOf(chunk.Usage); u != nil {
			r.usage = u
		}
		for _, c := range chunk.Choices {
			if c.Index != 0 {
				continue
			}
			if r.ttft == 0 && (c.Delta.Content != "" || c.Delta.ReasoningContent != "") {
				r.ttft = time.Since(start)
			}
			sb.WriteString(c.Delta.Content)
			if c.FinishReason != "" {
				r.finish = string(c.FinishReason)
			}
		}
	}
	// go-openai reports [DONE] and a dropped connection alike as io.EOF; a
	// finished answer always carries a finish reason, so its absence means
	// the text is a fragment, not a short summary.
	if r.finish == "" {
		return nil, &httpretry.ProtocolError{Msg: fmt.Sprintf("stream ended without a finish reason after %d chunks (%d bytes): reply cut short", chunks, sb.Len())}
	}
	r.text = sb.String()
	return &r, nil
}

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// stripThink removes reasoning blocks from a reply and trims it. A reply
// that starts with an unterminated <think> (cut off by max tokens) has no
// summary; a lone </think> means the chat template opened the block, so
// everything before it is reasoning.
func stripThink(s string) string {
	for {
		i := strings.Index(s, thinkOpen)
		j := strings.Index(s, thinkClose)
		switch {
		case j >= 0 && (i < 0 || j < i):
			s = s[j+len(thinkClose):]
		case i >= 0 && j > i:
			s = s[:i] + s[j+len(thinkClose):]
		case i >= 0 && strings.TrimSpace(s[:i]) == "":
			return ""
		default:
			return strings.TrimSpace(s)
		}
	}
}

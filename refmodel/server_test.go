package refmodel

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func startClient(t *testing.T) (*openai.Client, string) {
	t.Helper()
	base, stop, err := Start(context.Background())
	require.NoError(t, err)
	t.Cleanup(stop)
	require.True(t, strings.HasPrefix(base, "http://127.0.0.1:"), base)
	cfg := openai.DefaultConfig("unused")
	cfg.BaseURL = base
	return openai.NewClientWithConfig(cfg), base
}

func leaderboardPrompt(article string) string {
	return "You are a chat bot answering questions using data. Provide a concise summary.\n" + PassageMarker + "\n" + article
}

func TestHTTPNonStreaming(t *testing.T) {
	client, _ := startClient(t)
	ctx := context.Background()
	for i := range 20 {
		article := SampleArticle(i)
		for _, model := range []string{Lead3, Corrupt} {
			resp, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
				Model:    model,
				Messages: []openai.ChatCompletionMessage{{Role: "system", Content: "Be brief."}, {Role: "user", Content: leaderboardPrompt(article)}},
			})
			require.NoError(t, err)
			want, _, err := Summarize(model, article)
			require.NoError(t, err)
			require.Len(t, resp.Choices, 1)
			assert.Equal(t, want, resp.Choices[0].Message.Content)
			assert.Equal(t, "assistant", resp.Choices[0].Message.Role)
			assert.Equal(t, openai.FinishReasonStop, resp.Choices[0].FinishReason)
			assert.Equal(t, len(strings.Fields(want)), resp.Usage.CompletionTokens)
			assert.Greater(t, resp.Usage.PromptTokens, len(strings.Fields(article)))
		}
	}
}

func TestHTTPStreaming(t *testing.T) {
	client, _ := startClient(t)
	article := SampleArticle(4)
	want, inj, err := Summarize(Corrupt+"@1", article)
	require.NoError(t, err)
	require.NotEmpty(t, inj)
	for _, includeUsage := range []bool{false, true} {
		req := openai.ChatCompletionRequest{
			Model:    Corrupt + "@1",
			Stream:   true,
			Messages: []openai.ChatCompletionMessage{{Role: "user", Content: leaderboardPrompt(article)}},
		}
		if includeUsage {
			req.StreamOptions = &openai.StreamOptions{IncludeUsage: true}
		}
		stream, err := client.CreateChatCompletionStream(context.Background(), req)
		require.NoError(t, err)
		var b strings.Builder
		var usage *openai.Usage
		finish, chunks := "", 0
		for {
			resp, err := stream.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			require.NoError(t, err)
			chunks++
			for _, c := range resp.Choices {
				b.WriteString(c.Delta.Content)
				if c.FinishReason != "" {
					finish = string(c.FinishReason)
				}
			}
			if resp.Usage != nil {
				usage = resp.Usage
			}
		}
		stream.Close()
		assert.Equal(t, want, b.String())
		assert.Equal(t, "stop", finish)
		assert.Greater(t, chunks, 5, "content should arrive in several chunks")
		require.NotNil(t, usage, "include_usage=%v", includeUsage)
		assert.Equal(t, len(strings.Fields(want)), usage.CompletionTokens)
	}
}

func TestHTTPContentParts(t *testing.T) {
	client, _ := startClient(t)
	article := SampleArticle(9)
	resp, err := client.CreateChatCompletion(context.Background(), openai.ChatCompletionRequest{
		Model: Lead3,
		Messages: []openai.ChatCompletionMessage{{Role: "user", MultiContent: []openai.ChatMessagePart{
			{Type: openai.ChatMessagePartTypeText, Text: article},
		}}},
	})
	require.NoError(t, err)
	assert.Equal(t, Lead(article, 3), resp.Choices[0].Message.Content)
}

func TestHTTPErrorsAndModels(t *testing.T) {
	client, base := startClient(t)
	ctx := context.Background()
	_, err := client.CreateChatCompletion(ctx, openai.ChatCompletionRequest{
		Model:    "builtin:nope",
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "Text."}},
	})
	var apiErr *openai.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.HTTPStatusCode)
	assert.Contains(t, apiErr.Message, "builtin:nope")
	assert.Equal(t, "model_not_found", apiErr.Code)

	_, err = client.CreateChatCompletionStream(ctx, openai.ChatCompletionRequest{
		Model: "gpt-4", Stream: true,
		Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "Text."}},
	})
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.HTTPStatusCode)

	resp, err := http.Post(base+"/chat/completions", "application/json", strings.NewReader("{not json"))
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)

	models, err := client.ListModels(ctx)
	require.NoError(t, err)
	var ids []string
	for _, m := range models.Models {
		ids = append(ids, m.ID)
	}
	assert.Equal(t, Models(), ids)
}

func TestStartStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	base, stop, err := Start(ctx)
	require.NoError(t, err)
	resp, err := http.Get(base + "/models")
	require.NoError(t, err)
	resp.Body.Close()
	cancel()
	stop() // after ctx ended: must not block or panic
	_, err = http.Get(base + "/models")
	assert.Error(t, err, "server still answering after stop")
}

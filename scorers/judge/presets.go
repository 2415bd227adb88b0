package judge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"unicode"

	openai "github.com/sashabaranov/go-openai"

	"github.com/hallu-eval/hallu/scorers"
)

// A preset reproduces a published checker exactly: its prompt template,
// byte for byte as its authors publish it, its answer words, and the model
// name its usual server knows it by. Nothing of hallu's own prompts is
// sent: no system prompt of ours, no JSON schema, no correction after an
// unreadable reply (the same request is sent again instead).
type preset struct {
	name     string
	model    string // default model name
	endpoint string // default endpoint: where the model is usually served
	source   string // where the template was published, for docs and errors
	// messages builds the request from the pair (and the question, for a
	// preset that takes one).
	messages func(source, summary, question string) []openai.ChatCompletionMessage
	// templateKwargs are sent as chat_template_kwargs, for servers that
	// render the model's Hugging Face chat template (vLLM, llama.cpp).
	templateKwargs map[string]any
	// parse reads the reply's verdict: supported (consistent) or not,
	// with where the verdict word starts, for its log-probabilities.
	parse func(text string) (verdict, error)
	// word reads one token as a verdict word: supported, and ok when the
	// token is one of the checker's answer words.
	word          func(tok string) (supported, ok bool)
	takesQuestion bool
	// template is the published template, hashed into the version.
	template []string
}

func (ps *preset) templateText() string {
	return ps.name + "\n" + strings.Join(ps.template, "\n")
}

// Preset names.
const (
	PresetMiniCheck = "bespoke-minicheck"
	PresetGranite   = "granite-guardian"
	PresetGraniteHF = "granite-guardian-hf"
	PresetLynx      = "lynx"
)

// The published templates. Each is copied byte for byte from the source
// named beside it; a change here changes the judge's version.
const (
	// Bespoke-MiniCheck-7B, as the MiniCheck package prompts it
	// (github.com/Liyan06/MiniCheck, minicheck/inference.py) and as the
	// Ollama library model documents it (ollama.com/library/bespoke-minicheck:
	// "Document: {document}\nClaim: {claim}", answer Yes or No). The system
	// prompt is the one the model was trained with; Ollama's Modelfile
	// carries the same text.
	miniCheckSystem = `Determine whether the provided claim is consistent with the corresponding document. Consistency in this context implies that all information presented in the claim is substantiated by the document. If not, it should be considered inconsistent. Please assess the claim's consistency with the document by responding with either "Yes" or "No".`
	miniCheckUser   = "Document: {document}\nClaim: {claim}"

	// Granite Guardian 3.x groundedness. The two servers' templates want
	// different requests for the same prompt, which ends "Your answer must
	// be either 'Yes' or 'No'."; Yes means the risk is present: the
	// response is not grounded.
	//
	// Ollama's granite3-guardian template (github.com/ibm-granite/gguf,
	// resources/ollama/granite3-guardian/template.txt) reads the risk name
	// from the system message and the context and response from the last
	// two messages.
	//
	// The Hugging Face chat template (tokenizer_config.json of
	// huggingface.co/ibm-granite/granite-guardian-3.1-8b, as its model
	// card calls it) takes exactly [context, assistant] and the risk as
	// guardian_config; a third message would be read as a tool list and
	// the response quoted as JSON, so no system message is sent there.
	graniteRisk = "groundedness"

	// Patronus Lynx (Lynx-8B/70B), the fine-tuning prompt from the model
	// card (huggingface.co/PatronusAI/Llama-3-Patronus-Lynx-8B-Instruct),
	// with Python's {{ }} escapes resolved; the leading and trailing
	// newlines are the card's triple-quoted string's.
	lynxPrompt = `
Given the following QUESTION, DOCUMENT and ANSWER you must analyze the provided answer and determine whether it is faithful to the contents of the DOCUMENT. The ANSWER must not offer new information beyond the context provided in the DOCUMENT. The ANSWER also must not contradict information provided in the DOCUMENT. Output your final verdict by strictly following this format: "PASS" if the answer is faithful to the DOCUMENT and "FAIL" if the answer is not faithful to the DOCUMENT. Show your reasoning.

--
QUESTION (THIS DOES NOT COUNT AS BACKGROUND INFORMATION):
{question}

--
DOCUMENT:
{context}

--
ANSWER:
{answer}

--

Your output should be in JSON FORMAT with the keys "REASONING" and "SCORE":
{"REASONING": <your reasoning as bullet points>, "SCORE": <your final score>}
`

	// DefaultLynxQuestion is the QUESTION Lynx is given: a summary
	// answers the summarization instruction, here the first sentence of
	// the leaderboard's prompt (eval.DefaultPrompt), whose passage is the
	// DOCUMENT.
	DefaultLynxQuestion = "Your task is to provide a concise and factual summary for the given passage."
)

const (
	ollamaEndpoint = "http://127.0.0.1:11434/v1"
	vllmEndpoint   = "http://127.0.0.1:8000/v1"
)

var presets = map[string]*preset{
	PresetMiniCheck: {
		name: PresetMiniCheck, model: "bespoke-minicheck", endpoint: ollamaEndpoint,
		source: "github.com/Liyan06/MiniCheck; ollama.com/library/bespoke-minicheck",
		messages: func(source, summary, _ string) []openai.ChatCompletionMessage {
			return []openai.ChatCompletionMessage{
				{Role: openai.ChatMessageRoleSystem, Content: miniCheckSystem},
				{Role: openai.ChatMessageRoleUser, Content: fill(miniCheckUser, "{document}", source, "{claim}", summary)},
			}
		},
		parse:    firstWordVerdict(yesNo(true)),
		word:     yesNo(true),
		template: []string{miniCheckSystem, miniCheckUser},
	},
	PresetGranite: {
		name: PresetGranite, model: "granite3-guardian", endpoint: ollamaEndpoint,
		source: "github.com/ibm-granite/gguf resources/ollama/granite3-guardian/template.txt; huggingface.co/ibm-granite/granite-guardian-3.1-8b",
		messages: func(source, summary, _ string) []openai.ChatCompletionMessage {
			return []openai.ChatCompletionMessage{
				{Role: openai.ChatMessageRoleSystem, Content: graniteRisk},
				{Role: "context", Content: source},
				{Role: openai.ChatMessageRoleAssistant, Content: summary},
			}
		},
		parse: graniteVerdict,
		// Yes: the risk is present, the summary is not grounded.
		word:     yesNo(false),
		template: []string{"system:" + graniteRisk, "context:{context}", "assistant:{response}"},
	},
	PresetGraniteHF: {
		name: PresetGraniteHF, model: "ibm-granite/granite-guardian-3.1-8b", endpoint: vllmEndpoint,
		source: "huggingface.co/ibm-granite/granite-guardian-3.1-8b (model card and chat template)",
		messages: func(source, summary, _ string) []openai.ChatCompletionMessage {
			return []openai.ChatCompletionMessage{
				{Role: "context", Content: source},
				{Role: openai.ChatMessageRoleAssistant, Content: summary},
			}
		},
		templateKwargs: map[string]any{"guardian_config": map[string]any{"risk_name": graniteRisk}},
		parse:          graniteVerdict,
		word:           yesNo(false),
		template:       []string{"context:{context}", "assistant:{response}", "chat_template_kwargs:guardian_config.risk_name=" + graniteRisk},
	},
	PresetLynx: {
		name: PresetLynx, model: "PatronusAI/Llama-3-Patronus-Lynx-8B-Instruct", endpoint: vllmEndpoint,
		source: "huggingface.co/PatronusAI/Llama-3-Patronus-Lynx-8B-Instruct",
		messages: func(source, summary, question string) []openai.ChatCompletionMessage {
			return []openai.ChatCompletionMessage{
				{Role: openai.ChatMessageRoleUser, Content: fill(lynxPrompt, "{question}", question, "{context}", source, "{answer}", summary)},
			}
		},
		parse:         lynxVerdict,
		word:          passFail,
		takesQuestion: true,
		template:      []string{lynxPrompt},
	},
}

// PresetNames lists the presets, sorted.
func PresetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// lookupPreset finds a preset by name; nil for "".
func lookupPreset(name string) (*preset, error) {
	if name == "" {
		return nil, nil
	}
	if ps, ok := presets[name]; ok {
		return ps, nil
	}
	return nil, fmt.Errorf("unknown preset %q (known: %s)", name, strings.Join(PresetNames(), ", "))
}

// fill substitutes placeholders in one pass, so that a placeholder's
// spelling inside the document or summary is left alone.
func fill(tmpl string, oldnew ...string) string {
	return strings.NewReplacer(oldnew...).Replace(tmpl)
}

func (j *Judge) question() string {
	if j.cfg.Question != "" {
		return j.cfg.Question
	}
	return DefaultLynxQuestion
}

// presetFormat asks for no response format and adds no correction.
var presetFormat = format{name: "preset"}

// presetVerdict asks the published question and scores the answer:
// P(supported) from the first answer token's log-probabilities where the
// server gave them, else 1 or 0 from the parsed verdict. The explanation
// says which.
func (j *Judge) presetVerdict(ctx context.Context, p scorers.Pair, usage **scorers.Usage) scorers.Result {
	ps := j.preset
	var (
		vd    verdict
		probs *openai.LogProbs
		text  string
	)
	err := j.ask(ctx, ps.messages(p.Source, p.Summary, j.question()), presetFormat, true, usage, func(r *reply) error {
		var err error
		vd, err = ps.parse(r.text)
		probs, text = r.logprobs, r.text
		return err
	})
	if err != nil {
		return scorers.Result{Err: err}
	}
	score, how := 0.0, fmt.Sprintf("%s: unsupported (%s)", ps.name, vd.word)
	if vd.supported {
		score, how = 1, fmt.Sprintf("%s: supported (%s)", ps.name, vd.word)
	}
	if pr, ok := wordProbability(probs, text, vd.offset, ps.word); ok {
		score, how = pr, fmt.Sprintf("%s, P(supported)=%.3f from log-probabilities", how, pr)
	} else {
		how += ", score from the verdict (no log-probabilities)"
	}
	if vd.reason != "" {
		how += ": " + vd.reason
	}
	return scorers.Result{Score: score, Explanation: how}
}

// yesNo reads Yes/No; yesSupported says whether Yes means consistent
// (MiniCheck) or risk present (Granite Guardian).
func yesNo(yesSupported bool) func(string) (bool, bool) {
	return func(tok string) (bool, bool) {
		switch normWord(tok) {
		case "yes":
			return yesSupported, true
		case "no":
			return !yesSupported, true
		}
		return false, false
	}
}

func passFail(tok string) (bool, bool) {
	switch normWord(tok) {
	case "pass":
		return true, true
	case "fail":
		return false, true
	}
	return false, false
}

// normWord is a token as a bare lower-case word: " Yes", "yes.", "\"PASS"
// and "YES" all read alike.
func normWord(tok string) string {
	return strings.ToLower(strings.TrimFunc(tok, func(r rune) bool { return !unicode.IsLetter(r) }))
}

// firstWordVerdict reads a reply whose first word is the answer.
func firstWordVerdict(word func(string) (bool, bool)) func(string) (verdict, error) {
	return func(reply string) (verdict, error) {
		text, base := afterThink(reply)
		i := strings.IndexFunc(text, unicode.IsLetter)
		if i < 0 {
			return verdict{}, errors.New("reply has no answer word")
		}
		end := strings.IndexFunc(text[i:], func(r rune) bool { return !unicode.IsLetter(r) })
		if end < 0 {
			end = len(text) - i
		}
		w := text[i : i+end]
		sup, ok := word(w)
		if !ok {
			return verdict{}, fmt.Errorf("reply starts with %q, not Yes or No", w)
		}
		return verdict{supported: sup, offset: base + i, word: w}, nil
	}
}

// afterThink is the reply without a reasoning model's <think> block, and
// where it starts in the reply, so that offsets still find their tokens.
func afterThink(reply string) (string, int) {
	text := stripThink(reply)
	if strings.HasSuffix(reply, text) {
		return text, len(reply) - len(text)
	}
	return text, 0
}

var graniteScoreRe = regexp.MustCompile(`(?i)<score>\s*([a-z]+)\s*</score>`)

// graniteVerdict reads Yes/No (3.0-3.2), or the <score> yes </score> of
// Granite Guardian 3.3's non-thinking mode.
func graniteVerdict(text string) (verdict, error) {
	if m := graniteScoreRe.FindStringSubmatchIndex(text); m != nil {
		w := text[m[2]:m[3]]
		if sup, ok := yesNo(false)(w); ok {
			return verdict{supported: sup, offset: m[2], word: w}, nil
		}
	}
	return firstWordVerdict(yesNo(false))(text)
}

var lynxScoreRe = regexp.MustCompile(`(?i)"?SCORE"?\s*:\s*"?(PASS|FAIL)\b`)

// lynxVerdict reads {"REASONING": ..., "SCORE": "PASS"|"FAIL"}. The
// reasoning is often bullet points that are not valid JSON, so the score
// is found by pattern when the object does not decode.
func lynxVerdict(reply string) (verdict, error) {
	text, base := afterThink(reply)
	var reason string
	if start, end, ok := findBalanced(text, '{', '}'); ok {
		if obj, err := decodeLoose(text[start:end]); err == nil {
			if m, isMap := obj.(map[string]any); isMap {
				if _, r, found := lookupFold(m, "REASONING"); found {
					reason = reasoningText(r)
				}
			}
		}
	}
	// The last match: the reasoning before the SCORE may quote one.
	all := lynxScoreRe.FindAllStringSubmatchIndex(text, -1)
	if all == nil {
		if strings.Contains(text, "{") && !strings.Contains(text, "}") {
			return verdict{}, errors.New("reply's JSON object is not closed (cut short?)")
		}
		return verdict{}, errors.New(`reply has no "SCORE": PASS or FAIL`)
	}
	m := all[len(all)-1]
	w := text[m[2]:m[3]]
	sup, _ := passFail(w)
	return verdict{supported: sup, offset: base + m[2], word: w, reason: reason}, nil
}

func reasoningText(r any) string {
	if list, ok := r.([]any); ok {
		parts := make([]string, len(list))
		for i, x := range list {
			parts[i] = strings.TrimSpace(fmt.Sprint(x))
		}
		return strings.Join(parts, " ")
	}
	return strings.TrimSpace(fmt.Sprint(r))
}

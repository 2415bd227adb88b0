package judge

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseVerdictOffsets(t *testing.T) {
	text := `Here you go: {"supported": false, "reason": "the summary's date {2019} is wrong"} done`
	v, err := parseVerdict(text)
	require.NoError(t, err)
	assert.False(t, v.supported)
	assert.Equal(t, "the summary's date {2019} is wrong", v.reason, "braces and apostrophes inside strings")
	assert.Equal(t, "false", text[v.offset:v.offset+5])

	v, err = parseVerdict("  Yes, all supported.")
	require.NoError(t, err)
	assert.True(t, v.supported)
	assert.Equal(t, 2, v.offset)
}

func TestParseClaimsForms(t *testing.T) {
	for _, text := range []string{
		`{"claims": ["A is B.", "C did D."]}`,
		"```\n[\"A is B.\", \"C did D.\"]\n```",
		"The claims are:\n1. A is B.\n2) C did D.\n",
		"- A is B.\n* C did D.",
		`{'claims': [{'claim': 'A is B.'}, {'text': 'C did D.'}]}`,
	} {
		got, err := parseClaims(text)
		require.NoError(t, err, text)
		assert.Equal(t, []string{"A is B.", "C did D."}, got, text)
	}
	_, err := parseClaims("I cannot do that.")
	assert.Error(t, err)
}

func TestParseChecksValidatesCoverage(t *testing.T) {
	got, err := parseChecks(`[{"supported": true}, {"supported": "no", "reason": "r"}]`, 2)
	require.NoError(t, err)
	assert.Equal(t, []check{{supported: true}, {supported: false, reason: "r"}}, got)

	_, err = parseChecks(`{"verdicts": [{"claim": 1, "supported": true}, {"claim": 1, "supported": false}]}`, 2)
	assert.ErrorContains(t, err, "two verdicts for claim 1")
	_, err = parseChecks(`{"verdicts": [{"claim": 3, "supported": true}]}`, 2)
	assert.ErrorContains(t, err, "there are 2 claims")
	_, err = parseChecks(`{"verdicts": [{"claim": "2", "supported": true}]}`, 2)
	assert.ErrorContains(t, err, "no verdict for claim 1 of 2")
	_, err = parseChecks(`{"verdicts": [{"claim": 1, "supported": tr`, 1)
	assert.Error(t, err)
}

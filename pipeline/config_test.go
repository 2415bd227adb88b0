package pipeline

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadConfig(t *testing.T, body string) (*RunConfig, error) {
	t.Helper()
	return LoadRunConfig(writeFile(t, filepath.Join(t.TempDir(), "run.yaml"), body))
}

const minimalConfig = "dataset: builtin\noutput: out\nmodels:\n  - name: builtin:lead-3\n"

func TestLoadRunConfigErrorsInTheConfigsWords(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "")
	cases := []struct {
		name, body string
		want       []string
	}{
		{"unknown key", minimalConfig + "concurency: 4\n", []string{"line 5", `unknown key "concurency"`, `did you mean "concurrency"?`}},
		{"unknown key far from any", minimalConfig + "zzzzzzzz: 4\n", []string{`unknown key "zzzzzzzz"`}},
		{"whole number", minimalConfig + "limit: many\n", []string{"line 5", `"many" is not a whole number`}},
		{"duration", minimalConfig + "timeout: soon\n", []string{`"soon" is not a duration such as 90s or 2m`}},
		{"bool", minimalConfig + "strict: maybe\n", []string{`"maybe" is not true or false`}},
		{"negative limit", minimalConfig + "limit: -1\n", []string{"limit: -1 must not be negative"}},
		{"negative retries", minimalConfig + "retries: -2\n", []string{"retries: -2 must not be negative"}},
		{"negative model rpm", "dataset: builtin\noutput: out\nmodels:\n  - name: builtin:lead-3\n    rpm: -5\n", []string{"models[0] builtin:lead-3: rpm: -5 must not be negative"}},
		{"max_fatal 0", minimalConfig + "max_fatal: 0\n", []string{"max_fatal: 0 must be at least 1"}},
		{"timeout 0", minimalConfig + "timeout: 0s\n", []string{"timeout: 0s must be positive"}},
		{"no endpoint", "dataset: builtin\noutput: out\nmodels:\n  - name: llama3\n", []string{"models[0] llama3: no endpoint"}},
		{"empty", "", []string{"the file is empty"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := loadConfig(t, c.body)
			require.Error(t, err)
			var ie *InputError
			assert.ErrorAs(t, err, &ie)
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "pipeline.", "no Go type names")
			assert.NotContains(t, err.Error(), "unmarshal")
		})
	}
	_, err := loadConfig(t, minimalConfig+"zzzzzzzz: 4\n")
	assert.NotContains(t, err.Error(), "did you mean")
}

func TestLoadRunConfigDefaults(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "")
	c, err := loadConfig(t, minimalConfig)
	require.NoError(t, err)
	require.NotNil(t, c.Strict)
	assert.True(t, *c.Strict, "strict by default")
	assert.Nil(t, c.Retries, "unset retries stay unset (eval's default)")
	assert.Equal(t, "overlap", c.Scorer)

	c, err = loadConfig(t, minimalConfig+"strict: false\nretries: 0\n")
	require.NoError(t, err)
	assert.False(t, *c.Strict)
	require.NotNil(t, c.Retries, "retries: 0 is kept, not read as unset")
	assert.Equal(t, 0, *c.Retries)
	job, err := c.generateJob(c.Models[0], "")
	require.NoError(t, err)
	assert.Negative(t, job.Config.MaxRetries, "retries: 0 means no retries, not eval's default")
}

func TestLoadRunConfigEndpointFromEnvironment(t *testing.T) {
	t.Setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
	body := "dataset: builtin\noutput: out\nmodels:\n  - name: llama3\n  - name: qwen\n    endpoint: http://127.0.0.1:8/v1\n"
	c, err := loadConfig(t, body)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:9/v1", c.Endpoint)
	assert.Equal(t, "http://127.0.0.1:9/v1", c.Models[0].Endpoint)
	assert.False(t, c.Models[0].endpointSet, "taken from the environment, not the config")
	assert.Equal(t, "http://127.0.0.1:8/v1", c.Models[1].Endpoint)
	assert.True(t, c.Models[1].endpointSet)

	c, err = loadConfig(t, "endpoint: http://127.0.0.1:7/v1\n"+body)
	require.NoError(t, err)
	assert.Equal(t, "http://127.0.0.1:7/v1", c.Models[0].Endpoint, "the config's endpoint wins over the environment")
	assert.True(t, c.Models[0].endpointSet)
}

package eval

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/hallu-eval/hallu/internal/httpretry"
)

// newTransport returns the generator's transport: it writes the temperature
// (and the seed) into every chat body explicitly, since go-openai omits a
// zero temperature (the leaderboard's setting), and captures response
// headers for Retry-After. See httpretry.ChatTransport.
func newTransport(base http.RoundTripper, temperature float32, seed *int) *httpretry.ChatTransport {
	forced := map[string]json.RawMessage{
		"temperature": json.RawMessage(strconv.FormatFloat(float64(temperature), 'g', -1, 32)),
	}
	if seed != nil {
		forced["seed"] = json.RawMessage(strconv.Itoa(*seed))
	}
	return &httpretry.ChatTransport{Base: base, Forced: forced}
}

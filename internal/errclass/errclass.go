// Package errclass names the classes of failure recorded in
// results.Error.Class. It sits below every other package, so that the HTTP
// retry logic and the scorers can classify failures without importing the
// record schema.
package errclass

// A class says what a user can do about a failure; the message keeps the
// detail.
const (
	RateLimit  = "rate_limit"  // 429 after all retries
	Server     = "server"      // 5xx after all retries
	Timeout    = "timeout"     // per-request timeout after all retries
	Connection = "connection"  // reset/refused after all retries
	BadRequest = "bad_request" // 400, e.g. context too long
	Auth       = "auth"        // 401/403
	NotFound   = "not_found"   // 404, e.g. unknown model
	Protocol   = "protocol"    // malformed reply, stream cut short
	Canceled   = "canceled"    // run interrupted before an answer
	Scorer     = "scorer"      // the scorer failed on this record
	Other      = "other"
)

// Package browsertest holds the end-to-end test of the HTML report: it
// builds a report from the demo's models and scorer, opens it in headless
// Chromium (Debian's chromium package) and checks what a reader sees. The
// package has no code of its own; see its test.
package browsertest

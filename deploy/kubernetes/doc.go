// Package kubernetes holds no code: it is the module of the tests that
// check the manifests beside it against the Kubernetes API types and
// against the hallu binary they run. It is a module of its own so that
// hallu's main module does not depend on k8s.io/api.
package kubernetes

// Package callback reports first-boot progress to the manager that launched
// the VM: CloudEvents 1.0 in structured JSON over plain net/http, delivered in
// order, retried with backoff, and never carrying a secret.
package callback
